import { OutboxSchedule } from './schedule';
import { KeptUnreadable, type OutboxStorage, type StoredMessage, type StoredMsg, type StoredState } from './storage';

/**
 * The delivery of `health-outbox` on top of an `OutboxStorage`: a message is handed
 * to `send` once it is durable and due; it counts as delivered when `settle(id)` is called for it,
 * failed with `settle(id, error)` or when `ackTimeoutMs` passes without either. A failed message
 * waits `retryMinMs`, doubling per failure up to `retryMaxMs`, while the messages behind it go on
 * (the schedule, schedule.ts, hands out the earliest due, not the oldest); its last attempt is at `maxAgeMs`
 * after it was accepted, and a failure then sends it to `deadLetter` with that error.
 *
 * Order per key (a patient): the schedule hands out a message only once the older ones of its key
 * are gone, so a patient's readings reach the hospital in the order they came, however long it
 * was down. That alone would let one reading the hospital always refuses hold back its patient's
 * later ones for `maxAgeMs`, so the queue judges: a message that fails, sees another delivered
 * right after (at most two failures between the two deliveries: not an outage), and fails again
 * is refused for what it is, not because the hospital is down, and is unblocked (it keeps its
 * own backoff; the rest of its key goes on). Where its key is the only one waiting (a site with
 * one patient or one device: nothing else can show the hospital is up), its oldest message is let
 * past after the third failure in a row instead, for one message only: the next of its key goes
 * out, the one after waits for that one as usual (so in an outage, however long, at most one
 * message overtakes the oldest: the one that may find the hospital back). Once any delivery
 * succeeds, the message let past holds back its key again, and is struck: one more failure and it
 * is refused for what it is (the hospital took another message meanwhile). When a delivery
 * succeeds after three or more failures in a row (an outage ended), nothing else is judged and
 * every waiting message is due at once, so the backlog drains now, oldest first, instead of at
 * each message's own next retry.
 *
 * No jitter: one outbox talks to one hospital system, whose outage makes every waiting message
 * fail at its own time, so their retries are already spread; and the same inputs give the same
 * schedule, which the tests rely on.
 */

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface OutboxQueueOptions {
  /** Where the messages wait; or its index already loaded (a caller that leased from it first). */
  storage: OutboxStorage | OutboxSchedule;
  /** Output 1: a delivery. Call `settle` with its id once it is answered. */
  send(message: StoredMessage): void;
  /** Output 2: past `maxAgeMs`, with the last error (already removed from the storage). */
  deadLetter(message: StoredMessage, error: string): void;
  /**
   * Keeps a dead letter (dead-letters.ts) after output 2 and before the message leaves the
   * storage, so a crash between the two keeps it twice rather than never; a keep that fails is
   * reported (onError) and the message leaves all the same, as it did before letters were kept.
   */
  keep?(message: StoredMessage, error: string): Promise<void>;
  /** The error text of a delivery with no answer within `ackTimeoutMs` (in the user's language). */
  ackTimeoutText?: string;
  /** The delivery of `message` got no answer within `ackTimeoutMs`: forget its ack handle. */
  abandon?(message: StoredMessage): void;
  concurrency?: number;
  ackTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  maxAgeMs?: number;
  clock?: Clock;
  /** Hand nothing out before `start()`. */
  paused?: boolean;
  /** A waiting message whose record could not be read (the error's code): it is read again in a minute. */
  onUnreadable?(code: string): void;
  /** A storage error (a disk that fails): reported, the queue goes on. */
  onError?(error: unknown): void;
  /** Something the status shows has changed. */
  onChange?(): void;
}

export interface OutboxStatus {
  queued: number;
  inFlight: number;
  /** ms since the oldest waiting message was accepted. */
  oldestAgeMs?: number;
  /** When the next waiting message not in flight is due (epoch ms); may be now. */
  nextAt?: number;
}

/** A waiting message as `page` returns it. */
export interface QueuedEntry {
  state: StoredState;
  inFlight: boolean;
  message?: StoredMessage;
  /** Why it cannot be read here (no-key, tag, …). */
  unreadable?: string;
}

interface InFlight {
  message: StoredMessage;
  timer: unknown;
}

