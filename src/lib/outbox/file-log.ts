import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { errorCode } from '../coded-error';
import type { OutboxStorage, Settlement, StorageStats, StoredMessage, StoredMsg } from './storage';

/**
 * The outbox's storage in a directory of its own: an append-only log in segment files, with group
 * commit (the records that arrive while one fsync runs share the next write and fsync) and an
 * index in RAM of only the waiting messages, in typed arrays (about 50 bytes each, whatever the
 * message's size: the messages themselves stay on disk until handed out).
 *
 * Files: `seg-00000001.log`, `seg-00000002.log`, … Each is a run of records:
 *
 *   0  u32 LE  record length, header included
 *   4  u32 LE  CRC-32 of bytes 8 … end
 *   8  u8      type: 1 put, 2 delivered, 3 dead, 4 retry-all, 5 segment start
 *   12 u32 LE  slot (the index's row; reused once the message is gone); segment start: the
 *              index's rows in use when the segment began, so a replay sizes the index once
 *   16 f64 LE  seq (unique, increasing: the log's order of messages); segment start: the last
 *              seq given, so seqs stay unique when every record of the newest ones is gone
 *   24 f64 LE  put: enqueuedAt; retry-all: the time; segment start: where the previous segment
 *              ends (its last whole record; see "A refused write" below)
 *   32 f64 LE  put: nextAt; segment start: 1 if bytes 24 … 31 say where the previous segment
 *              ends (0 in logs written before it was added)
 *   40 u32 LE  put: attempts
 *   44 u32 LE  put: the message's order key (0: none; logs written before it was added carry 0)
 *   48 …       put: UTF-8 JSON {"id","lastError"?,"msg"}; dead: JSON {"error"}
 *
 * A put carries the message's whole current state, so the latest put of a seq wins: a failed
 * delivery writes a new put (attempts + 1, nextAt, lastError), and so does compaction when it
 * moves a still-waiting message out of the oldest segment. Delivered and dead name (slot, seq)
 * and apply only if that slot still holds that seq, so a record about a message whose segment is
 * gone changes nothing. Segments are removed oldest first only (a later segment may hold the
 * record that ended a message of an earlier one), once every message of the oldest segment is
 * gone or moved and those records are on disk; each change is one record appended, never a
 * rewrite of the queue. On open the log is replayed; a torn record at the end of the last segment
 * (a crash mid-write) is cut off.
 *
 * A refused write (a full disk: ENOSPC, a short write; or a failed fdatasync, which may have lost
 * what it was to flush) refuses the whole batch: every caller gets the error, so a push is answered
 * with failure and the vendor pushes it again. Nothing of that batch may stay where a replay reads
 * it: the next batch is written at the same offset, and if it is shorter, the refused batch's
 * later records would follow it whole, and a replay would put one of them into a slot that an
 * acknowledged message took since (that message lost, a refused one delivered in its place). So
 * the segment is cut back to where the batch began (ftruncate, then fdatasync) before the callers
 * hear of the refusal. If that cut fails too, the segment takes no more appends: the next batch
 * starts a new segment, whose first record says where the old one ends, and a replay reads the old
 * one only that far. (Staying refused until a restart would not do: the replay would read the
 * records past the end all the same.) One gap is left: a crash after a failed cut and before a new
 * segment could be started (the disk still full) leaves the refused records at the end of the
 * last segment, where a replay takes them: refused messages come back (copies of what the vendors
 * push again), and none acknowledged is lost, as nothing was written after them. Besides, a put
 * older (a smaller seq) than the message its slot holds is ignored at replay: only a refused write
 * left behind by a release before this one can be such a put.
 *
 * The directory is 0700 and every file in it 0600 (whatever the umask); an existing directory or
 * segment with wider modes is tightened at open: the messages carry patients' data.
 */

const HEADER = 48;
const PUT = 1;
const DELIVERED = 2;
const DEAD = 3;
const RETRY_ALL = 4;
const SEGMENT_START = 5;

const OCCUPIED = 1;
const LEASED = 2;
/** The slot's latest put is not on disk yet: it is not handed out and not moved meanwhile. */
const WRITING = 4;
/**
 * In memory only: the hospital refused this message while accepting others (the queue's
 * judgement), so it no longer holds back the later messages of its key. Lost on restart: the
 * message then holds them back again until the queue judges it again.
 */
const UNBLOCKED = 8;

const SEGMENT_PATTERN = /^seg-(\d{8})\.log$/;
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;
const READ_CHUNK = 8 * 1_048_576;
const MAX_RECORD = 256 * 1_048_576;
/** How long a message whose record cannot be read waits before it is read again. */
const UNREADABLE_WAIT_MS = 60_000;

export interface FileLogOptions {
  /** The directory the outbox owns (created if missing). */
  directory: string;
  /** A segment is closed for appends once it is this large (64 MiB). */
  segmentBytes?: number;
  /** The oldest segment's waiting messages are moved once they are at most this share of it (0.25). */
  compactBelow?: number;
  /** fsync each batch (true). Off only for measuring what the fsync costs. */
  fsync?: boolean;
  /** A waiting message whose record could not be read (the error's code): it is read again in a minute. */
  onUnreadable?: (code: string) => void;
  /** Damage found while replaying a segment that is not the last: reported, the rest skipped. */
  onDamage?: (file: string, offset: number, reason: string) => void;
  /**
   * A batch of `records` writes was refused (the error's code: ENOSPC, EIO, …); each of their
   * callers gets the error too. Called for every refused batch.
   */
  onRefused?: (code: string, records: number) => void;
  /** The first batch written after one or more were refused: the storage takes writes again. */
  onWritable?: () => void;
}

