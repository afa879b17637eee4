import type { Clock } from './queue';
import { KeptUnreadable, type OutboxStorage, type StoredMessage, type StoredMsg, type StoredState } from './storage';

/**
 * The dead letters an outbox keeps (`keepDeadLettersDays`) besides sending them on output 2, so
 * an operator can send them again or throw them away (the admin API, the editor's sidebar). They
 * live in a storage of their own (an `OutboxStorage`, sealed like the queue's: the same patients'
 * data), one record per dead letter, in the order they died: its record's msg carries the
 * message, when the outbox first accepted it, its tries and its last error; the record's own
 * `enqueuedAt` is when it died, which is what `keepMs` counts from. Only the states are held in
 * memory (no bodies): bodies are read for a page, a retry, never for counting.
 *
 * Operations run one at a time (a retry and an expiry never remove the same letter twice).
 */

/** What a kept record's msg holds (sealed with the rest of the record). */
interface KeptRecord {
  msg: StoredMsg;
  /** Epoch ms at which the outbox first accepted the message. */
  queuedAt: number;
  /** Deliveries tried before it died. */
  tries: number;
  error: string;
}

/** A dead letter as read back: what the admin API shows, and what a retry queues again. */
export interface DeadLetter {
  /** The entry id: the storage's seq (stable across restarts, increasing). */
  seq: number;
  /** Undefined when the record cannot be read here (no key, another key). */
  msg?: StoredMsg;
  queuedAt?: number;
  tries?: number;
  error?: string;
  /** Why the record cannot be read (no-key, tag, …): then only seq, deadAt and key are known. */
  unreadable?: string;
  deadAt: number;
  /** The patient's order key it had in the queue. */
  key: number;
}

/** Which dead letters an operation takes: some, by entry id, or all. */
export type Selection = { all: true } | { entries: readonly number[] };

export interface DeadLetterOptions {
  /** How long a dead letter is kept; 0: none (and those kept before go at the open). */
  keepMs: number;
  clock: Clock;
  /** A storage error while expiring (a failing disk): reported, the store goes on. */
  onError?(error: unknown): void;
}

/** Letters read, queued again and removed at a time: a retry of everything holds no more in memory. */
const BATCH = 200;
/** setTimeout's longest wait (a longer one fires at once). */
const LONGEST_TIMER_MS = 2_147_483_647;

export class DeadLetterStore {
  static async open(storage: OutboxStorage, options: DeadLetterOptions): Promise<DeadLetterStore> {
    const store = new DeadLetterStore(storage, options);
    const states: StoredState[] = [];
    await storage.stored((state) => states.push(state));
    states.sort((a, b) => a.seq - b.seq);
    for (const state of states) store.kept.set(state.seq, state);
    await store.expire();
    return store;
  }

  /** The kept letters by seq, in seq order (appends are one at a time, so each is the newest). */
  private readonly kept = new Map<number, StoredState>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: { handle: unknown; at: number } | undefined;
  private closed = false;

  private constructor(
    private readonly storage: OutboxStorage,
    private readonly options: DeadLetterOptions,
  ) {}

  count(): number {
    return this.kept.size;
  }

  /** Keeps a message that died (`message` as the queue had it, `error` its last failure). */
  keep(message: StoredMessage, error: string): Promise<void> {
    if (this.options.keepMs <= 0) return Promise.resolve();
    return this.run(async () => {
      const record: KeptRecord = { msg: message.msg, queuedAt: message.enqueuedAt, tries: message.attempts, error };
      const stored = await this.storage.append(record as unknown as StoredMsg, this.options.clock.now(), message.key);
      this.kept.set(stored.seq, { ref: stored.ref, seq: stored.seq, enqueuedAt: stored.enqueuedAt, nextAt: stored.nextAt, attempts: 0, key: stored.key });
      this.expireLater();
    });
  }

  /** Up to `limit` letters with a seq above `after`, oldest first, read. */
  page(after: number, limit: number): Promise<{ letters: DeadLetter[]; more: boolean }> {
    return this.run(async () => {
      await this.expireNow();
      const states: StoredState[] = [];
      let more = false;
      for (const state of this.kept.values()) {
        if (state.seq <= after) continue;
        if (states.length === limit) {
          more = true;
          break;
        }
        states.push(state);
      }
      return { letters: await this.readAll(states), more };
    });
  }