/** Failures in a row from which a success means an outage ended (see above). */
const OUTAGE_FAILURES = 3;
/** Failures in a row after which the oldest message of the only key waiting is let past (once). */
const SOLE_KEY_FAILURES = 3;
/** setTimeout's longest wait (a longer one fires at once). */
const LONGEST_TIMER_MS = 2_147_483_647;

export const OUTBOX_DEFAULTS = {
  concurrency: 1,
  ackTimeoutMs: 30_000,
  retryMinMs: 1_000,
  retryMaxMs: 600_000,
  maxAgeMs: 72 * 3_600_000,
};

/** The queue's settings with their defaults, as both queues (this one and redis/queue.ts) read them. */
export function queueSettings(options: Pick<OutboxQueueOptions, 'clock' | 'concurrency' | 'ackTimeoutMs' | 'retryMinMs' | 'retryMaxMs' | 'maxAgeMs'>) {
  const retryMinMs = options.retryMinMs ?? OUTBOX_DEFAULTS.retryMinMs;
  return {
    clock: options.clock ?? systemClock,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? OUTBOX_DEFAULTS.concurrency)),
    ackTimeoutMs: options.ackTimeoutMs ?? OUTBOX_DEFAULTS.ackTimeoutMs,
    retryMinMs,
    retryMaxMs: Math.max(retryMinMs, options.retryMaxMs ?? OUTBOX_DEFAULTS.retryMaxMs),
    maxAgeMs: options.maxAgeMs ?? OUTBOX_DEFAULTS.maxAgeMs,
  };
}

/** The wait after the `failures`-th failure (1, 2, …). */
export function backoffMs(failures: number, retryMinMs: number, retryMaxMs: number): number {
  return Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures - 1, 52));
}

export class OutboxQueue {
  /** The index of what waits, once the storage has said what it holds. */
  private schedule: OutboxSchedule | undefined;
  private readonly ready: Promise<OutboxSchedule>;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly ackTimeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly maxAgeMs: number;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly work = new Set<Promise<unknown>>();
  private pumping = false;
  private pumpAgain = false;
  private wake: { handle: unknown; at: number } | undefined;
  private closed = false;
  /** Failures in a row (of messages not judged refused), since the last delivery. */
  private failuresInRow = 0;
  /**
   * The messages that failed since the last delivery, while that may still be judged (fewer than
   * OUTAGE_FAILURES): handles without their msg, for the schedule's unblock.
   */
  private failedSinceDelivery: StoredMessage[] = [];
  /** Ids of messages that failed before a later delivery: one more failure and they are unblocked. */
  private readonly struck = new Set<string>();
  private readonly refused = new Set<string>();
  /**
   * Messages let past by the rule for a key alone (see above), by id, with their handle: at most
   * one per key, since only a key's oldest message is let past, and the next of the key is not.
   */
  private readonly letPast = new Map<string, StoredMessage>();

  private started: boolean;

  constructor(private readonly options: OutboxQueueOptions) {
    ({
      clock: this.clock, concurrency: this.concurrency, ackTimeoutMs: this.ackTimeoutMs,
      retryMinMs: this.retryMinMs, retryMaxMs: this.retryMaxMs, maxAgeMs: this.maxAgeMs,
    } = queueSettings(options));
    this.started = !options.paused;
    const { storage } = options;
    this.ready = storage instanceof OutboxSchedule ? Promise.resolve(storage) : OutboxSchedule.load(storage, { onUnreadable: options.onUnreadable });
    this.track(this.ready.then((schedule) => {
      this.schedule = schedule;
      this.changed();
      this.pump();
    }));
  }

  /** Starts handing out, for a queue made `paused` (Node-RED: once every node of the flows exists). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pump();
  }

  /** Resolves once the message is durable: then the vendor may be answered. */
  async enqueue(msg: StoredMsg, key = 0): Promise<StoredMessage> {
    if (this.closed) throw new Error('the outbox is closed');
    const schedule = await this.ready;
    const stored = await schedule.append(msg, this.clock.now(), key);
    this.changed();
    this.pump();
    return stored;
  }

