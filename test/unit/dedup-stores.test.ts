import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ContextDedupStore, LEGACY_CONTEXT_KEY, MemoryDedupStore, type KeyValueStore } from '../../src/lib/dedup';

/**
 * The two dedup stores a receiver can have without Redis: memory (bounded, expiring) and a
 * Node-RED context store, here a map standing in for one that counts what is written.
 */

const HOUR = 3_600_000;
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class FakeContext implements KeyValueStore {
  readonly values = new Map<string, unknown>();
  readonly writes: string[] = [];
  readonly deletes: string[] = [];
  failing: Error | undefined;

  get(name: string): Promise<unknown> {
    return this.answer(() => structuredClone(this.values.get(name)));
  }
  set(name: string, value: unknown): Promise<void> {
    return this.answer(() => {
      this.writes.push(name);
      this.values.set(name, structuredClone(value));
    });
  }
  delete(name: string): Promise<void> {
    return this.answer(() => {
      this.deletes.push(name);
      this.values.delete(name);
    });
  }
  keys(): Promise<string[]> {
    return this.answer(() => [...this.values.keys()]);
  }
  private async answer<T>(act: () => T): Promise<T> {
    await delay(1);
    if (this.failing) throw this.failing;
    return act();
  }
}

/** A clock the test moves; it starts in the middle of an hour. */
function clock(start = 1_796_000_000_000 + HOUR / 2): { now: () => number; advance(ms: number): void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

async function claimAndConfirm(store: { claim(key: string): Promise<string>; confirm(key: string): Promise<void> }, key: string): Promise<void> {
  assert.equal(await store.claim(key), 'claimed', key);
  await store.confirm(key);
}

describe('the memory dedup store', function () {
  it('gives a key to its first claimer; the others see it pending, then seen once confirmed, free again once released', async function () {
    const store = new MemoryDedupStore({ windowMs: HOUR, maxKeys: 10 });
    assert.deepEqual(await Promise.all([store.claim('a'), store.claim('a'), store.claim('b')]), ['claimed', 'pending', 'claimed']);
    await store.confirm('a');
    await store.release('b');
    assert.deepEqual([await store.claim('a'), await store.claim('b')], ['seen', 'claimed']);
  });

  it('forgets a key after the window and the oldest keys past maxKeys', async function () {
    const time = clock();
    const store = new MemoryDedupStore({ windowMs: HOUR, maxKeys: 3, now: time.now });
    for (const key of ['a', 'b', 'c', 'd']) await claimAndConfirm(store, key);
    assert.equal(await store.claim('a'), 'claimed', 'the oldest was dropped past maxKeys');
    assert.equal(await store.claim('d'), 'seen');
    time.advance(HOUR + 1000);
    assert.equal(await store.claim('d'), 'claimed', 'expired');
  });

  it('with dedupHours 0, lets every copy be claimed', async function () {
    const store = new MemoryDedupStore({ windowMs: 0, maxKeys: 10 });
    await claimAndConfirm(store, 'a');
    assert.equal(await store.claim('a'), 'claimed');
  });
});

describe('the context dedup store', function () {
  it('remembers confirmed keys across a restart', async function () {
    const context = new FakeContext();
    const first = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000 });
    await claimAndConfirm(first, 'reading-1');
    await first.close();
    const second = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000 });
    assert.equal(await second.claim('reading-1'), 'seen');
    assert.equal(await second.claim('reading-2'), 'claimed');
  });

  it('saves keys in one variable per expiry hour, and a later burst rewrites only its own hour', async function () {
    const time = clock();
    const context = new FakeContext();
    const store = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 100_000, now: time.now, saveDelayMs: 5 });
    for (let i = 0; i < 500; i++) await claimAndConfirm(store, `early-${i}`);
    await delay(50);
    time.advance(2 * HOUR);
    context.writes.length = 0;
    for (let i = 0; i < 10; i++) await claimAndConfirm(store, `later-${i}`);
    await delay(50);
    await store.close();
    const buckets = [...context.values.keys()];
    assert.equal(buckets.length, 2, buckets.join());
    assert.ok(buckets.every((name) => /^health-bridge-dedup-h\d+$/.test(name)), buckets.join());
    assert.equal(new Set(context.writes).size, 1, `the burst wrote ${context.writes.join()}`);
    const reloaded = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 100_000, now: time.now });
    assert.deepEqual(await Promise.all(['early-0', 'early-499', 'later-9', 'never'].map((key) => reloaded.claim(key))), ['seen', 'seen', 'seen', 'claimed']);
  });

  it('deletes a bucket whole once its hour has passed', async function () {
    const time = clock();
    const context = new FakeContext();
    const store = new ContextDedupStore(context, { windowMs: HOUR, maxKeys: 1000, now: time.now, saveDelayMs: 5 });
    await claimAndConfirm(store, 'old');
    await delay(50);
    const [oldBucket] = context.values.keys();
    time.advance(3 * HOUR);
    await claimAndConfirm(store, 'new');
    await delay(50);
    await store.close();
    assert.ok(oldBucket && context.deletes.includes(oldBucket), `deleted: ${context.deletes.join()}`);
    assert.equal(context.values.size, 1);
  });

  it('reads the keys 0.1.0 saved in one variable once, writes them as buckets and deletes the old variable', async function () {
    const time = clock();
    const context = new FakeContext();
    // 0.1.0's format: the first 16 bytes of the key's SHA-256 in base64, and the expiry in epoch ms
    const saved = (key: string, expiresAtMs: number): [string, number] => [createHash('sha256').update(key).digest().subarray(0, 16).toString('base64'), expiresAtMs];
    context.values.set(LEGACY_CONTEXT_KEY, [saved('kept', time.now() + 10 * HOUR), saved('expired', time.now() - 1000), saved('later', time.now() + 50 * HOUR)]);
    const store = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000, now: time.now });
    assert.deepEqual([await store.claim('kept'), await store.claim('later'), await store.claim('expired')], ['seen', 'seen', 'claimed']);
    await store.close();
    assert.equal(context.values.has(LEGACY_CONTEXT_KEY), false);
    assert.equal(context.values.size, 2, [...context.values.keys()].join());
    const writesBefore = context.writes.length;
    const again = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000, now: time.now });
    assert.deepEqual([await again.claim('kept'), await again.claim('later')], ['seen', 'seen']);
    await again.close();
    assert.equal(context.writes.length, writesBefore, 'a load of buckets writes nothing');
  });

  it('fails claims while it cannot read the saved keys, and reads them once the store is back', async function () {
    const context = new FakeContext();
    const first = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000 });
    await claimAndConfirm(first, 'reading-1');
    await first.close();
    context.failing = new Error('context store down');
    const reported: unknown[] = [];
    const second = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000, onError: (error) => reported.push(error) });
    await assert.rejects(second.claim('reading-1'), /context store down/);
    assert.deepEqual(reported.map((error) => (error as Error).message), ['context store down'], 'the load at start is reported');
    context.failing = undefined;
    assert.equal(await second.claim('reading-1'), 'seen');
  });

  it('reports a save that fails and writes the keys with the next change', async function () {
    const context = new FakeContext();
    const errors: unknown[] = [];
    const store = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000, saveDelayMs: 5, onError: (error) => errors.push(error) });
    assert.equal(await store.claim('warm-up'), 'claimed');
    context.failing = new Error('disk full');
    await store.confirm('reading-1');
    await delay(50);
    assert.deepEqual(errors.map((error) => (error as Error).message), ['disk full']);
    context.failing = undefined;
    await claimAndConfirm(store, 'reading-2');
    await store.close();
    const reloaded = new ContextDedupStore(context, { windowMs: 72 * HOUR, maxKeys: 1000 });
    assert.deepEqual([await reloaded.claim('reading-1'), await reloaded.claim('reading-2')], ['seen', 'seen']);
  });
});
