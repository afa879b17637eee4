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
  settle(outcome: AckOutcome): void;
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
  const pushId = `${PUSH_PREFIX}${(pushCounter++).toString(36)}`;
  let settle!: (outcome: AckOutcome) => void;
  const outcome = new Promise<AckOutcome>((resolve) => {
    const timer = setTimeout(() => settle('timeout'), timeoutMs);
    settle = (result) => {
      clearTimeout(timer);
      pending.delete(pushId);
      resolve(result);
    };
  });
  const indexes = Array.from({ length: messageCount }, (_, index) => index);
  pending.set(pushId, { remaining: new Set(indexes), settle });
  return {
    ackIds: indexes.map((index) => `${pushId}.${index}`),
    outcome,
    cancel: () => pending.get(pushId)?.settle('timeout'),
  };
}

/** What health-ack calls for each message it receives. */
export function acknowledge(ackId: string, failed: boolean): AckResult {
  const dot = ackId.lastIndexOf('.');
  const push = pending.get(ackId.slice(0, dot));
  const index = Number(ackId.slice(dot + 1));
  if (!push) return 'not-pending';
  if (failed) {
    push.settle('failure');
    return 'failed';
  }
  // A message that reaches health-ack along a second path was counted on the first.
  push.remaining.delete(index);
  if (push.remaining.size > 0) return 'acknowledged';
  push.settle('success');
  return 'completed';
}
