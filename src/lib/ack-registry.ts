import { randomBytes } from 'node:crypto';

/**
 * `ack: flow` (SPEC §3): a receiver holds the vendor's request until `health-ack` has seen every
 * message of the push. Each message carries `msg._ack = "<push>.<index>"`, a plain string, so it
 * survives Node-RED's message cloning, split/join and link nodes; a message that reaches
 * health-ack along two paths counts once. Receivers and health-ack nodes share this registry
 * through the module cache (they are one package).
 */

export type AckOutcome = 'success' | 'failure' | 'timeout';

interface PendingPush {
  remaining: Set<number>;
  /** Per message index, the outboxes still writing it (see `hold`). */
  holds: Map<number, number>;
  settle(outcome: AckOutcome, error?: unknown): void;
}

export type AckResult = 'acknowledged' | 'completed' | 'failed' | 'not-pending';

const pending = new Map<string, PendingPush>();
const PUSH_PREFIX = randomBytes(4).toString('hex');
let pushCounter = 0;

export interface OpenPush {
  /** One per message, in emit order; put each on its message as `msg._ack`. */
  ackIds: string[];
  /** Settles once: every message acknowledged, one failed, the timeout, or `cancel`. */
  outcome: Promise<AckOutcome>;
  /** Settles a still-open push as a timeout (the receiver is closing). */
  cancel(): void;
}

export function openPush(messageCount: number, timeoutMs: number): OpenPush {
  const { pushId, outcome, cancel } = open(messageCount, timeoutMs);
  return {
    ackIds: Array.from({ length: messageCount }, (_, index) => `${pushId}.${index}`),
    outcome: outcome.then((settled) => settled.outcome),
    cancel,
  };
}

export interface OpenDelivery {
  /** Put it on the delivered message as `msg._ack`. */
  ackId: string;
  /** Settles once: health-ack saw it (with `error` when `msg.error` was set), or `cancel`. */
  outcome: Promise<Settled>;
  /** Ends it as a timeout; a later health-ack of it is then `not-pending`. */
  cancel(): void;
}

/**
 * One message an outbox sends (SPEC §8): health-ack settles it like a push of one message, and
 * hands over `msg.error` so the outbox can keep the last error. No timer: the outbox has its own.
 */
export function openDelivery(): OpenDelivery {
  const { pushId, outcome, cancel } = open(1);
  return { ackId: `${pushId}.0`, outcome, cancel };
}

interface Settled {
  outcome: AckOutcome;
  error?: unknown;
}

/** A pending entry of `messageCount` messages; it settles once, and as a timeout after `timeoutMs` if given. */
function open(messageCount: number, timeoutMs?: number): { pushId: string; outcome: Promise<Settled>; cancel(): void } {
  const pushId = `${PUSH_PREFIX}${(pushCounter++).toString(36)}`;
  let settle!: PendingPush['settle'];
  const outcome = new Promise<Settled>((resolve) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle('timeout'), timeoutMs);
    settle = (result, error) => {
      clearTimeout(timer);
      pending.delete(pushId);
      resolve({ outcome: result, ...(error !== undefined && { error }) });
    };
  });
  const indexes = Array.from({ length: messageCount }, (_, index) => index);
  pending.set(pushId, { remaining: new Set(indexes), holds: new Map(), settle });
  return { pushId, outcome, cancel: () => pending.get(pushId)?.settle('timeout') };
}

function find(ackId: string): { push: PendingPush | undefined; index: number } {
  const dot = ackId.lastIndexOf('.');
  return { push: pending.get(ackId.slice(0, dot)), index: Number(ackId.slice(dot + 1)) };
}

function done(push: PendingPush, index: number): AckResult {
  // A message that reaches health-ack along a second path was counted on the first.
  push.remaining.delete(index);
  if (push.remaining.size > 0) return 'acknowledged';
  push.settle('success');
  return 'completed';
}

/**
 * What health-ack calls for each message it receives; `error` (msg.error) fails the push. A
 * message an outbox is still writing (see `hold`) counts once the outbox has it on disk.
 */
export function acknowledge(ackId: string, failed: boolean, error?: unknown): AckResult {
  const { push, index } = find(ackId);
  if (!push) return 'not-pending';
  if (failed) {
    push.settle('failure', error);
    return 'failed';
  }
  if ((push.holds.get(index) ?? 0) > 0) return 'acknowledged';
  return done(push, index);
}

/**
 * An outbox got the message and starts writing it: the push is not answered before `release`.
 * Called as the message arrives, so a copy of the same message going to a second outbox (one per
 * hospital system) holds the push too before the first one's write ends. False when the push is
 * no longer waiting (answered already, timed out, from before a restart).
 */
export function hold(ackId: string): boolean {
  const { push, index } = find(ackId);
  if (!push || !push.remaining.has(index)) return false;
  push.holds.set(index, (push.holds.get(index) ?? 0) + 1);
  return true;
}

/** The outbox's write of a held message ended: on disk (success) or not (`error`: fails the push). */
export function release(ackId: string, error?: unknown): AckResult {
  const { push, index } = find(ackId);
  if (!push) return 'not-pending';
  if (error !== undefined) {
    push.settle('failure', error);
    return 'failed';
  }
  const holds = (push.holds.get(index) ?? 1) - 1;
  if (holds > 0) {
    push.holds.set(index, holds);
    return 'acknowledged';
  }
  push.holds.delete(index);
  return done(push, index);
}