interface Segment {
  no: number;
  file: string;
  fd: number;
  size: number;
  live: number;
  liveBytes: number;
}

interface Pending {
  buffer: Buffer;
  /** Runs once the record is on disk, before the promise resolves; gets where it went. */
  written?: (segment: Segment, offset: number) => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

const LEASE = Symbol('lease');
interface LeasedMessage extends StoredMessage {
  readonly [LEASE]: { slot: number; seq: number };
}

export class FileLog implements OutboxStorage {
  static async open(options: FileLogOptions): Promise<FileLog> {
    const log = new FileLog(options);
    await log.replay();
    return log;
  }

  private readonly directory: string;
  private readonly segmentBytes: number;
  private readonly compactBelow: number;
  private readonly fsyncEach: boolean;
  private readonly segments = new Map<number, Segment>();
  private current!: Segment;

  // the index: one row (slot) per waiting message
  private capacity = 0;
  private seqs = new Float64Array(0);
  private segs = new Uint32Array(0);
  private offsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private enqueued = new Float64Array(0);
  private nexts = new Float64Array(0);
  private attemptsOf = new Uint32Array(0);
  private keys = new Uint32Array(0);
  /** The previous and next slot of the same key in seq order (-1: none). */
  private prevOfKey = new Int32Array(0);
  private nextOfKey = new Int32Array(0);
  private flags = new Uint8Array(0);
  /** Where each slot is in the heap, -1 if not there. */
  private heapPos = new Int32Array(0);
  /**
   * Slots that may be handed out (not in flight, not being written, and not held back by an
   * older message of their key), earliest nextAt first (then seq).
   */
  private heap = new Int32Array(0);
  private heapSize = 0;
  private free = new Int32Array(0);
  private freeCount = 0;
  private highWater = 0;
  private occupied = 0;
  private leased = 0;
  private nextSeq = 1;
  private oldestSlot = -1;
  private oldestDirty = true;
  /** Per order key, the oldest and newest waiting slot: the chain runs through prev/nextOfKey. */
  private readonly keyHeads = new Map<number, number>();
  private readonly keyTails = new Map<number, number>();
  /** Per order key, how many waiting slots it has (`soleKey`). */
  private readonly keyCounts = new Map<number, number>();

  private queue: Pending[] = [];
  /** Reads of leased messages in progress: a segment is not closed under them. */
  private reading = 0;
  private writing = false;
  /** A refused batch could not be cut off the current segment: the next batch starts a new one. */
  private sealed = false;
  /** The last batch was refused (for onWritable). */
  private refusing = false;
  private compaction: Promise<void> | undefined;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  private constructor(private readonly options: FileLogOptions) {
    this.directory = options.directory;
    this.segmentBytes = options.segmentBytes ?? 64 * 1_048_576;
    this.compactBelow = options.compactBelow ?? 0.25;
    this.fsyncEach = options.fsync ?? true;
  }

  // --- the interface -------------------------------------------------------------------------

  append(msg: StoredMsg, now: number, key = 0): Promise<StoredMessage> {
    if (this.closed) return Promise.reject(new Error('outbox storage is closed'));
    const id = randomUUID();
    const seq = this.nextSeq++;
    const slot = this.allocate();
    this.seqs[slot] = seq;
    this.enqueued[slot] = now;
    this.nexts[slot] = now;
    this.attemptsOf[slot] = 0;
    this.flags[slot] = OCCUPIED | WRITING;
    this.segs[slot] = 0;
    this.keys[slot] = key >>> 0;
    this.linkLast(slot);
    this.occupied++;
    if (this.oldestSlot < 0 && !this.oldestDirty) this.oldestSlot = slot;
    let record: Buffer;
    try {
      record = putRecord(slot, seq, now, now, 0, key >>> 0, JSON.stringify({ id, msg }));
      // the replay would read a larger one as damage and cut the log there
      if (record.length > MAX_RECORD) throw new Error(`the message is too large to store (${record.length} bytes, at most ${MAX_RECORD})`);
    } catch (error) {
      this.release(slot);
      return Promise.reject(error as Error);
    }
    const stored: StoredMessage = { id, enqueuedAt: now, attempts: 0, nextAt: now, msg };
    return this.write(record, (segment, offset) => this.landed(slot, seq, segment, offset, record.length)).then(
      () => stored,
      (error: Error) => {
        if (this.holds(slot, seq)) this.release(slot);
        throw error;
      },
    );
  }

