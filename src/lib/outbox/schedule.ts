import { errorCode } from '../coded-error';
import { Columns } from './columns';
import { KeptUnreadable, type OutboxStorage, type Settlement, type StoredMessage, type StoredMsg, type StoredState } from './storage';

/**
 * The outbox's index of its waiting messages, in memory, over any `OutboxStorage`: what is due,
 * earliest first, and each patient's turn. One row per stored message, under the storage's `ref`,
 * in typed arrays (about 49 bytes a message, whatever its size: the bodies stay in the storage and
 * are read when handed out). The queue (queue.ts) decides what a failure means; this decides what
 * may go out next.
 *
 * Order per key (a patient): a message with a key (not 0) is not handed out while an older
 * message (a smaller seq) of its key waits or is in flight, unless that one was unblocked: the
 * queue judged that the hospital refuses it for what it is. Unblocking lives in memory only: after
 * a restart the message holds back its key again until the queue judges it again.
 */

const OCCUPIED = 1;
const LEASED = 2;
/** A failed delivery's record is being written: not handed out meanwhile. */
const WRITING = 4;
/** No longer holds back the later messages of its key. */
const UNBLOCKED = 8;
/** Stored and unreadable here (no key, another key): kept aside until the next open. */
const PARKED = 16;

/** How long a message whose record cannot be read (an I/O error) waits before it is read again. */
const UNREADABLE_WAIT_MS = 60_000;

export interface ScheduleStats {
  /** Messages waiting, in flight included, those kept aside as unreadable not. */
  count: number;
  /** Of them, handed out and not settled yet. */
  leased: number;
  /** `enqueuedAt` of the oldest waiting message, undefined when none waits. */
  oldestEnqueuedAt?: number;
  /** The earliest `nextAt` of the messages that may be handed out. */
  nextAt?: number;
}

export interface ScheduleOptions {
  /** A waiting message whose record could not be read (the error's code): it is read again in a minute. */
  onUnreadable?: (code: string) => void;
}

export class OutboxSchedule {
  /** Reads what the storage holds and indexes it. */
  static async load(storage: OutboxStorage, options: ScheduleOptions = {}): Promise<OutboxSchedule> {
    const schedule = new OutboxSchedule(storage, options);
    await storage.stored((state) => {
      const row = state.ref;
      schedule.reach(row);
      schedule.fill(row, state.seq, state.enqueuedAt, state.nextAt, state.attempts, state.key);
    });
    schedule.linkAll();
    schedule.heapify();
    return schedule;
  }

  private capacity = 0;
  private seqs = new Float64Array(0);
  private nexts = new Float64Array(0);
  private enqueued = new Float64Array(0);
  private attemptsOf = new Uint32Array(0);
  private keys = new Uint32Array(0);
  /** The previous and next row of the same key in seq order (-1: none). */
  private prevOfKey = new Int32Array(0);
  private nextOfKey = new Int32Array(0);
  /** Where each row is in the heap, -1 if not there. */
  private heapPos = new Int32Array(0);
  /**
   * Rows that may be handed out (not in flight, not being written, and not held back by an older
   * message of their key), earliest nextAt first (then seq).
   */
  private heap = new Int32Array(0);
  private flags = new Uint8Array(0);
  private heapSize = 0;
  private highWater = 0;
  private occupied = 0;
  private leased = 0;
  private parked = 0;
  private oldestRow = -1;
  private oldestDirty = true;
  /** Per order key, the oldest and newest waiting row: the chain runs through prev/nextOfKey. */
  private readonly keyHeads = new Map<number, number>();
  private readonly keyTails = new Map<number, number>();
  /** Per order key, how many waiting rows it has (`soleKey`). */
  private readonly keyCounts = new Map<number, number>();

  private constructor(
    private readonly storage: OutboxStorage,
    private readonly options: ScheduleOptions,
  ) {}

  /** Stores a new message (durable once this resolves); it may be handed out from then on. */
  async append(msg: StoredMsg, now: number, key = 0): Promise<StoredMessage> {
    const stored = await this.storage.append(msg, now, key);
    const row = stored.ref;
    this.reach(row);
    this.fill(row, stored.seq, stored.enqueuedAt, stored.nextAt, stored.attempts, stored.key);
    this.link(row);
    if (this.oldestRow < 0 && !this.oldestDirty) this.oldestRow = row;
    this.offer(row);
    return stored;
  }

