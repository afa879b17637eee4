import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileLog } from '../../src/lib/outbox/file-log/index';
import { openLog } from './outbox-open';
import { backoffMs, OutboxQueue, type Clock, type OutboxQueueOptions } from '../../src/lib/outbox/queue';
import type { StoredMessage } from '../../src/lib/outbox/storage';

const T0 = 1_764_000_000_000;

/** Time that moves only when a test says so; timers run in time order, the queue settling after each. */
class TestClock implements Clock {
  private time = T0;
  private timers: Array<{ at: number; order: number; callback: () => void }> = [];
  private order = 0;
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.time + Math.max(0, ms), order: this.order++, callback };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer !== handle);
  }
  /** Moves the clock to the earliest timer and runs it (a retry, an ackTimeout). */
  async next(queue: OutboxQueue): Promise<void> {
    await queue.idle();
    const due = [...this.timers].sort((a, b) => a.at - b.at || a.order - b.order)[0];
    if (!due) throw new Error('no timer is waiting');
    this.timers = this.timers.filter((timer) => timer !== due);
    this.time = due.at;
    due.callback();
    await queue.idle();
  }
  /** Moves the clock forward by `ms`, running every timer due on the way. */
  async advance(ms: number, queue: OutboxQueue): Promise<void> {
    const end = this.time + ms;
    await queue.idle();
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
      await queue.idle();
    }
    this.time = end;
    await queue.idle();
  }
}

interface Sent {
  at: number;
  message: StoredMessage;
}