  async lease(now: number, limit: number): Promise<StoredMessage[]> {
    const taken: Array<{ slot: number; seq: number }> = [];
    while (taken.length < limit && this.heapSize > 0 && this.nexts[this.heap[0]] <= now) {
      const slot = this.heap[0];
      this.heapRemove(slot);
      this.flags[slot] |= LEASED;
      this.leased++;
      taken.push({ slot, seq: this.seqs[slot] });
    }
    this.reading++;
    let read: Array<PromiseSettledResult<StoredMessage>>;
    try {
      read = await Promise.allSettled(taken.map(({ slot, seq }) => this.readMessage(slot, seq)));
    } finally {
      this.reading--;
    }
    // one that cannot be read (an I/O error, a damaged record) waits a minute and is tried again,
    // without holding back the others of the batch
    const messages: StoredMessage[] = [];
    let failure: unknown;
    read.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        messages.push(result.value);
        return;
      }
      failure ??= result.reason;
      const { slot, seq } = taken[index];
      if (!this.holds(slot, seq) || !(this.flags[slot] & LEASED)) return;
      this.flags[slot] &= ~LEASED;
      this.leased--;
      this.nexts[slot] = now + UNREADABLE_WAIT_MS;
      this.offer(slot);
    });
    if (failure !== undefined) {
      this.options.onUnreadable?.(errorCode(failure));
      if (messages.length === 0) throw failure;
    }
    return messages;
  }

  settle(message: StoredMessage, outcome: Settlement): Promise<void> {
    const lease = (message as LeasedMessage)[LEASE];
    if (!lease || !this.holds(lease.slot, lease.seq) || !(this.flags[lease.slot] & LEASED)) {
      return Promise.reject(new Error(`outbox message ${message.id} is not in flight`));
    }
    const { slot, seq } = lease;
    this.flags[slot] &= ~LEASED;
    this.leased--;
    if ('ok' in outcome && outcome.ok) {
      this.release(slot);
      return this.write(smallRecord(DELIVERED, slot, seq, 0, ''));
    }
    if ('dead' in outcome) {
      this.release(slot);
      return this.write(smallRecord(DEAD, slot, seq, 0, JSON.stringify({ error: outcome.error })));
    }
    const attempts = this.attemptsOf[slot] + 1;
    this.attemptsOf[slot] = attempts;
    this.nexts[slot] = outcome.nextAt;
    this.flags[slot] |= WRITING;
    const body = JSON.stringify({ id: message.id, lastError: outcome.error, msg: message.msg });
    const record = putRecord(slot, seq, this.enqueued[slot], outcome.nextAt, attempts, this.keys[slot], body);
    return this.write(record, (segment, offset) => this.landed(slot, seq, segment, offset, record.length)).catch((error: unknown) => {
      // not written (a failing disk): it waits with the state in memory, which is the newer one;
      // a restart before the next write finds the older record, one attempt fewer
      if (this.holds(slot, seq) && this.flags[slot] & WRITING) {
        this.flags[slot] &= ~WRITING;
        this.offer(slot);
      }
      throw error;
    });
  }

  soleKey(message: StoredMessage): boolean {
    const lease = (message as LeasedMessage)[LEASE];
    if (!lease || !this.holds(lease.slot, lease.seq)) return false;
    const key = this.keys[lease.slot];
    return key !== 0 && this.keyCounts.get(key) === this.occupied;
  }

  unblock(message: StoredMessage): void {
    const lease = (message as LeasedMessage)[LEASE];
    if (!lease || !this.holds(lease.slot, lease.seq)) return;
    const slot = lease.slot;
    if (this.flags[slot] & UNBLOCKED || this.keys[slot] === 0) return;
    const wasGate = this.gate(this.keys[slot]) === slot;
    this.flags[slot] |= UNBLOCKED;
    this.offer(slot);
    if (wasGate) this.offerGate(this.keys[slot]);
  }

  retryAll(now: number): Promise<void> {
    this.applyRetryAll(now);
    return this.write(smallRecord(RETRY_ALL, 0, 0, now, ''));
  }

  nextDue(): number | undefined {
    return this.heapSize > 0 ? this.nexts[this.heap[0]] : undefined;
  }

  stats(): StorageStats {
    if (this.oldestDirty) this.findOldest();
    return {
      count: this.occupied,
      leased: this.leased,
      ...(this.oldestSlot >= 0 && { oldestEnqueuedAt: this.enqueued[this.oldestSlot] }),
      ...(this.heapSize > 0 && { nextAt: this.nexts[this.heap[0]] }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing || this.compaction) await (this.compaction ?? this.idle);
    for (const segment of this.segments.values()) fs.closeSync(segment.fd);
    this.segments.clear();
  }

  // --- the index -----------------------------------------------------------------------------

  private holds(slot: number, seq: number): boolean {
    return slot < this.highWater && (this.flags[slot] & OCCUPIED) !== 0 && this.seqs[slot] === seq;
  }

  private allocate(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount];
    if (this.highWater === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    return this.highWater++;
  }

  /**
   * Every column in one ArrayBuffer, 65 bytes a slot: each larger generation is one allocation
   * above glibc's mmap threshold, so the one it replaces goes back to the system when freed
   * (columns of their own left about 60 MiB of freed generations in RSS at 1,000,000 slots).
   */
  private grow(capacity: number): void {
    const memory = new ArrayBuffer(capacity * 65);
    let at = 0;
    const column = <T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(
      old: T,
      make: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
    ): T => {
      const next = new make(memory, at, capacity);
      at += capacity * make.BYTES_PER_ELEMENT;
      next.set(old);
      return next;
    };
    this.seqs = column(this.seqs, Float64Array);
    this.enqueued = column(this.enqueued, Float64Array);
    this.nexts = column(this.nexts, Float64Array);
    this.segs = column(this.segs, Uint32Array);
    this.offsets = column(this.offsets, Uint32Array);
    this.lengths = column(this.lengths, Uint32Array);
    this.attemptsOf = column(this.attemptsOf, Uint32Array);
    this.keys = column(this.keys, Uint32Array);
    this.prevOfKey = column(this.prevOfKey, Int32Array);
    this.nextOfKey = column(this.nextOfKey, Int32Array);
    const heapPos = column(this.heapPos, Int32Array);
    heapPos.fill(-1, this.capacity);
    this.heapPos = heapPos;
    this.heap = column(this.heap, Int32Array);
    this.free = column(this.free, Int32Array);
    this.flags = column(this.flags, Uint8Array);
    this.capacity = capacity;
  }

  /** The slot's message is gone (delivered, dead, or never written). */
  private release(slot: number): void {
    const segment = this.segments.get(this.segs[slot]);
    if (segment && this.segs[slot] !== 0) {
      segment.live--;
      segment.liveBytes -= this.lengths[slot];
    }
    if (this.heapPos[slot] >= 0) this.heapRemove(slot);
    if (this.flags[slot] & LEASED) this.leased--;
    const key = this.keys[slot];
    if (key !== 0) {
      const wasGate = this.gate(key) === slot;
      this.unlink(slot);
      if (wasGate) this.offerGate(key);
    }
    this.flags[slot] = 0;
    this.segs[slot] = 0;
    this.free[this.freeCount++] = slot;
    this.occupied--;
    if (slot === this.oldestSlot) {
      this.oldestSlot = -1;
      this.oldestDirty = true;
    }
  }

  /** A put of (slot, seq) is on disk at `offset` of `segment` (`moved`: a copy made by compaction). */
  private landed(slot: number, seq: number, segment: Segment, offset: number, length: number, moved = false): void {
    if (!this.holds(slot, seq)) return;
    const old = this.segments.get(this.segs[slot]);
    if (old && this.segs[slot] !== 0) {
      old.live--;
      old.liveBytes -= this.lengths[slot];
    }
    this.segs[slot] = segment.no;
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    segment.live++;
    segment.liveBytes += length;
    if (moved) return;
    const wasWriting = (this.flags[slot] & WRITING) !== 0;
    this.flags[slot] &= ~WRITING;
    if (wasWriting) this.offer(slot);
  }

  // --- order per key: a message waits while an older one of its key waits (unless unblocked) ---

  /** The slot of `key` that may go out now: its oldest waiting one that is not unblocked. */
  private gate(key: number): number {
    let slot = this.keyHeads.get(key) ?? -1;
    while (slot >= 0 && this.flags[slot] & UNBLOCKED) slot = this.nextOfKey[slot];
    return slot;
  }

  private mayGo(slot: number): boolean {
    const key = this.keys[slot];
    return key === 0 || (this.flags[slot] & UNBLOCKED) !== 0 || this.gate(key) === slot;
  }

  /** Puts the slot into the heap if it may be handed out. */
  private offer(slot: number): void {
    if ((this.flags[slot] & (OCCUPIED | LEASED | WRITING)) !== OCCUPIED || this.heapPos[slot] >= 0) return;
    if (this.mayGo(slot)) this.heapPush(slot);
  }

  private offerGate(key: number): void {
    const gate = this.gate(key);
    if (gate >= 0) this.offer(gate);
  }

  /** Appends the slot to its key's chain (slots are linked in seq order). */
  private linkLast(slot: number): void {
    const key = this.keys[slot];
    this.prevOfKey[slot] = -1;
    this.nextOfKey[slot] = -1;
    if (key === 0) return;
    this.keyCounts.set(key, (this.keyCounts.get(key) ?? 0) + 1);
    const tail = this.keyTails.get(key);
    if (tail === undefined) {
      this.keyHeads.set(key, slot);
    } else {
      this.nextOfKey[tail] = slot;
      this.prevOfKey[slot] = tail;
    }
    this.keyTails.set(key, slot);
  }

  private unlink(slot: number): void {
    const key = this.keys[slot];
    const count = (this.keyCounts.get(key) ?? 1) - 1;
    if (count > 0) this.keyCounts.set(key, count);
    else this.keyCounts.delete(key);
    const prev = this.prevOfKey[slot];
    const next = this.nextOfKey[slot];
    if (prev >= 0) this.nextOfKey[prev] = next;
    else if (next >= 0) this.keyHeads.set(key, next);
    else this.keyHeads.delete(key);
    if (next >= 0) this.prevOfKey[next] = prev;
    else if (prev >= 0) this.keyTails.set(key, prev);
    else this.keyTails.delete(key);
    this.prevOfKey[slot] = -1;
    this.nextOfKey[slot] = -1;
  }

  /** After a replay: every keyed waiting slot into its chain, in seq order. */
  private linkAll(): void {
    this.keyHeads.clear();
    this.keyTails.clear();
    this.keyCounts.clear();
    let count = 0;
    for (let slot = 0; slot < this.highWater; slot++) if (this.flags[slot] & OCCUPIED && this.keys[slot] !== 0) count++;
    if (count === 0) return;
    const slots = new Int32Array(count);
    let at = 0;
    for (let slot = 0; slot < this.highWater; slot++) if (this.flags[slot] & OCCUPIED && this.keys[slot] !== 0) slots[at++] = slot;
    const seqs = this.seqs;
    slots.sort((a, b) => seqs[a] - seqs[b]);
    for (const slot of slots) this.linkLast(slot);
  }

  private findOldest(): void {
    let best = -1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.flags[slot] & OCCUPIED && (best < 0 || this.seqs[slot] < this.seqs[best])) best = slot;
    }
    this.oldestSlot = best;
    this.oldestDirty = false;
  }

  private applyRetryAll(now: number): void {
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.flags[slot] & OCCUPIED && !(this.flags[slot] & LEASED)) this.nexts[slot] = now;
    }
    this.heapify();
  }

  // a binary min-heap of slots by (nextAt, seq), with each slot's position for removal
  private before(a: number, b: number): boolean {
    const na = this.nexts[a];
    const nb = this.nexts[b];
    return na < nb || (na === nb && this.seqs[a] < this.seqs[b]);
  }

  private heapPush(slot: number): void {
    this.heap[this.heapSize] = slot;
    this.heapPos[slot] = this.heapSize;
    this.heapSize++;
    this.siftUp(this.heapSize - 1);
  }

  private heapRemove(slot: number): void {
    const at = this.heapPos[slot];
    this.heapPos[slot] = -1;
    const last = this.heap[--this.heapSize];
    if (at === this.heapSize) return;
    this.heap[at] = last;
    this.heapPos[last] = at;
    this.siftDown(at);
    this.siftUp(this.heapPos[last]);
  }

  private siftUp(at: number): void {
    const heap = this.heap;
    const slot = heap[at];
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(slot, heap[parent])) break;
      heap[at] = heap[parent];
      this.heapPos[heap[at]] = at;
      at = parent;
    }
    heap[at] = slot;
    this.heapPos[slot] = at;
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const slot = heap[at];
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.heapSize) break;
      if (child + 1 < this.heapSize && this.before(heap[child + 1], heap[child])) child++;
      if (!this.before(heap[child], slot)) break;
      heap[at] = heap[child];
      this.heapPos[heap[at]] = at;
      at = child;
    }
    heap[at] = slot;
    this.heapPos[slot] = at;
  }

  private heapify(): void {
    this.heapSize = 0;
    for (let slot = 0; slot < this.highWater; slot++) {
      this.heapPos[slot] = -1;
      if ((this.flags[slot] & (OCCUPIED | LEASED | WRITING)) === OCCUPIED && this.mayGo(slot)) {
        this.heap[this.heapSize] = slot;
        this.heapPos[slot] = this.heapSize++;
      }
    }
    for (let at = (this.heapSize >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }

  // --- reading -------------------------------------------------------------------------------

  private async readMessage(slot: number, seq: number): Promise<StoredMessage> {
    const segment = this.segments.get(this.segs[slot]);
    if (!segment) throw new Error(`outbox: segment ${this.segs[slot]} of message ${seq} is missing`);
    const length = this.lengths[slot];
    const buffer = Buffer.allocUnsafe(length);
    await readExactly(segment.fd, buffer, this.offsets[slot]);
    const body = JSON.parse(buffer.toString('utf8', HEADER)) as { id: string; lastError?: string; msg: StoredMsg };
    // the state as the index has it (a retry-all changes nextAt without rewriting the message)
    const message = {
      id: body.id,
      enqueuedAt: this.enqueued[slot],
      attempts: this.attemptsOf[slot],
      nextAt: this.nexts[slot],
      ...(body.lastError !== undefined && { lastError: body.lastError }),
      msg: body.msg,
      [LEASE]: { slot, seq },
    };
    return message;
  }

  // --- writing: group commit -----------------------------------------------------------------

  private write(buffer: Buffer, written?: Pending['written']): Promise<void> {
    // once closed and the last batch is out, the files are closed: their descriptors may already
    // belong to something else
    if (this.closed && !this.writing) return Promise.reject(new Error('outbox storage is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffer, written, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  /** Runs after every record enqueued so far is on disk. */
  private barrier(then: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffer: Buffer.alloc(0), written: () => then(), resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    this.idle = new Promise((resolve) => { this.markIdle = resolve; });
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        try {
          if (this.sealed || this.current.size >= this.segmentBytes) await this.roll();
          const segment = this.current;
          const start = segment.size;
          const data = batch.length === 1 ? batch[0].buffer : Buffer.concat(batch.map((entry) => entry.buffer));
          if (data.length) {
            try {
              await writeExactly(segment.fd, data, start);
              if (this.fsyncEach) await fdatasync(segment.fd);
            } catch (error) {
              // before any caller hears of it: a kill meanwhile leaves a batch nobody was answered for
              await this.cutBack(segment, start);
              throw error;
            }
            segment.size = start + data.length;
          }
          let offset = start;
          for (const entry of batch) {
            entry.written?.(segment, offset);
            offset += entry.buffer.length;
          }
          if (data.length && this.refusing) {
            this.refusing = false;
            this.options.onWritable?.();
          }
          for (const entry of batch) entry.resolve();
        } catch (error) {
          this.refusing = true;
          this.options.onRefused?.(errorCode(error), batch.filter((entry) => entry.buffer.length > 0).length);
          for (const entry of batch) entry.reject(error as Error);
        }
        this.maybeCompact();
      }
    } finally {
      this.writing = false;
      this.markIdle();
    }
  }

  /**
   * Cuts a refused batch off the segment (see "A refused write" above). If that fails, the
   * segment is sealed: the next batch starts a new segment, which says where this one ends.
   */
  private async cutBack(segment: Segment, start: number): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => fs.ftruncate(segment.fd, start, (error) => (error ? reject(error) : resolve())));
      // the shorter size durable too, or a power cut could bring the refused bytes back
      if (this.fsyncEach) await fdatasync(segment.fd);
    } catch {
      this.sealed = true;
    }
  }

  private async roll(): Promise<void> {
    const previous = this.current;
    const no = previous.no + 1;
    const file = path.join(this.directory, segmentName(no));
    const fd = await new Promise<number>((resolve, reject) => fs.open(file, 'w+', FILE_MODE, (error, opened) => (error ? reject(error) : resolve(opened))));
    // fsynced with the batch that follows; its last field: where the previous segment ends, which
    // a replay reads that far only (past it may lie a refused batch that could not be cut off)
    const start = smallRecord(SEGMENT_START, this.highWater, this.nextSeq - 1, 0, '', previous.size);
    try {
      // the file may be left from a roll that failed half-way: 'w+' keeps its mode
      fs.fchmodSync(fd, FILE_MODE);
      fsyncDirectory(this.directory);
      await writeExactly(fd, start, 0);
    } catch (error) {
      // a full disk: no half-made segment is left behind (a replay would take it for the last)
      fs.closeSync(fd);
      try {
        fs.unlinkSync(file);
      } catch {
        // the next roll opens it with 'w+' again, which empties it
      }
      throw error;
    }
    const segment: Segment = { no, file, fd, size: start.length, live: 0, liveBytes: 0 };
    this.segments.set(no, segment);
    this.current = segment;
    this.sealed = false;
  }

  // --- compaction: only the oldest segment, and only once little of it is still waiting -------

  private oldestSegment(): Segment | undefined {
    let oldest: Segment | undefined;
    for (const segment of this.segments.values()) if (!oldest || segment.no < oldest.no) oldest = segment;
    return oldest;
  }

  private maybeCompact(): void {
    if (this.compaction || this.closed) return;
    const oldest = this.oldestSegment();
    if (!oldest || oldest === this.current) return;
    if (oldest.live > 0 && oldest.liveBytes > oldest.size * this.compactBelow) return;
    this.compaction = this.compact(oldest)
      .catch(() => false)
      .then((removed) => {
        this.compaction = undefined;
        // the next segment may be ready too; without progress, wait for the next batch
        if (removed && !this.closed && !this.writing) this.maybeCompact();
      });
  }

  /** Moves the segment's waiting messages to the end of the log and removes it; false if it could not yet. */
  private async compact(segment: Segment): Promise<boolean> {
    const moves: Array<Promise<void>> = [];
    if (segment.live > 0) {
      const slots: number[] = [];
      for (let slot = 0; slot < this.highWater; slot++) {
        if (this.flags[slot] & OCCUPIED && this.segs[slot] === segment.no) slots.push(slot);
      }
      for (const slot of slots) {
        const seq = this.seqs[slot];
        if (this.flags[slot] & WRITING) continue; // its newer put moves it anyway
        const record = Buffer.allocUnsafe(this.lengths[slot]);
        await readExactly(segment.fd, record, this.offsets[slot]);
        // the state may have changed while reading; the body (id, lastError, msg) has not
        if (!this.holds(slot, seq) || this.segs[slot] !== segment.no || this.flags[slot] & WRITING) continue;
        writeHeader(record, PUT, slot, seq, this.enqueued[slot], this.nexts[slot], this.attemptsOf[slot], this.keys[slot]);
        const move = this.write(record, (to, offset) => this.landed(slot, seq, to, offset, record.length, true));
        // a move refused (a full disk) while this loop still reads the next one must not be a
        // rejection nobody handles yet (the process would end): Promise.all below reports it
        move.catch(() => undefined);
        moves.push(move);
      }
      await Promise.all(moves);
      if (segment.live > 0) return false; // a message was being rewritten: try again later
    }
    // every record that emptied it (and every move) is on disk once this barrier is
    await this.barrier(() => {});
    if (segment.live > 0 || this.closed || this.reading > 0) return false;
    this.segments.delete(segment.no);
    fs.closeSync(segment.fd);
    fs.unlinkSync(segment.file);
    return true;
  }

  // --- opening: replay ------------------------------------------------------------------------

  private async replay(): Promise<void> {
    fs.mkdirSync(this.directory, { recursive: true, mode: DIRECTORY_MODE });
    // the mode asked of mkdir passes through the umask, and an existing directory keeps its own
    if ((fs.statSync(this.directory).mode & 0o777) !== DIRECTORY_MODE) fs.chmodSync(this.directory, DIRECTORY_MODE);
    const numbers = fs
      .readdirSync(this.directory)
      .map((name) => SEGMENT_PATTERN.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    let maxSeq = 0;
    // one read buffer for every segment (one each left 8 MiB apiece for the collector, and glibc
    // sometimes kept 50 MiB of them in RSS)
    const reader = { chunk: Buffer.allocUnsafe(READ_CHUNK) };
    // one allocation of the index at about its final size (each doubling on the way would leave
    // its predecessor to glibc, which may keep it in RSS: 180 instead of 105 MiB at 1,000,000)
    if (numbers.length) this.presize(path.join(this.directory, segmentName(numbers[numbers.length - 1])));
    for (const [index, no] of numbers.entries()) {
      const file = path.join(this.directory, segmentName(no));
      const fd = fs.openSync(file, 'r+');
      if ((fs.fstatSync(fd).mode & 0o777) !== FILE_MODE) fs.fchmodSync(fd, FILE_MODE);
      const segment: Segment = { no, file, fd, size: 0, live: 0, liveBytes: 0 };
      this.segments.set(no, segment);
      const last = index === numbers.length - 1;
      // where the next segment says this one ends: past it lies a refused batch, never read
      const limit = last ? undefined : readStart(path.join(this.directory, segmentName(numbers[index + 1])))?.previousEnd;
      const end = this.replaySegment(segment, reader, (seq) => { if (seq > maxSeq) maxSeq = seq; }, limit);
      const size = fs.fstatSync(fd).size;
      if (last && end < size) {
        fs.ftruncateSync(fd, end);
      } else if (limit !== undefined && limit < size) {
        try {
          fs.ftruncateSync(fd, limit); // only frees the space: the limit holds without it
        } catch {
          // left as it is
        }
      }
      segment.size = end;
      // a segment at a time, then the event loop's turn: a Node-RED starting on a long queue goes
      // on creating its other nodes and answering their requests meanwhile
      if (!last) await new Promise((resolve) => setImmediate(resolve));
    }
    if (numbers.length === 0) {
      const file = path.join(this.directory, segmentName(1));
      const segment: Segment = { no: 1, file, fd: fs.openSync(file, 'w+', FILE_MODE), size: 0, live: 0, liveBytes: 0 };
      fs.fchmodSync(segment.fd, FILE_MODE);
      fsyncDirectory(this.directory);
      this.segments.set(1, segment);
    }
    this.current = this.segments.get(numbers.length ? numbers[numbers.length - 1] : 1)!;
    this.nextSeq = maxSeq + 1;
    this.freeCount = 0;
    for (let slot = this.highWater - 1; slot >= 0; slot--) if (!(this.flags[slot] & OCCUPIED)) this.free[this.freeCount++] = slot;
    this.linkAll();
    this.heapify();
    this.oldestDirty = true;
  }

  private presize(file: string): void {
    const rows = readStart(file)?.rows ?? 0;
    // the rows used by the time the segment began, and room for what it added
    if (rows > 1024) this.grow(Math.ceil((rows * 1.1) / 1024) * 1024);
  }

  /** Applies one segment's records, up to `limit` bytes; returns where its last whole record ends. */
  private replaySegment(segment: Segment, reader: { chunk: Buffer }, sawSeq: (seq: number) => void, limit = Infinity): number {
    const size = Math.min(fs.fstatSync(segment.fd).size, limit);
    let chunk = reader.chunk;
    let chunkStart = 0; // file offset of chunk[0]
    let chunkEnd = 0; // valid bytes in chunk
    let at = 0; // file offset of the next record
    const damaged = (reason: string): number => {
      this.options.onDamage?.(segment.file, at, reason);
      return at;
    };
    while (at < size) {
      if (at + HEADER > size) return damaged('a torn header at the end');
      if (at + HEADER > chunkStart + chunkEnd) {
        ({ chunk, chunkStart, chunkEnd } = refill(segment.fd, chunk, at, HEADER, size));
      }
      const length = chunk.readUInt32LE(at - chunkStart);
      if (length < HEADER || length > MAX_RECORD) return damaged(`a record length of ${length}`);
      if (at + length > size) return damaged('a torn record at the end');
      if (at + length > chunkStart + chunkEnd) {
        ({ chunk, chunkStart, chunkEnd } = refill(segment.fd, chunk, at, length, size));
      }
      const record = chunk.subarray(at - chunkStart, at - chunkStart + length);
      if (crc32(record.subarray(8)) !== record.readUInt32LE(4)) return damaged('a checksum that does not match');
      this.apply(record, segment, at, sawSeq);
      at += length;
    }
    return at;
  }

  private apply(record: Buffer, segment: Segment, offset: number, sawSeq: (seq: number) => void): void {
    const type = record[8];
    const slot = record.readUInt32LE(12);
    const seq = record.readDoubleLE(16);
    if (type === SEGMENT_START) {
      sawSeq(seq);
      return;
    }
    if (type === RETRY_ALL) {
      const now = record.readDoubleLE(24);
      for (let row = 0; row < this.highWater; row++) if (this.flags[row] & OCCUPIED) this.nexts[row] = now;
      return;
    }
    sawSeq(seq);
    if (type === PUT) {
      while (slot >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
      if (slot >= this.highWater) this.highWater = slot + 1;
      // a later put of the same seq (a failure, a move) replaces the earlier one; one of an older
      // seq than the slot's message can only be a refused write an earlier release left past
      // the end of the log, which a later append overwrote only in part: the newer message stays
      if (this.flags[slot] & OCCUPIED && this.seqs[slot] > seq) return;
      if (this.flags[slot] & OCCUPIED) {
        const old = this.segments.get(this.segs[slot]);
        if (old) {
          old.live--;
          old.liveBytes -= this.lengths[slot];
        }
      } else {
        this.occupied++;
      }
      this.flags[slot] = OCCUPIED;
      this.seqs[slot] = seq;
      this.segs[slot] = segment.no;
      this.offsets[slot] = offset;
      this.lengths[slot] = record.length;
      this.enqueued[slot] = record.readDoubleLE(24);
      this.nexts[slot] = record.readDoubleLE(32);
      this.attemptsOf[slot] = record.readUInt32LE(40);
      this.keys[slot] = record.readUInt32LE(44);
      segment.live++;
      segment.liveBytes += record.length;
    } else if ((type === DELIVERED || type === DEAD) && slot < this.highWater && this.holds(slot, seq)) {
      const old = this.segments.get(this.segs[slot]);
      if (old) {
        old.live--;
        old.liveBytes -= this.lengths[slot];
      }
      this.flags[slot] = 0;
      this.occupied--;
    }
  }
}

// --- records and files ---------------------------------------------------------------------------

function writeHeader(record: Buffer, type: number, slot: number, seq: number, a: number, b: number, attempts: number, key = 0): void {
  record.writeUInt32LE(record.length, 0);
  record.writeUInt32LE(type, 8); // type and three zero bytes
  record.writeUInt32LE(slot, 12);
  record.writeDoubleLE(seq, 16);
  record.writeDoubleLE(a, 24);
  record.writeDoubleLE(b, 32);
  record.writeUInt32LE(attempts, 40);
  record.writeUInt32LE(key, 44);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
}

function putRecord(slot: number, seq: number, enqueuedAt: number, nextAt: number, attempts: number, key: number, body: string): Buffer {
  const record = Buffer.allocUnsafe(HEADER + Buffer.byteLength(body));
  record.write(body, HEADER, 'utf8');
  writeHeader(record, PUT, slot, seq, enqueuedAt, nextAt, attempts, key);
  return record;
}

function smallRecord(type: number, slot: number, seq: number, time: number, body: string, previousEnd?: number): Buffer {
  const record = Buffer.allocUnsafe(HEADER + Buffer.byteLength(body));
  record.write(body, HEADER, 'utf8');
  if (previousEnd === undefined) writeHeader(record, type, slot, seq, time, 0, 0);
  else writeHeader(record, type, slot, seq, previousEnd, 1, 0);
  return record;
}

/**
 * The segment start record at the head of `file`: the index's rows in use then, and where the
 * previous segment ends (undefined in logs written before that was recorded); undefined if the
 * file does not begin with a whole one.
 */
function readStart(file: string): { rows: number; previousEnd?: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const first = Buffer.alloc(HEADER);
    if (fs.readSync(fd, first, 0, HEADER, 0) < HEADER || first[8] !== SEGMENT_START) return undefined;
    if (first.readUInt32LE(0) !== HEADER || crc32(first.subarray(8)) !== first.readUInt32LE(4)) return undefined;
    const rows = first.readUInt32LE(12);
    return first.readDoubleLE(32) === 1 ? { rows, previousEnd: first.readDoubleLE(24) } : { rows };
  } finally {
    fs.closeSync(fd);
  }
}