  /**
   * A delivery's answer: no error = delivered. Returns false for an id not in flight (answered
   * already, timed out, or from before a restart), which changes nothing.
   */
  settle(id: string, error?: string): boolean {
    const flight = this.inFlight.get(id);
    if (!flight) return false;
    this.inFlight.delete(id);
    this.clock.clearTimeout(flight.timer);
    this.track(this.finish(flight.message, error));
    this.pump();
    return true;
  }

  /** `health-outbox/retry`: every waiting message is due now. */
  async retryAll(): Promise<void> {
    const schedule = await this.ready;
    await schedule.retryAll(this.clock.now());
    this.changed();
    this.pump();
  }

  /**
   * A page of what waits, in the order it was accepted (seq above `after`), each read with its
   * body; a message that cannot be read here (no key, another key) comes with why instead.
   */
  async page(after: number, limit: number): Promise<{ entries: QueuedEntry[]; more: boolean }> {
    const schedule = await this.ready;
    const { states, more } = schedule.page(after, limit);
    const read = await Promise.allSettled(states.map((state) => schedule.read(state)));
    const entries = read.flatMap((result, index): QueuedEntry[] => {
      const { leased, ...state } = states[index];
      if (result.status === 'fulfilled') return [{ state, inFlight: leased, message: result.value }];
      // delivered meanwhile (no longer stored) drops out of the page; unreadable is shown as such
      return result.reason instanceof KeptUnreadable ? [{ state, inFlight: leased, unreadable: result.reason.reason }] : [];
    });
    return { entries, more };
  }

  status(): OutboxStatus {
    if (!this.schedule) return { queued: 0, inFlight: 0 };
    const stats = this.schedule.stats();
    const now = this.clock.now();
    return {
      queued: stats.count,
      inFlight: this.inFlight.size,
      ...(stats.oldestEnqueuedAt !== undefined && { oldestAgeMs: Math.max(0, now - stats.oldestEnqueuedAt) }),
      ...(stats.nextAt !== undefined && { nextAt: stats.nextAt }),
    };
  }

  /** Resolves once nothing the queue started is still running (the tests' way to wait). */
  async idle(): Promise<void> {
    while (this.work.size || this.pumping) await Promise.allSettled([...this.work]);
  }

  /**
   * Stops handing out and forgets what is in flight (it is handed out again after the next open:
   * at least once); waits for the writes started, then closes the storage.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.wake) this.clock.clearTimeout(this.wake.handle);
    this.wake = undefined;
    for (const flight of this.inFlight.values()) this.clock.clearTimeout(flight.timer);
    this.inFlight.clear();
    await this.idle();
    await this.ready.then(
      (schedule) => schedule.close(),
      () => this.options.storage.close(),
    );
  }

  private async finish(message: StoredMessage, error: string | undefined): Promise<void> {
    try {
      await this.record(message, error);
    } finally {
      // also after a write that failed: the storage kept the message waiting, the pump wakes for it
      this.changed();
      this.pump();
    }
  }

  private async record(message: StoredMessage, error: string | undefined): Promise<void> {
    const schedule = this.schedule!;
    if (error === undefined) {
      this.forget(message.id);
      const outageEnded = this.failuresInRow >= OUTAGE_FAILURES;
      if (!outageEnded) for (const failed of this.failedSinceDelivery) this.struck.add(failed.id);
      // the hospital took a message: the one let past waits its turn again, and is struck
      for (const [id, passed] of this.letPast) {
        this.refused.delete(id);
        this.struck.add(id);
        schedule.block(passed);
      }
      this.letPast.clear();
      this.failuresInRow = 0;
      this.failedSinceDelivery = [];
      await schedule.settle(message, { ok: true });
      if (outageEnded) await schedule.retryAll(this.clock.now());
    } else {
      this.judge(message);
      const now = this.clock.now();
      const deadline = message.enqueuedAt + this.maxAgeMs;
      if (now >= deadline) {
        this.forget(message.id);
        // out first: a crash before the record is written sends it to output 2 again after the
        // restart (at least once) instead of never; a record that cannot be written does the same
        const dead = { ...message, attempts: message.attempts + 1, lastError: error };
        this.options.deadLetter(dead, error);
        await this.options.keep?.(dead, error).catch((failure: unknown) => this.options.onError?.(failure));
        await schedule.settle(message, { dead: true, error });
      } else {
        const wait = backoffMs(message.attempts + 1, this.retryMinMs, this.retryMaxMs);
        // the last attempt is at the deadline itself, so a message is never dead untried
        await schedule.settle(message, { ok: false, error, nextAt: Math.min(now + wait, deadline) });
      }
    }
  }

  /** A failure of `message`: counts towards an outage, or shows the message is refused. */
  private judge(message: StoredMessage): void {
    if (this.refused.has(message.id)) return; // expected: not a sign of an outage
    const schedule = this.schedule!;
    this.failuresInRow++;
    if (this.struck.has(message.id)) {
      this.struck.delete(message.id);
      this.refused.add(message.id);
      schedule.unblock(message);
      return;
    }
    // failures in a row of the outbox, not of the message: after an outage its count starts anew.
    // Only the oldest of its key: a later one failing too is the outage, and it waits
    if (this.failuresInRow >= SOLE_KEY_FAILURES && schedule.soleKey(message) && schedule.oldestOfKey(message)) {
      this.refused.add(message.id);
      this.letPast.set(message.id, { ...message, msg: {} });
      schedule.unblock(message);
      return;
    }
    // the message without its msg: only its id and the storage's handle are needed
    if (this.failuresInRow < OUTAGE_FAILURES) this.failedSinceDelivery.push({ ...message, msg: {} });
  }

