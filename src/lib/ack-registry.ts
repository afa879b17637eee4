import { randomBytes } from 'node:crypto';

/**
 * `ack: flow`: a receiver holds the vendor's request, and so its answer, until `health-ack` has
 * seen every message of the push, and every copy of them that can reach health-ack or an outbox.
 * An outbox's delivery to the hospital waits here the same way until health-ack settles it.
 * Names: a push is *answered* (the vendor hears success, failure or a timeout); a delivery is
 * *settled*; the message *reaches health-ack*. (`ack`, `_ack` and `health-ack` are the contract's
 * names and stay.) Each message carries
 * `msg._ack = "<push>.<token>"`, a plain string, so it survives Node-RED's message cloning,
 * split/join and link nodes. Where a node's output forks, the copy counter (ack-copies.ts) asks
 * `fork` for one id per copy: the token of the message is replaced by one token per copy that can
 * reach health-ack or an outbox, and the push waits for all of them. A copy that arrives along two
 * paths counts once. The push's deadline lives here by push id, so whatever carries the string
 * knows how long it has (`timeLeftMs`). Receivers, health-ack, the outbox and the copy counter
 * share this registry through the module cache (they are one package).
 */

/** How a push is answered (`success`: the vendor hears its success answer), or a delivery settled. */
export type Outcome = 'success' | 'failure' | 'timeout';

/** A push waiting to be answered, or an outbox delivery waiting to be settled. */
interface Waiting {
  /** The tokens still awaited: one per message, replaced by one per copy where a message forks. */
  remaining: Set<string>;
  /** Per token, the outboxes still writing it (see `hold`). */
  holds: Map<string, number>;
  /** When the push is answered with a timeout (epoch ms); undefined: no deadline. */
  deadline: number | undefined;
  /** The next token a fork hands out. */
  nextToken: number;
  /** Ends the wait once: answers the push, or settles the delivery. */
  end(outcome: Outcome, error?: unknown): void;
}

/**
 * What became of a message that reached health-ack. `kept`: the message failed in a way no retry can mend (`retryable: false`) and reached
 * health-ack all the same: the flow kept it, so it counts as a success.
 */
export type Arrival = 'acknowledged' | 'completed' | 'kept' | 'failed' | 'not-pending';

const waiting = new Map<string, Waiting>();
const PUSH_PREFIX = randomBytes(4).toString('hex');
let pushCounter = 0;

export interface OpenPush {
  /** One per message, in emit order; put each on its message as `msg._ack`. */
  ackIds: string[];
  /** The answer, once: every message reached health-ack, one failed, the timeout, or `cancel`. */
  outcome: Promise<Outcome>;
  /** Answers a still-open push as a timeout (the receiver is closing). */
  cancel(): void;
}

export function openPush(messageCount: number, timeoutMs: number): OpenPush {
  const { pushId, outcome, cancel } = open(messageCount, timeoutMs, true);
  return {
    ackIds: Array.from({ length: messageCount }, (_, index) => `${pushId}.${index}`),
    outcome: outcome.then((ended) => ended.outcome),
    cancel,
  };
}

export interface OpenDelivery {
  /** Put it on the delivered message as `msg._ack`. */
  ackId: string;
  /** Its settlement, once: health-ack saw it (with `error` when `msg.error` was set), or `cancel`. */
  outcome: Promise<Settlement>;
  /** Ends it as a timeout; a later health-ack of it is then `not-pending`. */
  cancel(): void;
}

/**
 * One message an outbox sends: health-ack settles it like a push of one message, and hands over
 * `msg.error` so the outbox can keep the last error. No timer of its own (the outbox has one);
 * `deadlineMs`, the outbox's own ackTimeout, is what a node waiting on the hospital may spend.
 */
export function openDelivery(deadlineMs?: number): OpenDelivery {
  const { pushId, outcome, cancel } = open(1, deadlineMs, false);
  return { ackId: `${pushId}.0`, outcome, cancel };
}

/** How a wait ended; for a delivery, its settlement (with the error health-ack saw). */
interface Settlement {
  outcome: Outcome;
  error?: unknown;
}

/**
 * A wait for `messageCount` messages; it ends once. `timeoutMs` is its deadline, and
 * with `timer` it ends as a timeout then.
 */
function open(messageCount: number, timeoutMs: number | undefined, timer: boolean): { pushId: string; outcome: Promise<Settlement>; cancel(): void } {
  const pushId = `${PUSH_PREFIX}${(pushCounter++).toString(36)}`;
  let end!: Waiting['end'];
  const outcome = new Promise<Settlement>((resolve) => {
    const handle = timeoutMs === undefined || !timer ? undefined : setTimeout(() => end('timeout'), timeoutMs);
    end = (result, error) => {
      clearTimeout(handle);
      waiting.delete(pushId);
      resolve({ outcome: result, ...(error !== undefined && { error }) });
    };
  });
  const tokens = Array.from({ length: messageCount }, (_, index) => String(index));
  waiting.set(pushId, {
    remaining: new Set(tokens),
    holds: new Map(),
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    nextToken: messageCount,
    end,
  });
  return { pushId, outcome, cancel: () => waiting.get(pushId)?.end('timeout') };
}