function segmentName(no: number): string {
  return `seg-${String(no).padStart(8, '0')}.log`;
}

/** A chunk that holds `bytes` bytes from file offset `at` (read synchronously: replay only). */
function refill(fd: number, chunk: Buffer, at: number, bytes: number, size: number): { chunk: Buffer; chunkStart: number; chunkEnd: number } {
  const next = bytes > chunk.length ? Buffer.allocUnsafe(bytes) : chunk;
  const want = Math.min(next.length, size - at);
  let got = 0;
  while (got < want) {
    const n = fs.readSync(fd, next, got, want - got, at + got);
    if (n === 0) break;
    got += n;
  }
  return { chunk: next, chunkStart: at, chunkEnd: got };
}

function readExactly(fd: number, buffer: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === buffer.length) return resolve();
      fs.read(fd, buffer, done, buffer.length - done, position + done, (error, n) => {
        if (error) return reject(error);
        if (n === 0) return reject(new Error('outbox: a record ends past the end of its segment'));
        step(done + n);
      });
    };
    step(0);
  });
}

function writeExactly(fd: number, buffer: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === buffer.length) return resolve();
      fs.write(fd, buffer, done, buffer.length - done, position + done, (error, n) => (error ? reject(error) : step(done + n)));
    };
    step(0);
  });
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Makes a new segment's name durable (after a power cut, not only a killed process). */
function fsyncDirectory(directory: string): void {
  const fd = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