  private forget(id: string): void {
    this.struck.delete(id);
    this.refused.delete(id);
    this.letPast.delete(id);
    this.failedSinceDelivery = this.failedSinceDelivery.filter((failed) => failed.id !== id);
  }

  private deliver(message: StoredMessage): void {
    const timer = this.clock.setTimeout(() => {
      this.options.abandon?.(message);
      this.settle(message.id, this.options.ackTimeoutText ?? `no answer within ${this.ackTimeoutMs / 1000} s (ackTimeout)`);
    }, Math.min(this.ackTimeoutMs, LONGEST_TIMER_MS));
    this.inFlight.set(message.id, { message, timer });
    try {
      this.options.send(message);
    } catch (error) {
      this.settle(message.id, error instanceof Error ? error.message : String(error));
    }
  }

  /** Hands out due messages while there is room, then sleeps until the next one is due. */
  private pump(): void {
    if (this.closed || !this.started || !this.schedule) return;
    const schedule = this.schedule;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    const run = async (): Promise<void> => {
      try {
        do {
          this.pumpAgain = false;
          while (!this.closed && this.inFlight.size < this.concurrency) {
            const batch = await schedule.lease(this.clock.now(), this.concurrency - this.inFlight.size);
            if (this.closed) return; // leased but not sent: handed out again after the next open
            for (const message of batch) this.deliver(message);
            if (batch.length) this.changed();
            if (batch.length === 0) break;
          }
        } while (this.pumpAgain && !this.closed);
      } catch (error) {
        // the storage could not hand out (a read error): reported, and tried again after a while
        this.options.onError?.(error);
        this.wakeAt(this.clock.now() + this.retryMinMs);
      } finally {
        // in the same turn as the last check of pumpAgain: a pump() asked for after it starts anew
        this.pumping = false;
      }
      this.sleep();
    };
    this.track(run());
  }

  private sleep(): void {
    if (this.closed || this.inFlight.size >= this.concurrency || !this.schedule) return;
    const nextAt = this.schedule.nextDue();
    if (nextAt !== undefined) this.wakeAt(nextAt);
  }

  private wakeAt(at: number): void {
    if (this.closed) return;
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) this.clock.clearTimeout(this.wake.handle);
    this.wake = {
      at,
      handle: this.clock.setTimeout(() => {
        if (this.wake?.at === at) this.wake = undefined;
        this.pump();
      }, Math.min(LONGEST_TIMER_MS, Math.max(0, at - this.clock.now()))),
    };
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => this.options.onError?.(error));
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }

  private changed(): void {
    this.options.onChange?.();
  }
}
