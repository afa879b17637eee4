/**
 * The health-bridge nodes running in this process, each with what it can tell about itself. One
 * table read by the three places that show it: the Prometheus page (src/lib/metrics), the admin
 * API and the editor's Health Bridge sidebar. A node enters it when it starts and leaves when it
 * closes, so a deleted node disappears from all three at once.
 *
 * Nothing in here carries a patient or a device: names are the nodes' own, figures are counts.
 */

import type { OutboxControl } from '../outbox/control';
import type { PushOutcome } from './outcomes';

export interface ReceiverStatus {
  kind: 'receiver';
  id: string;
  type: string;
  name: string;
  vendor: string;
  /** When the last push that passed the allow list and key was answered (ISO 8601), or null. */
  lastPush: string | null;
  pushes: Record<PushOutcome, number>;
}

export interface OutboxStatus {
  kind: 'outbox';
  id: string;
  type: 'health-outbox';
  name: string;
  queued: number;
  inFlight: number;
  /** Age of the oldest waiting message in seconds; 0 when none waits. */
  oldestSeconds: number;
  deadLetters: number;
  delivered: number;
  retries: number;
  deadLettered: number;
}

export interface MllpStatus {
  kind: 'mllp';
  id: string;
  type: 'hl7-mllp';
  name: string;
  /** host:port, as configured (not a secret; the status of every hl7-send shows it too). */
  address: string;
  connected: boolean;
  /** idle, connecting, connected, waiting, error or closed. */
  state: string;
}

export interface ExpeedAccountStatus {
  kind: 'expeed-account';
  id: string;
  type: 'expeed-account';
  name: string;
  tokenCallsToday: number;
  tokenCallsLeft: number;
  dailyTokenCap: number;
}

export interface WatchStatus {
  kind: 'watch';
  id: string;
  type: 'health-watch';
  name: string;
  /** Episodes firing now, by rule (no subject: who is in the episode is the alert's business). */
  firing: { rule: string; severity: string; count: number }[];
}

export interface RedisStatus {
  kind: 'redis';
  id: string;
  type: 'health-redis';
  name: string;
  /** scheme://host:port/db as configured, without user name or password. */
  address: string;
  connected: boolean;
  /** idle (no node uses it yet), connecting, connected, reconnecting or closed. */
  state: string;
  /** The server's maxmemory-policy as last read (`unknown` where CONFIG is refused), or null before. */
  evictionPolicy: string | null;
}

export type RunningStatus = ReceiverStatus | OutboxStatus | MllpStatus | ExpeedAccountStatus | WatchStatus | RedisStatus;
export type RunningKind = RunningStatus['kind'];

/** What `GET /health-bridge/status` answers. */
export interface BridgeStatus {
  receivers: ReceiverStatus[];
  outboxes: OutboxStatus[];
  mllp: MllpStatus[];
  expeedAccounts: ExpeedAccountStatus[];
  watches: WatchStatus[];
  redis: RedisStatus[];
}

export interface RunningNode<S extends RunningStatus = RunningStatus> {
  readonly kind: S['kind'];
  readonly id: string;
  /** Read when asked (a scrape, the sidebar's refresh): costs nothing between. */
  status(): S;
  /** An outbox's operations (its queue, its dead letters): what the admin API calls. */
  readonly control?: OutboxControl;
}

const running = new Map<string, RunningNode>();

/**
 * Adds a node to the table; the function returned takes it out again, only if the entry is still
 * the one it added (a node's replacement may have taken its id meanwhile).
 */
export function addRunning(node: RunningNode): () => void {
  running.set(node.id, node);
  return () => {
    if (running.get(node.id) === node) running.delete(node.id);
  };
}

/** The running nodes of one kind, in the order they started. */
export function runningOf<K extends RunningKind>(kind: K): RunningNode<Extract<RunningStatus, { kind: K }>>[] {
  return [...running.values()].filter((node) => node.kind === kind) as RunningNode<Extract<RunningStatus, { kind: K }>>[];
}

export function runningNode(id: string): RunningNode | undefined {
  return running.get(id);
}

export function bridgeStatus(): BridgeStatus {
  const statuses = <K extends RunningKind>(kind: K) => runningOf(kind).map((node) => node.status());
  return {
    receivers: statuses('receiver'),
    outboxes: statuses('outbox'),
    mllp: statuses('mllp'),
    expeedAccounts: statuses('expeed-account'),
    watches: statuses('watch'),
    redis: statuses('redis'),
  };
}