describe('the outbox queue', function () {
  let directory: string;
  let clock: TestClock;
  let sent: Sent[];
  let dead: Array<{ at: number; message: StoredMessage; error: string }>;
  let queue: OutboxQueue;

  async function start(options: Partial<OutboxQueueOptions> = {}): Promise<OutboxQueue> {
    const storage = await FileLog.open({ directory });
    queue = new OutboxQueue({
      storage,
      clock,
      send: (message) => sent.push({ at: clock.now() - T0, message }),
      deadLetter: (message, error) => dead.push({ at: clock.now() - T0, message, error }),
      onError: (error) => { throw error; },
      ...options,
    });
    await queue.idle();
    return queue;
  }

  const n = (message: StoredMessage): number => (message.msg.payload as { n: number }).n;

  beforeEach(function () {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-outbox-queue-'));
    clock = new TestClock();
    sent = [];
    dead = [];
  });
  afterEach(async function () {
    await queue?.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('sends a message on only once it is on disk, and a delivered one is gone', async function () {
    await start();
    const stored = await queue.enqueue({ payload: { n: 1 } });
    await queue.idle();
    assert.deepEqual(sent.map((entry) => entry.message.id), [stored.id]);
    // what the outbox sent is already in the files: another reader sees it
    const other = await openLog({ directory });
    assert.equal(other.stats().count, 1);
    await other.close();
    assert.equal(queue.settle(stored.id), true);
    await queue.idle();
    assert.equal(queue.status().queued, 0);
    assert.equal(queue.settle(stored.id), false, 'a second answer changes nothing');
  });

  it('tries a failed message again after retryMinSeconds, doubling up to retryMaxSeconds', async function () {
    await start({ retryMinMs: 1000, retryMaxMs: 10_000 });
    await queue.enqueue({ payload: { n: 1 } });
    await queue.idle();
    // the hospital answers each delivery at once with a failure
    for (let attempt = 0; attempt < 7; attempt++) {
      queue.settle(sent[sent.length - 1].message.id, 'HTTP 503');
      await clock.next(queue);
    }
    const times = sent.map((entry) => entry.at);
    const gaps = times.slice(1).map((at, i) => at - times[i]);
    assert.deepEqual(gaps, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    assert.deepEqual(sent.map((entry) => entry.message.attempts), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(sent[7].message.lastError, 'HTTP 503');
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((failures) => backoffMs(failures, 1000, 600_000)), [1000, 2000, 4000, 8000, 16_000, 32_000]);
  });

  it('does not hold back the messages behind a failing one', async function () {
    await start({ concurrency: 1, retryMinMs: 60_000 });
    await queue.enqueue({ payload: { n: 1 } });
    await queue.enqueue({ payload: { n: 2 } });
    await queue.enqueue({ payload: { n: 3 } });
    await queue.idle();
    assert.deepEqual(sent.map((entry) => n(entry.message)), [1], 'concurrency 1: one at a time');
    queue.settle(sent[0].message.id, 'HTTP 500');
    await queue.idle();
    queue.settle(sent[1].message.id);
    await queue.idle();
    queue.settle(sent[2].message.id);
    await queue.idle();
    assert.deepEqual(sent.map((entry) => [n(entry.message), entry.at]), [[1, 0], [2, 0], [3, 0]]);
    await clock.advance(60_000, queue);
    assert.deepEqual(sent.map((entry) => [n(entry.message), entry.at]), [[1, 0], [2, 0], [3, 0], [1, 60_000]]);
  });

  it('counts no answer within ackTimeout as a failure', async function () {
    await start({ ackTimeoutMs: 30_000, retryMinMs: 1000 });
    const stored = await queue.enqueue({ payload: { n: 1 } });
    await clock.advance(31_000, queue);
    assert.deepEqual(sent.map((entry) => entry.at), [0, 31_000]);
    assert.equal(sent[1].message.id, stored.id);
    assert.equal(sent[1].message.lastError, 'no answer within 30 s (ackTimeout)');
    assert.equal(queue.settle(stored.id), true);
  });

  it('sends a message past maxAgeHours (a fraction of an hour too) to the dead letters with the last error, after a last try at the deadline', async function () {
    await start({ maxAgeMs: 0.001 * 3_600_000, retryMinMs: 1000, retryMaxMs: 600_000 });
    const stored = await queue.enqueue({ payload: { n: 1 } });
    await queue.idle();
    for (let i = 0; i < 6 && dead.length === 0; i++) {
      queue.settle(sent[sent.length - 1].message.id, `HTTP 503 #${i}`);
      await queue.idle();
      if (dead.length === 0) await clock.next(queue);
    }
    assert.deepEqual(sent.map((entry) => entry.at), [0, 1000, 3000, 3600], 'the last try is at 3.6 s, not at 7 s');
    assert.equal(dead.length, 1);
    assert.deepEqual({ id: dead[0].message.id, error: dead[0].error, attempts: dead[0].message.attempts, at: dead[0].at }, { id: stored.id, error: 'HTTP 503 #3', attempts: 4, at: 3600 });
    assert.equal(queue.status().queued, 0);
  });

  it('sends every waiting message at once on health-outbox/retry', async function () {
    await start({ concurrency: 10, retryMinMs: 600_000 });
    for (let i = 0; i < 3; i++) await queue.enqueue({ payload: { n: i } });
    await queue.idle();
    for (const entry of [...sent]) queue.settle(entry.message.id, 'HTTP 503');
    await clock.advance(1000, queue);
    assert.equal(sent.length, 3);
    await queue.retryAll();
    await queue.idle();
    assert.deepEqual(sent.slice(3).map((entry) => [n(entry.message), entry.at]), [[0, 1000], [1, 1000], [2, 1000]]);
  });

  it('shows the queued count, the oldest age and the next retry', async function () {
    await start({ concurrency: 1, retryMinMs: 5000 });
    assert.deepEqual(queue.status(), { queued: 0, inFlight: 0 });
    await queue.enqueue({ payload: { n: 1 } });
    await clock.advance(2000, queue);
    await queue.enqueue({ payload: { n: 2 } });
    await queue.idle();
    assert.deepEqual(queue.status(), { queued: 2, inFlight: 1, oldestAgeMs: 2000, nextAt: T0 + 2000 });
    queue.settle(sent[0].message.id, 'HTTP 503');
    await queue.idle();
    queue.settle(sent[1].message.id);
    await queue.idle();
    assert.deepEqual(queue.status(), { queued: 1, inFlight: 0, oldestAgeMs: 2000, nextAt: T0 + 7000 });
  });

  it('keeps at most `concurrency` deliveries in flight', async function () {
    await start({ concurrency: 3 });
    for (let i = 0; i < 10; i++) await queue.enqueue({ payload: { n: i } });
    await queue.idle();
    assert.equal(sent.length, 3);
    queue.settle(sent[0].message.id);
    await queue.idle();
    assert.deepEqual(sent.map((entry) => n(entry.message)), [0, 1, 2, 3]);
  });

  it('sends a message that was in flight at a restart again, with the same id', async function () {
    await start();
    const stored = await queue.enqueue({ payload: { n: 1 } });
    await queue.idle();
    assert.equal(sent.length, 1);
    await queue.close();
    await start();
    assert.deepEqual(sent.map((entry) => entry.message.id), [stored.id, stored.id]);
  });

  describe('order per patient', function () {
    const A = 101;
    const B = 202;
    const label = (message: StoredMessage): string => String((message.msg.payload as { label: string }).label);
    /** Answers every delivery in flight: `ok` decides per message. */
    async function answerAll(ok: (label: string) => boolean): Promise<void> {
      await queue.idle();
      for (let round = 0; round < 100; round++) {
        const open = sent.filter((entry) => !answered.has(entry));
        if (open.length === 0) return;
        for (const entry of open) {
          answered.add(entry);
          queue.settle(entry.message.id, ok(label(entry.message)) ? undefined : 'HTTP 503');
          await queue.idle();
        }
      }
    }
    let answered: Set<Sent>;
    beforeEach(function () {
      answered = new Set();
    });

    it('keeps each patient\'s messages in order through an outage, then drains the backlog at once, oldest first', async function () {
      await start({ concurrency: 1, retryMinMs: 1000, retryMaxMs: 8000 });
      let hospitalUp = false;
      const plan: Array<[string, number]> = [['A1', A], ['B1', B], ['A2', A], ['A3', A], ['B2', B], ['C1', 0], ['A4', A]];
      for (const [text, key] of plan) {
        await queue.enqueue({ payload: { label: text } }, key);
        await answerAll(() => hospitalUp);
        await clock.advance(700, queue);
        await answerAll(() => hospitalUp);
      }
      // a minute of outage: only the oldest message of each patient (and C1, which has none) is tried
      for (let second = 0; second < 60; second++) {
        await clock.advance(1000, queue);
        await answerAll(() => hospitalUp);
      }
      assert.deepEqual([...new Set(sent.map((entry) => label(entry.message)))].sort(), ['A1', 'B1', 'C1']);
      const triedBeforeUp = sent.length;
      hospitalUp = true;
      await clock.advance(8000, queue);
      await answerAll(() => hospitalUp);
      const delivered = sent.slice(triedBeforeUp).map((entry) => label(entry.message));
      const order = (prefix: string): string[] => delivered.filter((text) => text.startsWith(prefix));
      assert.deepEqual(order('A'), ['A1', 'A2', 'A3', 'A4']);
      assert.deepEqual(order('B'), ['B1', 'B2']);
      assert.equal(queue.status().queued, 0);
      // once the first one got through (answered at the end of those 8 s), the rest went at that
      // moment: the recovery made every message due, none waited for its own backoff
      assert.deepEqual(sent.slice(triedBeforeUp + 1).map((entry) => entry.at).filter((at) => at !== clock.now() - T0), []);
      assert.ok(sent.length - triedBeforeUp === 7);
    });

    it('keeps the order per patient across a restart', async function () {
      await start({ concurrency: 1, retryMinMs: 1000 });
      for (const text of ['A1', 'A2', 'A3']) await queue.enqueue({ payload: { label: text } }, A);
      await queue.idle();
      queue.settle(sent[0].message.id, 'HTTP 503');
      await queue.idle();
      await queue.close();
      sent = [];
      await start({ concurrency: 1, retryMinMs: 1000 });
      assert.equal(sent.length, 0, 'A1 waits for its retry; A2 and A3 wait for A1');
      await clock.advance(1000, queue);
      assert.deepEqual(sent.map((entry) => label(entry.message)), ['A1']);
      await answerAll(() => true);
      assert.deepEqual(sent.map((entry) => label(entry.message)), ['A1', 'A2', 'A3']);
    });

    it('lets a patient\'s later messages go once the hospital refuses one while it accepts others', async function () {
      await start({ concurrency: 1, retryMinMs: 1000, retryMaxMs: 4000, maxAgeMs: 30_000 });
      for (const [text, key] of [['A1', A], ['A2', A], ['B1', B], ['B2', B]] as const) {
        await queue.enqueue({ payload: { label: text } }, key);
      }
      const poison = (text: string): boolean => text !== 'A1';
      await answerAll(poison);
      // A1 failed, B1 and B2 went; A1 failed again after those: it is refused for what it is
      assert.deepEqual(sent.map((entry) => label(entry.message)), ['A1', 'B1', 'B2']);
      await clock.advance(1000, queue);
      await answerAll(poison);
      assert.deepEqual(sent.map((entry) => label(entry.message)), ['A1', 'B1', 'B2', 'A1', 'A2']);
      // A1 goes on alone, on its own backoff, until maxAge sends it to output 2
      for (let second = 0; second < 40 && dead.length === 0; second++) {
        await clock.advance(1000, queue);
        await answerAll(poison);
      }
      assert.deepEqual(dead.map((entry) => [label(entry.message), entry.error, entry.at]), [['A1', 'HTTP 503', 30_000]]);
      assert.equal(queue.status().queued, 0);
    });

    it('unblocks a refused message after its third failure where its patient is the only one waiting', async function () {
      await start({ concurrency: 1, retryMinMs: 1000, retryMaxMs: 4000, maxAgeMs: 3_600_000 });
      for (const text of ['A1', 'A2', 'A3']) await queue.enqueue({ payload: { label: text } }, A);
      const poison = (text: string): boolean => text !== 'A1';
      for (let second = 0; second < 10; second++) {
        await answerAll(poison);
        await clock.advance(1000, queue);
      }
      await answerAll(poison);
      const labels = sent.map((entry) => label(entry.message));
      assert.deepEqual(labels.slice(0, 3), ['A1', 'A1', 'A1'], 'three tries of A1 first');
      assert.ok(labels.includes('A2') && labels.includes('A3'), `A2 and A3 went after those (${labels.join(' ')})`);
      assert.equal(queue.status().queued, 1, 'A1 alone waits, on its own backoff');
    });

    it('lets at most one later message of a patient alone pass its oldest through an outage, however long', async function () {
      await start({ concurrency: 1, retryMinMs: 1000, retryMaxMs: 4000, maxAgeMs: 3_600_000 });
      for (const text of ['A1', 'A2', 'A3', 'A4', 'A5']) await queue.enqueue({ payload: { label: text } }, A);
      let up = false;
      for (let second = 0; second < 120; second++) {
        await answerAll(() => up);
        await clock.advance(1000, queue);
      }
      // what went out while A1 waited: A1 let past after its third failure, for one message only
      const before = new Set(sent.map((entry) => label(entry.message)));
      assert.deepEqual([...before].sort(), ['A1', 'A2'], 'only A2 overtook A1 while the hospital was away');
      up = true;
      for (let second = 0; second < 10; second++) {
        await answerAll(() => up);
        await clock.advance(1000, queue);
      }
      const delivered = sent.filter((entry) => answered.has(entry)).slice(-5).map((entry) => label(entry.message));
      assert.equal(queue.status().queued, 0);
      // once the hospital is back: A2 or A1 first (whichever was due), then the rest in order
      assert.deepEqual(delivered.filter((text) => text !== 'A2'), ['A1', 'A3', 'A4', 'A5'], delivered.join(' '));
    });

    it('keeps the order after an outage even when a message fails once more while the hospital recovers', async function () {
      await start({ concurrency: 1, retryMinMs: 1000, retryMaxMs: 1000 });
      for (const [text, key] of [['A1', A], ['B1', B], ['B2', B]] as const) await queue.enqueue({ payload: { label: text } }, key);
      let up = false;
      let flaky = 0;
      for (let second = 0; second < 5; second++) {
        await answerAll(() => up);
        await clock.advance(1000, queue);
      }
      up = true;
      // the first B1 after the outage fails once more (a 503 while the hospital warms up)
      await answerAll((text) => !(text === 'B1' && flaky++ === 0));
      for (let second = 0; second < 3; second++) {
        await clock.advance(1000, queue);
        await answerAll(() => true);
      }
      const delivered = sent.filter((entry) => answered.has(entry)).map((entry) => label(entry.message));
      const lastB1 = delivered.lastIndexOf('B1');
      assert.ok(lastB1 >= 0 && lastB1 < delivered.indexOf('B2'), `B1 before B2 (${delivered.join(' ')})`);
      assert.equal(queue.status().queued, 0);
    });
  });

  describe('a failing disk', function () {
    /** Makes the next `calls` calls of fs[name] fail with EIO. */
    function failNext(name: 'fdatasync' | 'read', calls = 1): () => void {
      const original = fs[name] as (...args: unknown[]) => void;
      let left = calls;
      (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        if (left-- > 0) {
          const callback = args[args.length - 1] as (error: Error) => void;
          const error = Object.assign(new Error('i/o error'), { code: 'EIO' });
          setImmediate(() => callback(error));
          return;
        }
        original(...args);
      };
      return () => { (fs as unknown as Record<string, unknown>)[name] = original; };
    }
    const errors: unknown[] = [];
    beforeEach(function () {
      errors.length = 0;
    });

    it('tries a message again whose failure could not be written', async function () {
      await start({ retryMinMs: 1000, onError: (error) => errors.push(error) });
      const stored = await queue.enqueue({ payload: { n: 1 } });
      await queue.idle();
      const restore = failNext('fdatasync');
      try {
        queue.settle(stored.id, 'HTTP 503');
        await queue.idle();
      } finally {
        restore();
      }
      assert.equal(errors.length, 1, 'the write error was reported');
      await clock.advance(1000, queue);
      assert.deepEqual(sent.map((entry) => entry.message.id), [stored.id, stored.id], 'handed out again after its backoff');
    });

    it('wakes up again after a read error, and the message goes out', async function () {
      await start({ retryMinMs: 1000, onError: (error) => errors.push(error) });
      const restore = failNext('read');
      try {
        await queue.enqueue({ payload: { n: 1 } });
        await queue.idle();
      } finally {
        restore();
      }
      assert.equal(sent.length, 0);
      assert.equal(errors.length, 1);
      await clock.advance(61_000, queue);
      assert.equal(sent.length, 1, 'read again a minute later');
    });
  });
});
