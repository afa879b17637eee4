import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileLogOptions } from '../../src/lib/outbox/file-log/index';
import type { OutboxSchedule } from '../../src/lib/outbox/schedule';
import { openLog } from './outbox-open';
import { storable, type StoredMessage } from '../../src/lib/outbox/storage';

const T0 = 1_764_000_000_000;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hb-outbox-'));
}

/** Everything waiting, in the order the storage hands it out (leases end with the close). */
async function waiting(directory: string, options: Partial<FileLogOptions> = {}): Promise<StoredMessage[]> {
  const log = await openLog({ directory, ...options });
  try {
    return await log.lease(Infinity, 1_000_000);
  } finally {
    await log.close();
  }
}

function segments(directory: string): string[] {
  return fs.readdirSync(directory).filter((name) => name.endsWith('.log')).sort();
}

function logBytes(directory: string): number {
  return segments(directory).reduce((sum, name) => sum + fs.statSync(path.join(directory, name)).size, 0);
}


type WriteFn = typeof fs.write;
type Patchable = { write: WriteFn; fdatasync: typeof fs.fdatasync; ftruncate: typeof fs.ftruncate };

/**
 * A disk with `room` bytes left, as write(2) sees it: a write that does not fit writes what fits
 * (a short write) and the next one fails with ENOSPC, until `free()`. Only `fs.write`, the call
 * the log appends with, is patched.
 */
function fillDisk(room: number): { free(): void } {
  const original = fs.write;
  (fs as unknown as Patchable).write = ((fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: NodeJS.ErrnoException | null, written: number, buffer: Buffer) => void) => {
    if (room === 0) {
      const error = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      process.nextTick(callback, error, 0, buffer);
      return;
    }
    const fits = Math.min(room, length);
    room -= fits;
    original(fd, buffer, offset, fits, position, callback);
  }) as WriteFn;
  return { free: () => { (fs as unknown as Patchable).write = original; } };
}

/** After `skip` calls that work, the next call of `fs[name]` fails with `code` (and does nothing); the ones after work. */
function failNext(name: 'fdatasync' | 'ftruncate', code: string, skip = 0): { calls: () => number; restore(): void } {
  const original = fs[name] as (...args: unknown[]) => void;
  let calls = 0;
  let count = 1;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    calls++;
    if (calls > skip && count > 0) {
      count--;
      const callback = args[args.length - 1] as (error: NodeJS.ErrnoException) => void;
      process.nextTick(callback, Object.assign(new Error(`${code}: ${name}`), { code, syscall: name }));
      return;
    }
    original(...args);
  };
  return { calls: () => calls, restore: () => { (fs as unknown as Record<string, unknown>)[name] = original; } };
}

const letters = (messages: StoredMessage[]): string[] => messages.map((message) => (message.msg.payload as { n: string }).n).sort();

