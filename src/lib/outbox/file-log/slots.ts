import { Columns } from '../columns';

/**
 * The file log's index: where each stored message's latest put lies (segment, offset, length),
 * its seq and its nextAt, one row (slot) per stored message in typed arrays, about 33 bytes a
 * message whatever its size (the messages themselves stay on disk). Nothing here schedules: the
 * order, what is due and each patient's turn are the queue's (../schedule.ts), which keeps its own
 * row per message under the same number.
 */

/** The slot holds a message. */
export const OCCUPIED = 1;
/** The slot's latest put is not on disk yet: compaction leaves it, its new put moves it anyway. */
export const WRITING = 2;

export interface Segment {
  no: number;
  file: string;
  fd: number;
  size: number;
  /** Messages whose latest put lies in this segment, and those puts' bytes. */
  live: number;
  liveBytes: number;
}

/** What only a replay needs of each slot (the header of its latest put), dropped once handed over. */
export interface ReplayColumns {
  enqueued: Float64Array;
  attempts: Uint32Array;
  keys: Uint32Array;
}

export class Slots {
  readonly segments = new Map<number, Segment>();
  capacity = 0;
  seqs = new Float64Array(0);
  nexts = new Float64Array(0);
  segs = new Uint32Array(0);
  offsets = new Uint32Array(0);
  lengths = new Uint32Array(0);
  flags = new Uint8Array(0);
  private free = new Int32Array(0);
  private freeCount = 0;
  highWater = 0;
  /** The state of each slot's put as a replay read it, until `dropReplay`. */
  replay: ReplayColumns | undefined;

  holds(slot: number, seq: number): boolean {
    return slot < this.highWater && (this.flags[slot] & OCCUPIED) !== 0 && this.seqs[slot] === seq;
  }

  allocate(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount];
    if (this.highWater === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    return this.highWater++;
  }

  /** Makes room for `slot` (a replay reads slots in any order). */
  reach(slot: number): void {
    while (slot >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    if (slot >= this.highWater) this.highWater = slot + 1;
  }

  /** After a replay: every slot below the high water that holds nothing is free. */
  collectFree(): void {
    this.freeCount = 0;
    for (let slot = this.highWater - 1; slot >= 0; slot--) if (!(this.flags[slot] & OCCUPIED)) this.free[this.freeCount++] = slot;
  }

  /** Every column in one ArrayBuffer (see Columns). */
  grow(capacity: number): void {
    const columns = new Columns(capacity, 8 + 8 + 4 + 4 + 4 + 4 + 1);
    this.seqs = columns.next(this.seqs, Float64Array);
    this.nexts = columns.next(this.nexts, Float64Array);
    this.segs = columns.next(this.segs, Uint32Array);
    this.offsets = columns.next(this.offsets, Uint32Array);
    this.lengths = columns.next(this.lengths, Uint32Array);
    this.free = columns.next(this.free, Int32Array);
    this.flags = columns.next(this.flags, Uint8Array);
    if (this.replay) {
      const more = new Columns(capacity, 8 + 4 + 4);
      this.replay = {
        enqueued: more.next(this.replay.enqueued, Float64Array),
        attempts: more.next(this.replay.attempts, Uint32Array),
        keys: more.next(this.replay.keys, Uint32Array),
      };
    }
    this.capacity = capacity;
  }

  startReplay(): void {
    this.replay = { enqueued: new Float64Array(this.capacity), attempts: new Uint32Array(this.capacity), keys: new Uint32Array(this.capacity) };
  }

  dropReplay(): void {
    this.replay = undefined;
  }

  /** The slot's latest put now lies at `offset` of `segment`. */
  place(slot: number, segment: Segment, offset: number, length: number): void {
    this.unplace(slot);
    this.segs[slot] = segment.no;
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    segment.live++;
    segment.liveBytes += length;
  }

  /** The slot's put no longer counts towards its segment (gone, or placed elsewhere). */
  unplace(slot: number): void {
    const segment = this.segs[slot] === 0 ? undefined : this.segments.get(this.segs[slot]);
    if (segment) {
      segment.live--;
      segment.liveBytes -= this.lengths[slot];
    }
    this.segs[slot] = 0;
  }

  /** The slot's message is gone (delivered, dead, or never written). */
  release(slot: number): void {
    this.unplace(slot);
    this.flags[slot] = 0;
    this.free[this.freeCount++] = slot;
  }
}
