import fs from 'node:fs';
import path from 'node:path';
import { errorCode } from '../../coded-error';
import { FILE_MODE, SEGMENT_START, segmentName, smallRecord } from './codec';
import { fdatasync, fsyncDirectory, ftruncate, openFile, writeExactly } from './files';
import type { Segment, Slots } from './slots';

/**
 * Group commit: the records that arrive while one write and fsync run share the next write and
 * fsync, at the end of the current segment; a segment that reached its size is closed for
 * appends and the next begins.
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
 * push again), and none acknowledged is lost, as nothing was written after them.
 */

interface Pending {
  buffer: Buffer;
  /** Runs once the record is on disk, before the promise resolves; gets where it went. */
  written?: (segment: Segment, offset: number) => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface CommitOptions {
  directory: string;
  segmentBytes: number;
  fsync: boolean;
  /** The last seq given (a new segment's start record carries it). */
  lastSeq(): number;
  onRefused?: (code: string, records: number) => void;
  onWritable?: () => void;
  /** After each batch, written or refused. */
  afterBatch(): void;
}

export class GroupCommit {
  current!: Segment;
  private queue: Pending[] = [];
  private writing = false;
  /** A refused batch could not be cut off the current segment: the next batch starts a new one. */
  private sealed = false;
  /** The last batch was refused (for onWritable). */
  private refusing = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(private readonly slots: Slots, private readonly options: CommitOptions) {}

  get busy(): boolean {
    return this.writing;
  }

  write(buffer: Buffer, written?: Pending['written']): Promise<void> {
    // once closed and the last batch is out, the files are closed: their descriptors may already
    // belong to something else
    if (this.closed && !this.writing) return Promise.reject(new Error('outbox storage is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffer, written, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  /** Runs `then` after every record enqueued so far is on disk. */
  barrier(then: () => void): Promise<void> {
    return this.write(Buffer.alloc(0), () => then());
  }

  /** Takes no more writes; resolves once the batch in progress is done. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.idle;
  }

  private async flush(): Promise<void> {
    this.writing = true;
    this.idle = new Promise((resolve) => { this.markIdle = resolve; });
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        try {
          if (this.sealed || this.current.size >= this.options.segmentBytes) await this.roll();
          const segment = this.current;
          const start = segment.size;
          const data = batch.length === 1 ? batch[0].buffer : Buffer.concat(batch.map((entry) => entry.buffer));
          if (data.length) {
            try {
              await writeExactly(segment.fd, data, start);
              if (this.options.fsync) await fdatasync(segment.fd);
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
        this.options.afterBatch();
      }
    } finally {
      this.writing = false;
      this.markIdle();
    }
  }

  /** Cuts a refused batch off the segment; if that fails, the segment is sealed (see above). */
  private async cutBack(segment: Segment, start: number): Promise<void> {
    try {
      await ftruncate(segment.fd, start);
      // the shorter size durable too, or a power cut could bring the refused bytes back
      if (this.options.fsync) await fdatasync(segment.fd);
    } catch {
      this.sealed = true;
    }
  }

  private async roll(): Promise<void> {
    const previous = this.current;
    const no = previous.no + 1;
    const file = path.join(this.options.directory, segmentName(no));
    const fd = await openFile(file, 'w+', FILE_MODE);
    // fsynced with the batch that follows; its last field: where the previous segment ends, which
    // a replay reads that far only (past it may lie a refused batch that could not be cut off)
    const start = smallRecord(SEGMENT_START, this.slots.highWater, this.options.lastSeq(), 0, '', previous.size);
    try {
      // the file may be left from a roll that failed half-way: 'w+' keeps its mode
      fs.fchmodSync(fd, FILE_MODE);
      fsyncDirectory(this.options.directory);
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
    this.slots.segments.set(no, segment);
    this.current = segment;
    this.sealed = false;
  }
}