describe('the outbox file log', function () {
  let directory: string;
  beforeEach(function () {
    directory = tempDir();
  });
  afterEach(function () {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('keeps an accepted message across a restart, with the same id, as its JSON without _ack and _msgid', async function () {
    const log = await openLog({ directory });
    const msg = { _msgid: 'a1', _ack: 'p0.0', topic: 'sinocare/glucose', payload: { id: 'sinocare:cgm:1', value: 5.6, unit: '毫摩尔/升' } };
    const stored = await log.append(storable(msg), T0);
    await log.close();
    const [again, ...rest] = await waiting(directory);
    assert.equal(rest.length, 0);
    assert.equal(again.id, stored.id);
    assert.deepEqual(again.msg, { topic: 'sinocare/glucose', payload: { id: 'sinocare:cgm:1', value: 5.6, unit: '毫摩尔/升' } });
    assert.deepEqual({ enqueuedAt: again.enqueuedAt, attempts: again.attempts, nextAt: again.nextAt }, { enqueuedAt: T0, attempts: 0, nextAt: T0 });
  });

  it('refuses what comes after its close (its files are closed), and keeps what came before', async function () {
    const log = await openLog({ directory });
    await log.append({ payload: { n: 1 } }, T0);
    const [leased] = await log.lease(T0, 1);
    await log.close();
    await assert.rejects(log.append({ payload: { n: 2 } }, T0), /closed/);
    await assert.rejects(log.settle(leased!, { ok: true }), /closed/);
    assert.deepEqual((await waiting(directory)).map((message) => message.msg), [{ payload: { n: 1 } }]);
  });

  it('refuses a message too large to read back, and keeps the ones before and after it', async function () {
    const log = await openLog({ directory });
    await log.append({ payload: { n: 1 } }, T0);
    await assert.rejects(log.append({ payload: 'x'.repeat(257 * 1_048_576) }, T0), /too large/);
    await log.append({ payload: { n: 3 } }, T0);
    await log.close();
    assert.deepEqual((await waiting(directory)).map((message) => message.msg), [{ payload: { n: 1 } }, { payload: { n: 3 } }]);
  });

  it('answers fifty pushes that arrive together after a few fsyncs, not fifty', async function () {
    const log = await openLog({ directory });
    const original = fs.fdatasync;
    let syncs = 0;
    (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      syncs++;
      original(fd, callback);
    }) as typeof fs.fdatasync;
    try {
      const stored = await Promise.all(Array.from({ length: 50 }, (_, n) => log.append({ payload: { n } }, T0)));
      assert.equal(new Set(stored.map((message) => message.id)).size, 50);
      assert.ok(syncs >= 1 && syncs <= 2, `${syncs} fsyncs for 50 appends`);
    } finally {
      (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = original;
      await log.close();
    }
    assert.equal((await waiting(directory)).length, 50);
  });

  it('hands out the earliest due first, so a failed message waits while the ones behind it go', async function () {
    const log = await openLog({ directory });
    for (let n = 0; n < 3; n++) await log.append({ payload: { n } }, T0 + n);
    const [first] = await log.lease(T0 + 10, 1);
    assert.deepEqual(first.msg, { payload: { n: 0 } });
    await log.settle(first, { ok: false, error: 'HTTP 503', nextAt: T0 + 1000 });
    const next = await log.lease(T0 + 10, 5);
    assert.deepEqual(next.map((message) => message.msg), [{ payload: { n: 1 } }, { payload: { n: 2 } }]);
    assert.deepEqual(await log.lease(T0 + 999, 5), [], 'not due yet, and the others are in flight');
    const [retried] = await log.lease(T0 + 1000, 5);
    assert.equal(retried.id, first.id);
    assert.equal(retried.attempts, 1);
    assert.equal(retried.lastError, 'HTTP 503');
    await log.close();
  });

  it('remembers a failure across a restart: attempts, next attempt and the last error', async function () {
    const log = await openLog({ directory });
    const stored = await log.append({ payload: { n: 1 } }, T0);
    const [leased] = await log.lease(T0, 1);
    await log.settle(leased, { ok: false, error: 'no answer within 30 s (ackTimeout)', nextAt: T0 + 2000 });
    const [again] = await log.lease(T0 + 2000, 1);
    await log.settle(again, { ok: false, error: 'HTTP 502', nextAt: T0 + 6000 });
    await log.close();
    const [back] = await waiting(directory);
    assert.deepEqual(
      { id: back.id, attempts: back.attempts, nextAt: back.nextAt, lastError: back.lastError, enqueuedAt: back.enqueuedAt },
      { id: stored.id, attempts: 2, nextAt: T0 + 6000, lastError: 'HTTP 502', enqueuedAt: T0 },
    );
  });

  it('does not bring back a delivered or a dead message after a restart', async function () {
    const log = await openLog({ directory });
    for (let n = 0; n < 3; n++) await log.append({ payload: { n } }, T0);
    const [delivered, dead] = await log.lease(T0, 2);
    await log.settle(delivered, { ok: true });
    await log.settle(dead, { dead: true, error: 'HTTP 400' });
    await log.close();
    assert.deepEqual((await waiting(directory)).map((message) => message.msg), [{ payload: { n: 2 } }]);
  });

  it('records a settle as one small record at the end, never a rewrite of the queue', async function () {
    const log = await openLog({ directory });
    for (let n = 0; n < 200; n++) await log.append({ payload: { n, text: 'x'.repeat(900) } }, T0);
    const before = logBytes(directory);
    const [message] = await log.lease(T0, 1);
    await log.settle(message, { ok: true });
    assert.equal(logBytes(directory) - before, 48);
    await log.close();
  });

  it('cuts off a torn record at the end of the log (killed mid-write) and keeps what came before', async function () {
    const log = await openLog({ directory });
    const kept = await log.append({ payload: { n: 1 } }, T0);
    await log.append({ payload: { n: 2 } }, T0);
    await log.close();
    const file = path.join(directory, segments(directory)[0]);
    fs.truncateSync(file, fs.statSync(file).size - 7);
    const back = await waiting(directory);
    assert.deepEqual(back.map((message) => message.id), [kept.id]);
    // and the log goes on from there
    const reopened = await openLog({ directory });
    await reopened.append({ payload: { n: 3 } }, T0 + 1);
    await reopened.close();
    assert.deepEqual((await waiting(directory)).map((message) => message.msg), [{ payload: { n: 1 } }, { payload: { n: 3 } }]);
  });

  it('reports a damaged record in an older segment instead of guessing past it', async function () {
    const log = await openLog({ directory, segmentBytes: 2048 });
    for (let n = 0; n < 10; n++) await log.append({ payload: { n, text: 'x'.repeat(500) } }, T0);
    await log.close();
    const first = path.join(directory, segments(directory)[0]);
    const bytes = fs.readFileSync(first);
    bytes[60] ^= 0xff;
    fs.writeFileSync(first, bytes);
    const damage: string[] = [];
    const back = await waiting(directory, { segmentBytes: 2048, onDamage: (file, offset, reason) => damage.push(`${path.basename(file)}@${offset}: ${reason}`) });
    assert.deepEqual(damage, [`${path.basename(first)}@0: a checksum that does not match`]);
    assert.ok(back.length > 0 && back.length < 10);
  });

  it('removes the oldest segments once their messages are gone and moves the few still waiting, so the disk does not fill', async function () {
    const log = await openLog({ directory, segmentBytes: 4096 });
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) ids.push((await log.append({ payload: { n, text: 'x'.repeat(300) } }, T0 + n)).id);
    const grown = segments(directory).length;
    assert.ok(grown >= 5, `${grown} segments`);
    // deliver all but every tenth; the ones kept are spread over every segment
    const leased = await log.lease(Infinity, 60);
    for (const message of leased) {
      const n = (message.msg.payload as { n: number }).n;
      await log.settle(message, n % 10 === 0 ? { ok: false, error: 'HTTP 503', nextAt: T0 + 5000 } : { ok: true });
    }
    // a few more appends: compaction runs after writes
    for (let n = 60; n < 70; n++) await log.append({ payload: { n } }, T0 + n);
    await log.close();
    assert.ok(segments(directory).length < grown, `${segments(directory).length} segments left of ${grown}`);
    const back = await waiting(directory, { segmentBytes: 4096 });
    const expected = [0, 10, 20, 30, 40, 50, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69];
    assert.deepEqual(back.map((message) => (message.msg.payload as { n: number }).n).sort((a, b) => a - b), expected);
    const kept = back.filter((message) => message.attempts === 1);
    assert.deepEqual(kept.map((message) => message.id).sort(), [0, 10, 20, 30, 40, 50].map((n) => ids[n]).sort());
    assert.ok(kept.every((message) => message.lastError === 'HTTP 503' && message.nextAt === T0 + 5000));
  });

  it('makes every waiting message due at once on retry-all, and so it stays after a restart', async function () {
    const log = await openLog({ directory });
    for (let n = 0; n < 3; n++) await log.append({ payload: { n } }, T0);
    for (const message of await log.lease(T0, 3)) await log.settle(message, { ok: false, error: 'HTTP 503', nextAt: T0 + 600_000 });
    assert.deepEqual(await log.lease(T0 + 10, 3), []);
    await log.retryAll(T0 + 10);
    assert.equal((await log.lease(T0 + 10, 3)).length, 3);
    await log.close();
    assert.ok((await waiting(directory)).every((message) => message.nextAt === T0 + 10));
  });

  it('tells the status its numbers: waiting, in flight, the oldest, the next due', async function () {
    const log = await openLog({ directory });
    assert.deepEqual(log.stats(), { count: 0, leased: 0 });
    await log.append({ payload: { n: 0 } }, T0);
    await log.append({ payload: { n: 1 } }, T0 + 500);
    const [first] = await log.lease(T0 + 500, 1);
    assert.deepEqual(log.stats(), { count: 2, leased: 1, oldestEnqueuedAt: T0, nextAt: T0 + 500 });
    await log.settle(first, { ok: true });
    assert.deepEqual(log.stats(), { count: 1, leased: 0, oldestEnqueuedAt: T0 + 500, nextAt: T0 + 500 });
    await log.close();
  });

  describe('a write that is refused (a full disk, a failed fsync)', function () {
    /** The size of one record of `{ payload: { n: <one letter> } }`: every such record is as long. */
    async function recordLength(): Promise<number> {
      const probe = tempDir();
      try {
        const log = await openLog({ directory: probe });
        await log.append({ payload: { n: 'x' } }, T0);
        await log.close();
        return logBytes(probe);
      } finally {
        fs.rmSync(probe, { recursive: true, force: true });
      }
    }

    /**
     * Appends `x` (its write in progress), then c, d, f, g together: one batch, after x's. Returns
     * the five outcomes once settled.
     */
    async function appendBatch(log: OutboxSchedule): Promise<Array<PromiseSettledResult<StoredMessage>>> {
      const first = log.append({ payload: { n: 'x' } }, T0);
      const batch = ['c', 'd', 'f', 'g'].map((n) => log.append({ payload: { n } }, T0));
      return Promise.allSettled([first, ...batch]);
    }

    it('brings none of a batch cut short by a full disk back, and loses none of the later appends that overwrote its place', async function () {
      const length = await recordLength();
      const log = await openLog({ directory });
      await log.append({ payload: { n: 'a' } }, T0);
      // room for x, then c, d, f whole and half of g: the batch is refused with three of its records written
      const disk = fillDisk(4 * length + Math.floor(length / 2));
      const outcomes = await appendBatch(log);
      disk.free();
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
      assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, 'ENOSPC');
      // the disk takes writes again: two pushes, one at a time, each as long as a refused record
      await log.append({ payload: { n: 'p' } }, T0 + 1);
      await log.append({ payload: { n: 'q' } }, T0 + 2);
      await log.close(); // (nothing is written at a close: as after a kill)
      assert.deepEqual(letters(await waiting(directory)), ['a', 'p', 'q', 'x']);
    });

    it('treats a failed fsync like a full disk: the batch is refused, and none of it comes back', async function () {
      const log = await openLog({ directory });
      await log.append({ payload: { n: 'a' } }, T0);
      // x's fsync works, the batch of c, d, f, g is written whole and its fsync fails
      const sync = failNext('fdatasync', 'EIO', 1);
      let outcomes: Array<PromiseSettledResult<StoredMessage>>;
      try {
        outcomes = await appendBatch(log);
      } finally {
        sync.restore();
      }
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
      assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, 'EIO');
      await log.append({ payload: { n: 'p' } }, T0 + 1);
      await log.append({ payload: { n: 'q' } }, T0 + 2);
      await log.close();
      assert.deepEqual(letters(await waiting(directory)), ['a', 'p', 'q', 'x']);
    });

    it('refuses the rest of a segment it could not cut back, goes on in a new one, and a restart reads neither the refused records nor past them', async function () {
      const length = await recordLength();
      const log = await openLog({ directory });
      await log.append({ payload: { n: 'a' } }, T0);
      const truncate = failNext('ftruncate', 'EIO');
      const disk = fillDisk(4 * length + Math.floor(length / 2));
      let outcomes: Array<PromiseSettledResult<StoredMessage>>;
      try {
        outcomes = await appendBatch(log);
      } finally {
        disk.free();
        truncate.restore();
      }
      assert.equal(truncate.calls(), 1, 'the log tried to cut the refused batch off');
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
      await log.append({ payload: { n: 'p' } }, T0 + 1);
      await log.append({ payload: { n: 'q' } }, T0 + 2);
      assert.equal(segments(directory).length, 2, 'the next appends went to a new segment');
      await log.close();
      assert.deepEqual(letters(await waiting(directory)), ['a', 'p', 'q', 'x']);
      // and again after a second open, which may have cut the old segment's leftovers off
      assert.deepEqual(letters(await waiting(directory)), ['a', 'p', 'q', 'x']);
    });

    it('reading a log with a refused batch left past its end (as the previous release left them), keeps the acknowledged message of a slot over an older record', async function () {
      const length = await recordLength();
      const log = await openLog({ directory });
      await log.append({ payload: { n: 'a' } }, T0);
      // the layout the previous release left: the refused records stay where the later appends go
      const truncate = fs.ftruncate;
      (fs as unknown as Patchable).ftruncate = ((_fd: number, _length: number, callback: (error: null) => void) => process.nextTick(callback, null)) as typeof fs.ftruncate;
      const disk = fillDisk(4 * length + Math.floor(length / 2));
      try {
        await appendBatch(log);
        disk.free();
        await log.append({ payload: { n: 'p' } }, T0 + 1);
        await log.append({ payload: { n: 'q' } }, T0 + 2);
      } finally {
        disk.free();
        (fs as unknown as Patchable).ftruncate = truncate;
        await log.close();
      }
      const back = letters(await waiting(directory));
      // q holds the slot f's refused record names (f was refused before q was taken): q is kept;
      // d, in a slot nothing took again, may come back (a refused message pushed again: a copy, not a loss)
      for (const n of ['a', 'p', 'q', 'x']) assert.ok(back.includes(n), `${n} is lost: ${back.join(' ')}`);
      assert.ok(!back.includes('f'), `f came back in the place of q: ${back.join(' ')}`);
    });

    it('tells once a batch is refused and once the disk takes writes again, with the error\'s code only', async function () {
      const events: string[] = [];
      const log = await openLog({ directory, onRefused: (code, records) => events.push(`refused ${code} ${records}`), onWritable: () => events.push('writable') });
      await log.append({ payload: { n: 'a' } }, T0);
      const disk = fillDisk(0);
      await assert.rejects(log.append({ payload: { n: 'b' } }, T0), { code: 'ENOSPC' });
      await assert.rejects(Promise.all(['c', 'd'].map((n) => log.append({ payload: { n } }, T0))), { code: 'ENOSPC' });
      disk.free();
      await log.append({ payload: { n: 'e' } }, T0);
      await log.append({ payload: { n: 'f' } }, T0);
      await log.close();
      assert.deepEqual(events, ['refused ENOSPC 1', 'refused ENOSPC 1', 'refused ENOSPC 1', 'writable']);
      assert.deepEqual(letters(await waiting(directory)), ['a', 'e', 'f']);
    });
  });

  describe('its files', function () {
    const modeOf = (file: string): string => (fs.statSync(file).mode & 0o777).toString(8);

    it('are 0600 in a directory of 0700, whatever the umask', async function () {
      const umask = process.umask(0);
      const outbox = path.join(directory, 'outbox');
      try {
        const log = await openLog({ directory: outbox, segmentBytes: 512 });
        for (let n = 0; n < 5; n++) await log.append({ payload: { n, text: 'x'.repeat(300) } }, T0);
        await log.close();
      } finally {
        process.umask(umask);
      }
      assert.ok(segments(outbox).length >= 2, 'a roll made a segment too');
      assert.equal(modeOf(outbox), '700');
      for (const name of segments(outbox)) assert.equal(modeOf(path.join(outbox, name)), '600', name);
    });

    it('are tightened at open where an earlier release (or a copy) left them readable by others', async function () {
      const log = await openLog({ directory, segmentBytes: 512 });
      for (let n = 0; n < 5; n++) await log.append({ payload: { n, text: 'x'.repeat(300) } }, T0);
      await log.close();
      fs.chmodSync(directory, 0o755);
      for (const name of segments(directory)) fs.chmodSync(path.join(directory, name), 0o644);
      assert.equal(modeOf(directory), '755');
      const back = await waiting(directory, { segmentBytes: 512 });
      assert.equal(back.length, 5);
      assert.equal(modeOf(directory), '700');
      for (const name of segments(directory)) assert.equal(modeOf(path.join(directory, name)), '600', name);
    });
  });
});
