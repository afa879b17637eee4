import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Sealer } from '../../src/lib/at-rest';
import { openSealedLog } from './outbox-open';

/**
 * The outbox's files outlive its code: a log written by the file log before it was split
 * (test/fixtures/outbox-log, see its README) is replayed by today's code into the same messages,
 * in the same order, with the same attempts, times and last errors. And the same log as the
 * releases before the order key and the segment's end were recorded wrote it (those fields 0).
 */

const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'outbox-log');
const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');

interface Handed {
  label: string;
  attempts: number;
  enqueuedAt: number;
  nextAt: number;
  lastError?: string;
}

/** Every message the outbox hands out, leased one at a time and delivered. */
async function drain(directory: string): Promise<Handed[]> {
  const storage = await openSealedLog(directory, { encrypt: true, sealer: new Sealer(KEY, 'outbox:fixture') });
  const handed: Handed[] = [];
  try {
    for (let round = 0; round < 100; round++) {
      const [message] = await storage.lease(Infinity, 1);
      if (!message) break;
      handed.push({
        label: (message.msg.payload as { label: string }).label,
        attempts: message.attempts,
        enqueuedAt: message.enqueuedAt,
        nextAt: message.nextAt,
        ...(message.lastError !== undefined && { lastError: message.lastError }),
      });
      await storage.settle(message, { ok: true });
    }
    assert.equal(storage.unreadable(), 0);
  } finally {
    await storage.close();
  }
  return handed;
}

/** Zeroes a field of every record of `type` in the segment, as an older release left it. */
function zero(file: string, type: number, offset: number): void {
  const bytes = fs.readFileSync(file);
  for (let at = 0; at < bytes.length; at += bytes.readUInt32LE(at)) {
    if (bytes[at + 8] !== type) continue;
    bytes.fill(0, at + offset, at + offset + (offset === 32 ? 8 : 4));
    const end = at + bytes.readUInt32LE(at);
    bytes.writeUInt32LE(crc32(bytes.subarray(at + 8, end)), at + 4);
  }
  fs.writeFileSync(file, bytes);
}

describe('an outbox log written before the storage was split', function () {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Handed[];
  let directory: string;

  beforeEach(function () {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-outbox-fixture-'));
    for (const name of fs.readdirSync(FIXTURE).filter((file) => file.endsWith('.log'))) {
      fs.copyFileSync(path.join(FIXTURE, name), path.join(directory, name));
    }
  });
  afterEach(function () {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('hands out what that code handed out: the same messages, order, attempts, times and last errors', async function () {
    assert.equal(expected.length, 10);
    assert.deepEqual(await drain(directory), expected);
  });

  it('reads it as a release before the order key and the segment\'s end were recorded wrote it', async function () {
    for (const name of fs.readdirSync(directory)) {
      zero(path.join(directory, name), 1, 44); // a put's order key
      zero(path.join(directory, name), 5, 32); // a segment start's "the previous one ends at"
    }
    const handed = await drain(directory);
    // without keys there is no patient's order to keep: earliest due first, then acceptance
    const byLabel = (a: Handed, b: Handed): number => a.label.localeCompare(b.label);
    assert.deepEqual([...handed].sort(byLabel), [...expected].sort(byLabel));
    assert.deepEqual(handed.map((message) => message.label), ['M4', 'M5', 'M6', 'M7', 'M8', 'M9', 'M10', 'M11', 'M12', 'M3']);
  });
});