function find(ackId: string): { push: Waiting | undefined; pushId: string; token: string } {
  const dot = ackId.lastIndexOf('.');
  const pushId = dot < 0 ? ackId : ackId.slice(0, dot);
  return { push: dot < 0 ? undefined : waiting.get(pushId), pushId, token: ackId.slice(dot + 1) };
}

/** A message (or copy) is counted: the last one answers the push with success, or settles the delivery. */
function counted(push: Waiting, token: string): Arrival {
  // A copy that reaches health-ack along a second path was counted on the first; one that was
  // never awaited (a branch that cannot reach health-ack by its wires) changes nothing.
  push.remaining.delete(token);
  if (push.remaining.size > 0) return 'acknowledged';
  push.end('success');
  return 'completed';
}

/**
 * A failure no retry can mend (a reading of nobody, a kind no format maps): `retryable: false`
 * on the error, or on its `cause` (Node-RED's Catch node copies an error's message, code, stack
 * and cause into `msg.error`, no other property).
 */
export function isUnretryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { retryable, cause } = error as { retryable?: unknown; cause?: unknown };
  if (retryable === false) return true;
  return typeof cause === 'object' && cause !== null && (cause as { retryable?: unknown }).retryable === false;
}

/**
 * What health-ack calls for each message it receives; `failed` (msg.error set) fails the push at
 * once, unless the error is not retryable: then the message counts as kept (the flow has it, in a
 * quarantine file or a dead letter), so the vendor is not made to push it forever. A message an
 * outbox is still writing (see `hold`) counts once the outbox has it on disk.
 */
export function reachHealthAck(ackId: string, failed: boolean, error?: unknown): Arrival {
  const { push, token } = find(ackId);
  if (!push) return 'not-pending';
  if (failed && !isUnretryable(error)) {
    push.end('failure', error);
    return 'failed';
  }
  if ((push.holds.get(token) ?? 0) > 0) return failed ? 'kept' : 'acknowledged';
  const result = counted(push, token);
  return failed ? 'kept' : result;
}


/**
 * A message forks into `awaited.length` copies (one per wire of a node's output): one new id per
 * copy, in order. A copy marked awaited is waited for in place of the message; one that is not
 * (its branch cannot reach health-ack) gets an id of its own the push does not wait for, which
 * still fails the push if it arrives with an error. Undefined where nothing is to be changed: the
 * push is no longer pending, the message was already acknowledged (a fork after health-ack), or
 * no copy is awaited (the message stays awaited as it was).
 */
export function fork(ackId: string, awaited: readonly boolean[]): string[] | undefined {
  const { push, pushId, token } = find(ackId);
  if (!push || !push.remaining.has(token) || !awaited.includes(true)) return undefined;
  // a message an outbox is already writing does not fork: the outbox does not pass it on
  if ((push.holds.get(token) ?? 0) > 0) return undefined;
  push.remaining.delete(token);
  return awaited.map((wait) => {
    const next = String(push.nextToken++);
    if (wait) push.remaining.add(next);
    return `${pushId}.${next}`;
  });
}

/**
 * How long whatever carries `ackId` may still take before its push is answered with a timeout
 * (ms, may be negative); undefined where it has no deadline (not pending, an outbox delivery
 * without a timeout). A node that waits on a hospital gives up a little before it, so that its
 * failure, not the receiver's timer, answers the vendor and the Catch node hears why.
 */
export function timeLeftMs(ackId: unknown, now = Date.now()): number | undefined {
  if (typeof ackId !== 'string') return undefined;
  const { push } = find(ackId);
  return push?.deadline === undefined ? undefined : push.deadline - now;
}

/**
 * An outbox got the message and starts writing it: the push is not answered before `release`.
 * Called as the message arrives, so a copy of the same message going to a second outbox (one per
 * hospital system) holds the push too before the first one's write ends. False when the push is
 * no longer waiting (answered already, timed out, from before a restart) or this copy was
 * already counted.
 */
export function hold(ackId: string): boolean {
  const { push, token } = find(ackId);
  if (!push || !push.remaining.has(token)) return false;
  push.holds.set(token, (push.holds.get(token) ?? 0) + 1);
  return true;
}

/** The outbox's write of a held message ended: on disk (success) or not (`error`: fails the push). */
export function release(ackId: string, error?: unknown): Arrival {
  const { push, token } = find(ackId);
  if (!push) return 'not-pending';
  if (error !== undefined) {
    push.end('failure', error);
    return 'failed';
  }
  const holds = (push.holds.get(token) ?? 1) - 1;
  if (holds > 0) {
    push.holds.set(token, holds);
    return 'acknowledged';
  }
  push.holds.delete(token);
  return counted(push, token);
}

/** How many pushes and deliveries are waiting (for tests and diagnostics). */
export function pendingCount(): number {
  return waiting.size;
}
