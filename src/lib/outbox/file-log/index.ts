import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Attempt, OutboxStorage, Removal, StoredMessage, StoredMsg, StoredState } from '../storage';
import { DEAD, DELIVERED, MAX_RECORD, putBody, putRecord, RETRY_ALL, smallRecord } from './codec';
import { GroupCommit } from './commit';
import { Compaction } from './compaction';
import { readExactly } from './files';
import { replayDirectory } from './replay';
import { OCCUPIED, Slots, WRITING, type Segment } from './slots';

/**
 * The outbox's storage in a directory of its own: an append-only log in segment files (codec.ts),
 * written with group commit (commit.ts), its oldest segment compacted away once little of it
 * still waits (compaction.ts), replayed at open (replay.ts), with an index in RAM of where each
 * stored message lies (slots.ts): the messages stay on disk until read. It keeps and returns
 * messages; which one is due, in what order, is the queue's (../schedule.ts).
 */

export interface FileLogOptions {
  /** The directory the outbox owns (created if missing). */
  directory: string;
  /** A segment is closed for appends once it is this large (64 MiB). */
  segmentBytes?: number;
  /** The oldest segment's waiting messages are moved once they are at most this share of it (0.25). */
  compactBelow?: number;
  /** fsync each batch (true). Off only for measuring what the fsync costs. */
  fsync?: boolean;
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

export class FileLog implements OutboxStorage {
  static async open(options: FileLogOptions): Promise<FileLog> {
    const log = new FileLog(options);
    const { current, lastSeq } = await replayDirectory(options.directory, log.slots, options.onDamage);
    log.commit.current = current;
    log.lastSeq = lastSeq;
    return log;
  }

  private readonly slots = new Slots();
  private readonly commit: GroupCommit;
  private readonly compaction: Compaction;
  private lastSeq = 0;
  /** Reads of messages in progress: a segment is not closed under them. */
  private reading = 0;
  private closed = false;

  private constructor(options: FileLogOptions) {
    this.commit = new GroupCommit(this.slots, {
      directory: options.directory,
      segmentBytes: options.segmentBytes ?? 64 * 1_048_576,
      fsync: options.fsync ?? true,
      lastSeq: () => this.lastSeq,
      onRefused: options.onRefused,
      onWritable: options.onWritable,
      afterBatch: () => this.compaction.maybeCompact(),
    });
    this.compaction = new Compaction(this.slots, this.commit, options.compactBelow ?? 0.25, () => this.reading);
  }

  async stored(visit: (state: StoredState) => void): Promise<void> {
    const { slots } = this;
    const replay = slots.replay;
    if (!replay) throw new Error('outbox storage: what was stored is handed over once, after the open');
    slots.dropReplay();
    for (let slot = 0; slot < slots.highWater; slot++) {
      if (!(slots.flags[slot] & OCCUPIED)) continue;
      visit({
        ref: slot,
        seq: slots.seqs[slot],
        enqueuedAt: replay.enqueued[slot],
        nextAt: slots.nexts[slot],
        attempts: replay.attempts[slot],
        key: replay.keys[slot],
      });
    }
  }

  append(msg: StoredMsg, now: number, key = 0): Promise<StoredMessage> {
    if (this.closed) return Promise.reject(new Error('outbox storage is closed'));
    const { slots } = this;
    const id = randomUUID();
    const seq = ++this.lastSeq;
    const slot = slots.allocate();
    slots.seqs[slot] = seq;
    slots.nexts[slot] = now;
    slots.flags[slot] = OCCUPIED | WRITING;
    slots.segs[slot] = 0;
    let record: Buffer;
    try {
      record = putRecord(slot, seq, now, now, 0, key >>> 0, JSON.stringify({ id, msg }));
      // the replay would read a larger one as damage and cut the log there
      if (record.length > MAX_RECORD) throw new Error(`the message is too large to store (${record.length} bytes, at most ${MAX_RECORD})`);
    } catch (error) {
      slots.release(slot);
      return Promise.reject(error as Error);
    }
    const stored: StoredMessage = { ref: slot, seq, id, enqueuedAt: now, attempts: 0, nextAt: now, key: key >>> 0, msg };
    return this.commit.write(record, (segment, offset) => this.landed(slot, seq, segment, offset, record.length)).then(
      () => stored,
      (error: Error) => {
        if (slots.holds(slot, seq)) slots.release(slot);
        throw error;
      },
    );
  }

  async read(state: StoredState): Promise<StoredMessage> {
    const { slots } = this;
    const { ref: slot, seq } = state;
    if (!slots.holds(slot, seq)) throw new Error(`outbox: message ${seq} is not stored`);
    const segment = slots.segments.get(slots.segs[slot]);
    if (!segment) throw new Error(`outbox: segment ${slots.segs[slot]} of message ${seq} is missing`);
    const buffer = Buffer.allocUnsafe(slots.lengths[slot]);
    this.reading++;
    try {
      await readExactly(segment.fd, buffer, slots.offsets[slot]);
    } finally {
      this.reading--;
    }
    const body = putBody(buffer);
    // the state as the caller has it (its attempts may be newer than a put that was refused)
    return {
      ref: slot,
      seq,
      id: body.id,
      enqueuedAt: state.enqueuedAt,
      attempts: state.attempts,
      nextAt: state.nextAt,
      key: state.key,
      ...(body.lastError !== undefined && { lastError: body.lastError }),
      msg: body.msg,
    };
  }

  fail(message: StoredMessage, attempt: Attempt): Promise<void> {
    const { slots } = this;
    const { ref: slot, seq } = message;
    if (!slots.holds(slot, seq)) return Promise.reject(new Error(`outbox message ${message.id} is not stored`));
    slots.nexts[slot] = attempt.nextAt;
    slots.flags[slot] |= WRITING;
    const body = JSON.stringify({ id: message.id, lastError: attempt.error, msg: message.msg });
    const record = putRecord(slot, seq, message.enqueuedAt, attempt.nextAt, attempt.attempts, message.key, body);
    return this.commit.write(record, (segment, offset) => this.landed(slot, seq, segment, offset, record.length)).catch((error: unknown) => {
      // not written (a failing disk): a restart before the next write finds the older record
      if (slots.holds(slot, seq)) slots.flags[slot] &= ~WRITING;
      throw error;
    });
  }

  remove(message: StoredState, outcome: Removal): Promise<void> {
    const { slots } = this;
    const { ref: slot, seq } = message;
    if (!slots.holds(slot, seq)) return Promise.reject(new Error(`outbox message ${seq} is not stored`));
    slots.release(slot);
    if ('delivered' in outcome) return this.commit.write(smallRecord(DELIVERED, slot, seq, 0, ''));
    return this.commit.write(smallRecord(DEAD, slot, seq, 0, JSON.stringify({ error: outcome.error })));
  }

  dueAll(now: number): Promise<void> {
    const { slots } = this;
    for (let slot = 0; slot < slots.highWater; slot++) if (slots.flags[slot] & OCCUPIED) slots.nexts[slot] = now;
    return this.commit.write(smallRecord(RETRY_ALL, 0, 0, now, ''));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compaction.close();
    await this.commit.close();
    for (const segment of this.slots.segments.values()) fs.closeSync(segment.fd);
    this.slots.segments.clear();
  }

  /** A put of (slot, seq) is on disk at `offset` of `segment`. */
  private landed(slot: number, seq: number, segment: Segment, offset: number, length: number): void {
    const { slots } = this;
    if (!slots.holds(slot, seq)) return;
    slots.place(slot, segment, offset, length);
    slots.flags[slot] &= ~WRITING;
  }
}
