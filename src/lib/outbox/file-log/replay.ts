import fs from 'node:fs';
import path from 'node:path';
import {
  checksumHolds, DEAD, DELIVERED, DIRECTORY_MODE, FILE_MODE, HEADER, MAX_RECORD, PUT, putState, readStart,
  RETRY_ALL, SEGMENT_PATTERN, SEGMENT_START, segmentName,
} from './codec';
import { fsyncDirectory, refill } from './files';
import { OCCUPIED, type Segment, type Slots } from './slots';

const READ_CHUNK = 8 * 1_048_576;

/**
 * Opening: the directory's segments are replayed oldest first into the index, a torn record at
 * the end of the last segment (a crash mid-write) is cut off, and an older segment is read only as
 * far as its successor says it ends (past that lies a refused batch; see commit.ts). A put older
 * (a smaller seq) than the message its slot holds is ignored: only a refused write left behind by
 * an earlier release can be such a put.
 *
 * The directory is 0700 and every file in it 0600 (whatever the umask); an existing directory or
 * segment with wider modes is tightened here.
 *
 * Returns the segment appends go to and the last seq given.
 */
export async function replayDirectory(
  directory: string,
  slots: Slots,
  onDamage?: (file: string, offset: number, reason: string) => void,
): Promise<{ current: Segment; lastSeq: number }> {
  fs.mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });
  // the mode asked of mkdir passes through the umask, and an existing directory keeps its own
  if ((fs.statSync(directory).mode & 0o777) !== DIRECTORY_MODE) fs.chmodSync(directory, DIRECTORY_MODE);
  const numbers = fs
    .readdirSync(directory)
    .map((name) => SEGMENT_PATTERN.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
  const state = { maxSeq: 0 };
  // one read buffer for every segment (one each left 8 MiB apiece for the collector, and glibc
  // sometimes kept 50 MiB of them in RSS)
  const reader = { chunk: Buffer.allocUnsafe(READ_CHUNK) };
  slots.startReplay();
  // one allocation of the index at about its final size (each doubling on the way would leave
  // its predecessor to glibc, which may keep it in RSS: 180 instead of 105 MiB at 1,000,000)
  if (numbers.length) {
    const rows = readStart(path.join(directory, segmentName(numbers[numbers.length - 1])))?.rows ?? 0;
    // the rows used by the time the segment began, and room for what it added
    if (rows > 1024) slots.grow(Math.ceil((rows * 1.1) / 1024) * 1024);
  }
  for (const [index, no] of numbers.entries()) {
    const file = path.join(directory, segmentName(no));
    const fd = fs.openSync(file, 'r+');
    if ((fs.fstatSync(fd).mode & 0o777) !== FILE_MODE) fs.fchmodSync(fd, FILE_MODE);
    const segment: Segment = { no, file, fd, size: 0, live: 0, liveBytes: 0 };
    slots.segments.set(no, segment);
    const last = index === numbers.length - 1;
    // where the next segment says this one ends: past it lies a refused batch, never read
    const limit = last ? undefined : readStart(path.join(directory, segmentName(numbers[index + 1])))?.previousEnd;
    const end = replaySegment(slots, segment, reader, state, onDamage, limit);
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
    const file = path.join(directory, segmentName(1));
    const segment: Segment = { no: 1, file, fd: fs.openSync(file, 'w+', FILE_MODE), size: 0, live: 0, liveBytes: 0 };
    fs.fchmodSync(segment.fd, FILE_MODE);
    fsyncDirectory(directory);
    slots.segments.set(1, segment);
  }
  slots.collectFree();
  return { current: slots.segments.get(numbers.length ? numbers[numbers.length - 1] : 1)!, lastSeq: state.maxSeq };
}

/** Applies one segment's records, up to `limit` bytes; returns where its last whole record ends. */
function replaySegment(
  slots: Slots,
  segment: Segment,
  reader: { chunk: Buffer },
  state: { maxSeq: number },
  onDamage: ((file: string, offset: number, reason: string) => void) | undefined,
  limit = Infinity,
): number {
  const size = Math.min(fs.fstatSync(segment.fd).size, limit);
  let chunk = reader.chunk;
  let chunkStart = 0; // file offset of chunk[0]
  let chunkEnd = 0; // valid bytes in chunk
  let at = 0; // file offset of the next record
  const damaged = (reason: string): number => {
    onDamage?.(segment.file, at, reason);
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
    if (!checksumHolds(record)) return damaged('a checksum that does not match');
    apply(slots, record, segment, at, state);
    at += length;
  }
  return at;
}

function apply(slots: Slots, record: Buffer, segment: Segment, offset: number, state: { maxSeq: number }): void {
  const type = record[8];
  const slot = record.readUInt32LE(12);
  const seq = record.readDoubleLE(16);
  if (type === RETRY_ALL) {
    const now = record.readDoubleLE(24);
    for (let row = 0; row < slots.highWater; row++) if (slots.flags[row] & OCCUPIED) slots.nexts[row] = now;
    return;
  }
  if (seq > state.maxSeq) state.maxSeq = seq;
  if (type === SEGMENT_START) return;
  if (type === PUT) {
    slots.reach(slot);
    // a later put of the same seq (a failure, a move) replaces the earlier one; one of an older
    // seq than the slot's message can only be a refused write an earlier release left past
    // the end of the log, which a later append overwrote only in part: the newer message stays
    if (slots.flags[slot] & OCCUPIED && slots.seqs[slot] > seq) return;
    if (!(slots.flags[slot] & OCCUPIED)) slots.segs[slot] = 0;
    slots.flags[slot] = OCCUPIED;
    slots.seqs[slot] = seq;
    slots.place(slot, segment, offset, record.length);
    const put = putState(record);
    slots.nexts[slot] = put.nextAt;
    const replay = slots.replay!;
    replay.enqueued[slot] = put.enqueuedAt;
    replay.attempts[slot] = put.attempts;
    replay.keys[slot] = put.key;
  } else if ((type === DELIVERED || type === DEAD) && slots.holds(slot, seq)) {
    slots.unplace(slot);
    slots.flags[slot] = 0;
  }
}