  /**
   * Up to `limit` messages with `nextAt ≤ now` that may go out, earliest `nextAt` first (seq
   * among equals), read from the storage and marked in flight until settled.
   */
  async lease(now: number, limit: number): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    let failure: unknown;
    // a message kept aside as unreadable leaves room in the batch: take another for it
    for (;;) {
      const taken: Array<{ row: number; seq: number }> = [];
      while (messages.length + taken.length < limit && this.heapSize > 0 && this.nexts[this.heap[0]] <= now) {
        const row = this.heap[0];
        this.heapRemove(row);
        this.flags[row] |= LEASED;
        this.leased++;
        taken.push({ row, seq: this.seqs[row] });
      }
      if (taken.length === 0) break;
      const read = await Promise.allSettled(taken.map(({ row, seq }) => this.storage.read(this.stateOf(row, seq))));
      let parked = 0;
      read.forEach((result, index) => {
        const { row, seq } = taken[index];
        const current = this.holds(row, seq) && (this.flags[row] & LEASED) !== 0;
        if (result.status === 'fulfilled') {
          if (current) messages.push(result.value);
        } else if (result.reason instanceof KeptUnreadable) {
          if (current) this.park(row);
          parked++;
        } else {
          // one that cannot be read (an I/O error, a damaged record) waits a minute and is tried
          // again, without holding back the others of the batch
          failure ??= result.reason;
          if (!current) return;
          this.flags[row] &= ~LEASED;
          this.leased--;
          this.nexts[row] = now + UNREADABLE_WAIT_MS;
          this.offer(row);
        }
      });
      if (parked === 0 || messages.length >= limit) break;
    }
    if (failure !== undefined) {
      this.options.onUnreadable?.(errorCode(failure));
      if (messages.length === 0) throw failure;
    }
    return messages;
  }

  /** Ends a lease: delivered (gone), failed (waits until `nextAt`), or dead (gone). */
  settle(message: StoredMessage, outcome: Settlement): Promise<void> {
    const row = message.ref;
    if (!this.holds(row, message.seq) || !(this.flags[row] & LEASED)) {
      return Promise.reject(new Error(`outbox message ${message.id} is not in flight`));
    }
    this.flags[row] &= ~LEASED;
    this.leased--;
    if ('ok' in outcome && outcome.ok) {
      this.release(row);
      return this.storage.remove(message, { delivered: true });
    }
    if ('dead' in outcome) {
      this.release(row);
      return this.storage.remove(message, { dead: true, error: outcome.error });
    }
    const attempts = this.attemptsOf[row] + 1;
    this.attemptsOf[row] = attempts;
    this.nexts[row] = outcome.nextAt;
    this.flags[row] |= WRITING;
    const done = (): void => {
      if (!this.holds(row, message.seq) || !(this.flags[row] & WRITING)) return;
      this.flags[row] &= ~WRITING;
      this.offer(row);
    };
    // not written (a failing disk): it waits all the same, with the state in memory, which is the
    // newer one; a restart before the next write finds the older record, one attempt fewer
    return this.storage.fail(message, { attempts, nextAt: outcome.nextAt, error: outcome.error }).then(done, (error: unknown) => {
      done();
      throw error;
    });
  }

  /** The message (handed out before, still waiting) no longer holds back the later messages of its key. */
  unblock(message: StoredMessage): void {
    const row = message.ref;
    if (!this.holds(row, message.seq) || this.flags[row] & UNBLOCKED || this.keys[row] === 0) return;
    const key = this.keys[row];
    const wasGate = this.gate(key) === row;
    this.flags[row] |= UNBLOCKED;
    this.offer(row);
    if (wasGate) this.offerGate(key);
  }

  /** Undoes `unblock`: the message holds back the later messages of its key again. */
  block(message: StoredMessage): void {
    const row = message.ref;
    if (!this.holds(row, message.seq) || !(this.flags[row] & UNBLOCKED) || this.flags[row] & PARKED) return;
    const key = this.keys[row];
    const gate = this.gate(key);
    this.flags[row] &= ~UNBLOCKED;
    if (this.heapPos[row] >= 0 && !this.mayGo(row)) this.heapRemove(row);
    if (gate >= 0 && gate !== this.gate(key) && this.heapPos[gate] >= 0) this.heapRemove(gate);
  }

  /** True when every waiting message has the order key of `message` (one patient's queue). */
  soleKey(message: StoredMessage): boolean {
    if (!this.holds(message.ref, message.seq)) return false;
    const key = this.keys[message.ref];
    return key !== 0 && this.keyCounts.get(key) === this.occupied;
  }

  /** True when `message` is the oldest waiting message of its key (those kept aside not counted). */
  oldestOfKey(message: StoredMessage): boolean {
    if (!this.holds(message.ref, message.seq) || this.keys[message.ref] === 0) return false;
    let row = this.keyHeads.get(this.keys[message.ref]) ?? -1;
    while (row >= 0 && this.flags[row] & PARKED) row = this.nextOfKey[row];
    return row === message.ref;
  }

  /** Every waiting message not in flight becomes due at `now`. */
  retryAll(now: number): Promise<void> {
    for (let row = 0; row < this.highWater; row++) {
      if (this.flags[row] & OCCUPIED && !(this.flags[row] & LEASED)) this.nexts[row] = now;
    }
    this.heapify();
    return this.storage.dueAll(now);
  }

  /**
   * Up to `limit` waiting messages (in flight and unreadable ones too) with a seq above `after`,
   * in seq order, without their bodies, with whether each is in flight: a page for an operator.
   * A scan of the index (a few ms at a million messages), done only when someone asks.
   */
  page(after: number, limit: number): { states: Array<StoredState & { leased: boolean }>; more: boolean } {
    const seqs = this.seqs;
    // the `limit` smallest seqs above `after`, kept sorted: no array of every row, no full sort
    const best: number[] = [];
    let matching = 0;
    for (let row = 0; row < this.highWater; row++) {
      if (!(this.flags[row] & OCCUPIED) || seqs[row] <= after) continue;
      matching++;
      if (best.length === limit && seqs[row] >= seqs[best[limit - 1]]) continue;
      let low = 0;
      let high = best.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (seqs[best[middle]] < seqs[row]) low = middle + 1;
        else high = middle;
      }
      best.splice(low, 0, row);
      if (best.length > limit) best.pop();
    }
    const states = best.map((row) => ({ ...this.stateOf(row, seqs[row]), leased: (this.flags[row] & LEASED) !== 0 }));
    return { states, more: matching > limit };
  }

  /** The message of a state `page` gave, body included (see OutboxStorage.read). */
  read(state: StoredState): Promise<StoredMessage> {
    return this.storage.read(state);
  }

  /** The earliest `nextAt` of the messages that may be handed out (what `stats().nextAt` says, cheaply). */
  nextDue(): number | undefined {
    return this.heapSize > 0 ? this.nexts[this.heap[0]] : undefined;
  }

  /** For the status; may cost a scan (the oldest), so not for every message. */
  stats(): ScheduleStats {
    if (this.oldestDirty) this.findOldest();
    return {
      count: this.occupied - this.parked,
      leased: this.leased - this.parked,
      ...(this.oldestRow >= 0 && { oldestEnqueuedAt: this.enqueued[this.oldestRow] }),
      ...(this.heapSize > 0 && { nextAt: this.nexts[this.heap[0]] }),
    };
  }

  close(): Promise<void> {
    return this.storage.close();
  }

  // --- rows -------------------------------------------------------------------------------------

  private holds(row: number, seq: number): boolean {
    return row < this.highWater && (this.flags[row] & OCCUPIED) !== 0 && this.seqs[row] === seq;
  }

  private stateOf(row: number, seq: number) {
    return { ref: row, seq, enqueuedAt: this.enqueued[row], nextAt: this.nexts[row], attempts: this.attemptsOf[row], key: this.keys[row] };
  }

  private fill(row: number, seq: number, enqueuedAt: number, nextAt: number, attempts: number, key: number): void {
    this.seqs[row] = seq;
    this.enqueued[row] = enqueuedAt;
    this.nexts[row] = nextAt;
    this.attemptsOf[row] = attempts;
    this.keys[row] = key >>> 0;
    this.flags[row] = OCCUPIED;
    this.prevOfKey[row] = -1;
    this.nextOfKey[row] = -1;
    this.occupied++;
  }

  private reach(row: number): void {
    while (row >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    if (row >= this.highWater) this.highWater = row + 1;
  }

  private grow(capacity: number): void {
    const columns = new Columns(capacity, 8 * 3 + 4 * 6 + 1);
    this.seqs = columns.next(this.seqs, Float64Array);
    this.nexts = columns.next(this.nexts, Float64Array);
    this.enqueued = columns.next(this.enqueued, Float64Array);
    this.attemptsOf = columns.next(this.attemptsOf, Uint32Array);
    this.keys = columns.next(this.keys, Uint32Array);
    this.prevOfKey = columns.next(this.prevOfKey, Int32Array);
    this.nextOfKey = columns.next(this.nextOfKey, Int32Array);
    const heapPos = columns.next(this.heapPos, Int32Array);
    heapPos.fill(-1, this.capacity);
    this.heapPos = heapPos;
    this.heap = columns.next(this.heap, Int32Array);
    this.flags = columns.next(this.flags, Uint8Array);
    this.capacity = capacity;
  }

  /** Kept aside as unreadable: stays leased until the close and holds back nothing. */
  private park(row: number): void {
    this.flags[row] |= PARKED;
    this.parked++;
    if (row === this.oldestRow) this.oldestDirty = true;
    const key = this.keys[row];
    if (key === 0 || this.flags[row] & UNBLOCKED) return;
    const wasGate = this.gate(key) === row;
    this.flags[row] |= UNBLOCKED;
    if (wasGate) this.offerGate(key);
  }

  /** The row's message is gone (delivered or dead). */
  private release(row: number): void {
    if (this.heapPos[row] >= 0) this.heapRemove(row);
    if (this.flags[row] & LEASED) this.leased--;
    if (this.flags[row] & PARKED) this.parked--;
    const key = this.keys[row];
    if (key !== 0) {
      const wasGate = this.gate(key) === row;
      this.unlink(row);
      if (wasGate) this.offerGate(key);
    }
    this.flags[row] = 0;
    this.occupied--;
    if (row === this.oldestRow) {
      this.oldestRow = -1;
      this.oldestDirty = true;
    }
  }

  private findOldest(): void {
    let best = -1;
    for (let row = 0; row < this.highWater; row++) {
      if ((this.flags[row] & (OCCUPIED | PARKED)) === OCCUPIED && (best < 0 || this.seqs[row] < this.seqs[best])) best = row;
    }
    this.oldestRow = best;
    this.oldestDirty = false;
  }

  // --- order per key ----------------------------------------------------------------------------

  /** The row of `key` that may go out now: its oldest waiting one that is not unblocked. */
  private gate(key: number): number {
    let row = this.keyHeads.get(key) ?? -1;
    while (row >= 0 && this.flags[row] & UNBLOCKED) row = this.nextOfKey[row];
    return row;
  }

  private mayGo(row: number): boolean {
    const key = this.keys[row];
    return key === 0 || (this.flags[row] & UNBLOCKED) !== 0 || this.gate(key) === row;
  }

  /** Puts the row into the heap if it may be handed out. */
  private offer(row: number): void {
    if ((this.flags[row] & (OCCUPIED | LEASED | WRITING)) !== OCCUPIED || this.heapPos[row] >= 0) return;
    if (this.mayGo(row)) this.heapPush(row);
  }

  private offerGate(key: number): void {
    const gate = this.gate(key);
    if (gate >= 0) this.offer(gate);
  }

  /**
   * Into its key's chain, in seq order: from the tail, where a new message belongs (appends may
   * become durable in another order than their seqs only within one batch).
   */
  private link(row: number): void {
    const key = this.keys[row];
    this.prevOfKey[row] = -1;
    this.nextOfKey[row] = -1;
    if (key === 0) return;
    this.keyCounts.set(key, (this.keyCounts.get(key) ?? 0) + 1);
    const gate = this.gate(key);
    let prev = this.keyTails.get(key) ?? -1;
    while (prev >= 0 && this.seqs[prev] > this.seqs[row]) prev = this.prevOfKey[prev];
    const next = prev >= 0 ? this.nextOfKey[prev] : (this.keyHeads.get(key) ?? -1);
    this.prevOfKey[row] = prev;
    this.nextOfKey[row] = next;
    if (prev >= 0) this.nextOfKey[prev] = row;
    else this.keyHeads.set(key, row);
    if (next >= 0) this.prevOfKey[next] = row;
    else this.keyTails.set(key, row);
    // an older message joined the chain ahead of the gate: the gate waits for it
    if (gate >= 0 && gate !== this.gate(key) && this.heapPos[gate] >= 0) this.heapRemove(gate);
  }

  private unlink(row: number): void {
    const key = this.keys[row];
    const count = (this.keyCounts.get(key) ?? 1) - 1;
    if (count > 0) this.keyCounts.set(key, count);
    else this.keyCounts.delete(key);
    const prev = this.prevOfKey[row];
    const next = this.nextOfKey[row];
    if (prev >= 0) this.nextOfKey[prev] = next;
    else if (next >= 0) this.keyHeads.set(key, next);
    else this.keyHeads.delete(key);
    if (next >= 0) this.prevOfKey[next] = prev;
    else if (prev >= 0) this.keyTails.set(key, prev);
    else this.keyTails.delete(key);
    this.prevOfKey[row] = -1;
    this.nextOfKey[row] = -1;
  }

  /** After loading: every keyed row into its chain, in seq order. */
  private linkAll(): void {
    let count = 0;
    for (let row = 0; row < this.highWater; row++) if (this.flags[row] & OCCUPIED && this.keys[row] !== 0) count++;
    if (count === 0) return;
    const rows = new Int32Array(count);
    let at = 0;
    for (let row = 0; row < this.highWater; row++) if (this.flags[row] & OCCUPIED && this.keys[row] !== 0) rows[at++] = row;
    const seqs = this.seqs;
    rows.sort((a, b) => seqs[a] - seqs[b]);
    for (const row of rows) this.link(row);
  }

  // --- a binary min-heap of rows by (nextAt, seq), with each row's position for removal ---------

  private before(a: number, b: number): boolean {
    const na = this.nexts[a];
    const nb = this.nexts[b];
    return na < nb || (na === nb && this.seqs[a] < this.seqs[b]);
  }

  private heapPush(row: number): void {
    this.heap[this.heapSize] = row;
    this.heapPos[row] = this.heapSize;
    this.heapSize++;
    this.siftUp(this.heapSize - 1);
  }

  private heapRemove(row: number): void {
    const at = this.heapPos[row];
    this.heapPos[row] = -1;
    const last = this.heap[--this.heapSize];
    if (at === this.heapSize) return;
    this.heap[at] = last;
    this.heapPos[last] = at;
    this.siftDown(at);
    this.siftUp(this.heapPos[last]);
  }

  private siftUp(at: number): void {
    const heap = this.heap;
    const row = heap[at];
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(row, heap[parent])) break;
      heap[at] = heap[parent];
      this.heapPos[heap[at]] = at;
      at = parent;
    }
    heap[at] = row;
    this.heapPos[row] = at;
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const row = heap[at];
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.heapSize) break;
      if (child + 1 < this.heapSize && this.before(heap[child + 1], heap[child])) child++;
      if (!this.before(heap[child], row)) break;
      heap[at] = heap[child];
      this.heapPos[heap[at]] = at;
      at = child;
    }
    heap[at] = row;
    this.heapPos[row] = at;
  }

  private heapify(): void {
    this.heapSize = 0;
    for (let row = 0; row < this.highWater; row++) {
      this.heapPos[row] = -1;
      if ((this.flags[row] & (OCCUPIED | LEASED | WRITING)) === OCCUPIED && this.mayGo(row)) {
        this.heap[this.heapSize] = row;
        this.heapPos[row] = this.heapSize++;
      }
    }
    for (let at = (this.heapSize >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }
}