  /**
   * The selected letters, oldest first in each patient's order (the time the outbox first
   * accepted them), handed to `requeue` a batch at a time and removed once it resolves: back in
   * the queue before they leave here, so a crash between the two sends one twice rather than
   * never (delivery is at least once). Unreadable letters stay. Returns how many were requeued.
   */
  retry(selection: Selection, requeue: (letters: DeadLetter[]) => Promise<void>): Promise<number> {
    return this.run(async () => {
      await this.expireNow();
      const states = this.select(selection);
      // read in seq order a batch at a time, then each batch in the order the outbox accepted them
      let count = 0;
      for (let at = 0; at < states.length; at += BATCH) {
        const letters = (await this.readAll(states.slice(at, at + BATCH))).filter((letter) => letter.msg !== undefined);
        letters.sort((a, b) => a.queuedAt! - b.queuedAt! || a.seq - b.seq);
        await requeue(letters);
        await this.removeAll(letters.map((letter) => this.kept.get(letter.seq)!));
        count += letters.length;
      }
      return count;
    });
  }

  /** Removes the selected letters (readable or not); returns how many. */
  discard(selection: Selection): Promise<number> {
    return this.run(async () => {
      const states = this.select(selection);
      await this.removeAll(states);
      return states.length;
    });
  }

  /** Removes what is older than `keepMs`. */
  expire(): Promise<void> {
    return this.run(() => this.expireNow());
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.options.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
    await this.storage.close();
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the outbox is closed'));
    const result = this.chain.then(operation);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private select(selection: Selection): StoredState[] {
    if ('all' in selection) return [...this.kept.values()];
    const wanted = [...new Set(selection.entries)].sort((a, b) => a - b);
    return wanted.flatMap((seq) => this.kept.get(seq) ?? []);
  }

  private async readAll(states: StoredState[]): Promise<DeadLetter[]> {
    const read = await Promise.allSettled(states.map((state) => this.storage.read(state)));
    return read.flatMap((result, index): DeadLetter[] => {
      const state = states[index];
      const known = { seq: state.seq, deadAt: state.enqueuedAt, key: state.key };
      if (result.status === 'rejected') {
        // an unreadable record is shown as such; one removed meanwhile (not here any more) is not
        if (result.reason instanceof KeptUnreadable) return [{ ...known, unreadable: result.reason.reason }];
        if (!this.kept.has(state.seq)) return [];
        return [{ ...known, unreadable: 'read' }];
      }
      const record = result.value.msg as unknown as Partial<KeptRecord>;
      return [{
        ...known,
        msg: isRecord(record.msg) ? record.msg : {},
        queuedAt: typeof record.queuedAt === 'number' ? record.queuedAt : state.enqueuedAt,
        tries: typeof record.tries === 'number' ? record.tries : 0,
        error: typeof record.error === 'string' ? record.error : '',
      }];
    });
  }

  private async removeAll(states: StoredState[]): Promise<void> {
    // removed from the index first: a write that fails leaves the record, which the next open
    // reads again (kept, not lost)
    for (const state of states) this.kept.delete(state.seq);
    await Promise.all(states.map((state) => this.storage.remove(state, { delivered: true })));
  }

  private async expireNow(): Promise<void> {
    const before = this.options.clock.now() - this.options.keepMs;
    const old: StoredState[] = [];
    for (const state of this.kept.values()) {
      // in the order they died, but not strictly (a clock set back): look at every one
      if (state.enqueuedAt <= before || this.options.keepMs <= 0) old.push(state);
    }
    // out of the index at once (removeAll), the next wake set before the writes end: whoever sees
    // the count drop sees the timer for the next one too
    const removal = old.length ? this.removeAll(old) : Promise.resolve();
    this.expireLater();
    await removal;
  }

  /** Wakes when the oldest kept letter is due to go. */
  private expireLater(): void {
    if (this.closed) return;
    // the first kept is the oldest (in the order they died; a clock set back only delays the
    // others until this one goes): no scan per letter kept
    const first = this.kept.values().next();
    if (first.done) return;
    const at = first.value.enqueuedAt + this.options.keepMs;
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) this.options.clock.clearTimeout(this.timer.handle);
    const { clock } = this.options;
    this.timer = {
      at,
      handle: clock.setTimeout(() => {
        this.timer = undefined;
        this.expire().catch((error: unknown) => this.options.onError?.(error));
      }, Math.min(LONGEST_TIMER_MS, Math.max(0, at - clock.now()))),
    };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
