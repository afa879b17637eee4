import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OutboxQueue, type Clock } from '../../src/lib/outbox/queue';
import type { Attempt, OutboxStorage, Removal, StoredMessage, StoredMsg, StoredState } from '../../src/lib/outbox/storage';

/**
 * What a second backend (a Redis stream) has to do for the outbox: keep and return messages, in
 * no order. A storage of a few lines in memory, slow to answer, with no index and no notion of
 * patients, gets from the queue the same promises as the file log: each patient's order,
 * earliest due first, and at least once across a restart.
 */
class MemoryStorage implements OutboxStorage {
  readonly rows = new Map<number, StoredMessage>();
  private lastSeq = 0;

  async stored(visit: (state: StoredState) => void): Promise<void> {
    await tick();
    // in no particular order: the newest first
    for (const message of [...this.rows.values()].reverse()) visit(message);
  }

  async append(msg: StoredMsg, now: number, key = 0): Promise<StoredMessage> {
    let ref = 0;
    while (this.rows.has(ref)) ref++;
    const message: StoredMessage = { ref, seq: ++this.lastSeq, id: randomUUID(), enqueuedAt: now, nextAt: now, attempts: 0, key, msg: structuredClone(msg) };
    this.rows.set(ref, message);
    await tick();
    return message;
  }

  async read(state: StoredState): Promise<StoredMessage> {
    await tick();
    const message = this.rows.get(state.ref);
    if (!message || message.seq !== state.seq) throw new Error('not stored');
    return { ...message, ...state };
  }

  async fail(message: StoredMessage, attempt: Attempt): Promise<void> {
    this.rows.set(message.ref, { ...message, attempts: attempt.attempts, nextAt: attempt.nextAt, lastError: attempt.error });
    await tick();
  }

  async remove(message: StoredMessage, _outcome: Removal): Promise<void> {
    this.rows.delete(message.ref);
    await tick();
  }

  async dueAll(now: number): Promise<void> {
    for (const [ref, message] of this.rows) this.rows.set(ref, { ...message, nextAt: now });
    await tick();
  }

  async close(): Promise<void> {}
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Time that stands still unless a test moves it; timers run when it does. */
class StillClock implements Clock {
  time = 1_764_000_000_000;
  timers = new Set<{ at: number; callback: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.time + ms, callback };
    this.timers.add(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as { at: number; callback: () => void });
  }
  async advance(ms: number, queue: OutboxQueue): Promise<void> {
    this.time += ms;
    for (const timer of [...this.timers].filter((entry) => entry.at <= this.time)) {
      this.timers.delete(timer);
      timer.callback();
    }
    await queue.idle();
  }
}

describe('the outbox over a storage that only keeps messages (the seam for a second backend)', function () {
  const label = (message: StoredMessage): string => String(message.msg.label);

  it('keeps each patient\'s order through a failure, hands out the earliest due first, and sends again after a restart', async function () {
    const storage = new MemoryStorage();
    const clock = new StillClock();
    const sent: StoredMessage[] = [];
    const open = (): OutboxQueue => new OutboxQueue({
      storage, clock, concurrency: 4, retryMinMs: 1000, send: (message) => sent.push(message), deadLetter: () => {},
      onError: (error) => { throw error; },
    });
    let queue = open();
    for (const [text, key] of [['A1', 1], ['A2', 1], ['B1', 2], ['C1', 0], ['B2', 2]] as const) await queue.enqueue({ label: text }, key);
    await queue.idle();
    assert.deepEqual(sent.map(label).sort(), ['A1', 'B1', 'C1'], 'one message per patient at a time');
    queue.settle(sent.find((message) => label(message) === 'A1')!.id, 'HTTP 503');
    queue.settle(sent.find((message) => label(message) === 'B1')!.id);
    await queue.idle();
    assert.deepEqual(sent.map(label).slice(3), ['B2'], 'A2 waits behind A1, which waits for its retry');
    await queue.close();

    // a restart: what was in flight (C1, B2) goes out again, A1 at its retry, A2 after it
    sent.length = 0;
    queue = open();
    await queue.idle();
    assert.deepEqual(sent.map(label).sort(), ['B2', 'C1']);
    for (const message of sent) queue.settle(message.id);
    await clock.advance(1000, queue);
    assert.deepEqual(sent.map(label).slice(2), ['A1']);
    assert.equal(sent[2].attempts, 1);
    queue.settle(sent[2].id);
    await queue.idle();
    assert.deepEqual(sent.map(label).slice(3), ['A2']);
    queue.settle(sent[3].id);
    await queue.idle();
    assert.equal(storage.rows.size, 0);
    await queue.close();
  });
});
