import fs from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * The file log's record format, unchanged since the first release (logs written by any earlier
 * release replay as they are). A segment (`seg-00000001.log`, …) is a run of records:
 *
 *   0  u32 LE  record length, header included
 *   4  u32 LE  CRC-32 of bytes 8 … end
 *   8  u8      type: 1 put, 2 delivered, 3 dead, 4 retry-all, 5 segment start
 *   12 u32 LE  slot (the index's row; reused once the message is gone); segment start: the
 *              index's rows in use when the segment began, so a replay sizes the index once
 *   16 f64 LE  seq (unique, increasing: the log's order of messages); segment start: the last
 *              seq given, so seqs stay unique when every record of the newest ones is gone
 *   24 f64 LE  put: enqueuedAt; retry-all: the time; segment start: where the previous segment
 *              ends (its last whole record; see commit.ts on a refused write)
 *   32 f64 LE  put: nextAt; segment start: 1 if bytes 24 … 31 say where the previous segment
 *              ends (0 in logs written before it was added)
 *   40 u32 LE  put: attempts
 *   44 u32 LE  put: the message's order key (0: none; logs written before it was added carry 0)
 *   48 …       put: UTF-8 JSON {"id","lastError"?,"msg"}; dead: JSON {"error"}
 *
 * A put carries the message's whole current state, so the latest put of a seq wins: a failed
 * delivery writes a new put (attempts + 1, nextAt, lastError), and so does compaction when it
 * moves a still-waiting message out of the oldest segment. Delivered and dead name (slot, seq)
 * and apply only if that slot still holds that seq.
 */

export const HEADER = 48;
export const PUT = 1;
export const DELIVERED = 2;
export const DEAD = 3;
export const RETRY_ALL = 4;
export const SEGMENT_START = 5;

/** Larger records are refused at append: the replay would read one as damage and cut the log there. */
export const MAX_RECORD = 256 * 1_048_576;
export const SEGMENT_PATTERN = /^seg-(\d{8})\.log$/;
/** The messages carry patients' data: the directory and every file in it for the owner only. */
export const DIRECTORY_MODE = 0o700;
export const FILE_MODE = 0o600;

/** A put's body: what the index does not keep. */
export interface PutBody {
  id: string;
  lastError?: string;
  msg: Record<string, unknown>;
}

export function writeHeader(record: Buffer, type: number, slot: number, seq: number, a: number, b: number, attempts: number, key = 0): void {
  record.writeUInt32LE(record.length, 0);
  record.writeUInt32LE(type, 8); // type and three zero bytes
  record.writeUInt32LE(slot, 12);
  record.writeDoubleLE(seq, 16);
  record.writeDoubleLE(a, 24);
  record.writeDoubleLE(b, 32);
  record.writeUInt32LE(attempts, 40);
  record.writeUInt32LE(key, 44);
  sealRecord(record);
}

/** Writes the record's checksum (after a change to its header). */
export function sealRecord(record: Buffer): void {
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
}

export function checksumHolds(record: Buffer): boolean {
  return crc32(record.subarray(8)) === record.readUInt32LE(4);
}

export function putRecord(slot: number, seq: number, enqueuedAt: number, nextAt: number, attempts: number, key: number, body: string): Buffer {
  const record = Buffer.allocUnsafe(HEADER + Buffer.byteLength(body));
  record.write(body, HEADER, 'utf8');
  writeHeader(record, PUT, slot, seq, enqueuedAt, nextAt, attempts, key);
  return record;
}

export function smallRecord(type: number, slot: number, seq: number, time: number, body: string, previousEnd?: number): Buffer {
  const record = Buffer.allocUnsafe(HEADER + Buffer.byteLength(body));
  record.write(body, HEADER, 'utf8');
  if (previousEnd === undefined) writeHeader(record, type, slot, seq, time, 0, 0);
  else writeHeader(record, type, slot, seq, previousEnd, 1, 0);
  return record;
}

/** The fields of a put's header that the index does not keep after the replay. */
export function putState(record: Buffer): { enqueuedAt: number; nextAt: number; attempts: number; key: number } {
  return {
    enqueuedAt: record.readDoubleLE(24),
    nextAt: record.readDoubleLE(32),
    attempts: record.readUInt32LE(40),
    key: record.readUInt32LE(44),
  };
}

export function putBody(record: Buffer): PutBody {
  return JSON.parse(record.toString('utf8', HEADER)) as PutBody;
}

/**
 * The segment start record at the head of `file`: the index's rows in use then, and where the
 * previous segment ends (undefined in logs written before that was recorded); undefined if the
 * file does not begin with a whole one.
 */
export function readStart(file: string): { rows: number; previousEnd?: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const first = Buffer.alloc(HEADER);
    if (fs.readSync(fd, first, 0, HEADER, 0) < HEADER || first[8] !== SEGMENT_START) return undefined;
    if (first.readUInt32LE(0) !== HEADER || !checksumHolds(first)) return undefined;
    const rows = first.readUInt32LE(12);
    return first.readDoubleLE(32) === 1 ? { rows, previousEnd: first.readDoubleLE(24) } : { rows };
  } finally {
    fs.closeSync(fd);
  }
}

export function segmentName(no: number): string {
  return `seg-${String(no).padStart(8, '0')}.log`;
}
