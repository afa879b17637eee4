import fs from 'node:fs';
import { sealRecord } from './codec';
import { readExactly } from './files';
import type { GroupCommit } from './commit';
import { OCCUPIED, WRITING, type Segment, type Slots } from './slots';

/**
 * Compaction: only the oldest segment, and only once little of it is still waiting. Its waiting
 * messages are moved to the end of the log (each put written again, with the nextAt of now), and
 * the segment is removed once every record that emptied it is on disk. Segments are removed
 * oldest first only: a later segment may hold the record that ended a message of an earlier one.
 * Each change is one record appended, never a rewrite of the queue.
 */
export class Compaction {
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly slots: Slots,
    private readonly commit: GroupCommit,
    /** The oldest segment is compacted once its waiting messages are at most this share of it. */
    private readonly compactBelow: number,
    /** Reads of messages in progress: a segment is not closed under them. */
    private readonly reading: () => number,
  ) {}

  /** Resolves once no compaction runs; none starts after. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  maybeCompact(): void {
    if (this.running || this.closed) return;
    const oldest = this.oldestSegment();
    if (!oldest || oldest === this.commit.current) return;
    if (oldest.live > 0 && oldest.liveBytes > oldest.size * this.compactBelow) return;
    this.running = this.compact(oldest)
      .catch(() => false)
      .then((removed) => {
        this.running = undefined;
        // the next segment may be ready too; without progress, wait for the next batch
        if (removed && !this.closed && !this.commit.busy) this.maybeCompact();
      });
  }

  private oldestSegment(): Segment | undefined {
    let oldest: Segment | undefined;
    for (const segment of this.slots.segments.values()) if (!oldest || segment.no < oldest.no) oldest = segment;
    return oldest;
  }

  /** Moves the segment's waiting messages to the end of the log and removes it; false if it could not yet. */
  private async compact(segment: Segment): Promise<boolean> {
    const slots = this.slots;
    const moves: Array<Promise<void>> = [];
    if (segment.live > 0) {
      const found: number[] = [];
      for (let slot = 0; slot < slots.highWater; slot++) {
        if (slots.flags[slot] & OCCUPIED && slots.segs[slot] === segment.no) found.push(slot);
      }
      for (const slot of found) {
        const seq = slots.seqs[slot];
        if (slots.flags[slot] & WRITING) continue; // its newer put moves it anyway
        const record = Buffer.allocUnsafe(slots.lengths[slot]);
        await readExactly(segment.fd, record, slots.offsets[slot]);
        // the state may have changed while reading; the rest of the put (id, lastError, msg,
        // enqueuedAt, attempts, key) has not: only a new put changes those, and it moves the slot
        if (!slots.holds(slot, seq) || slots.segs[slot] !== segment.no || slots.flags[slot] & WRITING) continue;
        // a retry-all since the put changed its nextAt: the copy carries the nextAt of now
        record.writeDoubleLE(slots.nexts[slot], 32);
        sealRecord(record);
        const move = this.commit.write(record, (to, offset) => {
          if (slots.holds(slot, seq)) slots.place(slot, to, offset, record.length);
        });
        // a move refused (a full disk) while this loop still reads the next one must not be a
        // rejection nobody handles yet (the process would end): Promise.all below reports it
        move.catch(() => undefined);
        moves.push(move);
      }
      await Promise.all(moves);
      if (segment.live > 0) return false; // a message was being rewritten: try again later
    }
    // every record that emptied it (and every move) is on disk once this barrier is
    await this.commit.barrier(() => {});
    if (segment.live > 0 || this.closed || this.reading() > 0) return false;
    slots.segments.delete(segment.no);
    fs.closeSync(segment.fd);
    fs.unlinkSync(segment.file);
    return true;
  }
}
