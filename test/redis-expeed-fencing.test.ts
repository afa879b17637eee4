import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Sealer } from '../src/lib/at-rest';
import { RedisConnection, redisPropertiesSchema } from '../src/lib/redis';
import { ExpeedError } from '../src/lib/vendors/expeed';
import { RedisTokenStore } from '../src/lib/vendors/expeed/redis-token-store';
import type { KeptToken } from '../src/lib/vendors/expeed/token-store';
import { RedisServer } from './harness/redis';

/**
 * The shared token store of expeed-account's `state` against a real redis-server: the lock's
 * fencing (a refresher whose lock ran out cannot overwrite the token of the refresh that took the
 * lock after it), the waiters that share one refresh or its failure, the daily count's cap, and the
 * token sealed at rest.
 */

const PREFIX = 'hb-fence:expeed:acct:';
const DAY_MS = 86_400_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('expeed-account state: the shared token store on a real Redis', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let connection: RedisConnection;

  before(async function () {
    redis = await RedisServer.start();
    connection = new RedisConnection(redisPropertiesSchema.parse({ url: redis.url, prefix: 'hb-fence:' }));
    const client = connection.use();
    for (let i = 0; i < 100 && !connection.connected; i++) await sleep(50);
    assert.ok(client.isReady, 'connected to the test Redis');
  });
  after(async function () {
    await connection?.close();
    await redis?.stop();
  });
  beforeEach(async function () {
    await redis.command('FLUSHALL');
  });

  const store = (options: Partial<ConstructorParameters<typeof RedisTokenStore>[1]> = {}): RedisTokenStore =>
    new RedisTokenStore(connection.use(), {
      keyPrefix: PREFIX, apiBase: 'http://expeed.test', platformKey: 'pk', tz: 'Asia/Shanghai', timeoutMs: 5000, now: Date.now, ...options,
    });
  const token = (name: string): KeptToken => ({ accessToken: name, obtainedAt: Date.now(), expiresAt: Date.now() + 7200_000 });
  const always = (): boolean => true;

  it('a refresher whose lock ran out cannot overwrite the newer token; it ends up with the newer one', async function () {
    // A's lock lives 300 ms, and its platform call takes 1.5 s: A stalls past its lock.
    const a = store({ lockTtlMs: 300 });
    const b = store({ lockTtlMs: 5000 });
    let aFetched = false;
    const aRenew = a.renew((kept) => kept.accessToken === 'token-of-b', async () => {
      await sleep(1500);
      aFetched = true;
      return token('token-of-a');
    });
    await sleep(600);
    // A's lock is gone: B takes the lock and writes its token while A is still calling.
    assert.equal(await redis.command('EXISTS', `${PREFIX}lock`), ':0\r\n', "A's lock expired");
    const bToken = await b.renew((kept) => kept.accessToken === 'token-of-b', async () => token('token-of-b'));
    assert.equal(bToken.accessToken, 'token-of-b');
    assert.equal(aFetched, false, 'A is still calling the platform');

    const aToken = await aRenew;
    assert.equal(aToken.accessToken, 'token-of-b', 'A takes the newer token once its write is refused');
    assert.equal((await b.read())?.accessToken, 'token-of-b', 'the shared token is still the newer one');
    // and the write itself, fenced: a stale fence is refused, the holder's accepted
    assert.equal(await a.write('stale-fence', token('late')), false);
    assert.equal((await b.read())?.accessToken, 'token-of-b');
  });

  it('20 stores (instances) asking at once: one fetch, every one gets its token; a failure is shared by those who waited on it', async function () {
    let fetches = 0;
    const stores = Array.from({ length: 20 }, () => store());
    const tokens = await Promise.all(stores.map((s) => s.renew((kept) => kept.accessToken === 'one', async () => {
      fetches++;
      await sleep(300);
      return token('one');
    })));
    assert.equal(fetches, 1);
    assert.deepEqual(new Set(tokens.map((t) => t.accessToken)), new Set(['one']));

    await redis.command('FLUSHALL');
    let failures = 0;
    const outcomes = await Promise.allSettled(stores.map((s) => s.renew(() => false, async () => {
      failures++;
      await sleep(300);
      throw new ExpeedError('token-rejected', { message: '验证失败' });
    })));
    assert.equal(failures, 1, 'the others fail with the outcome of the one call');
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.equal((outcome as PromiseRejectedResult).reason.code, 'token-rejected');
    }
  });

  it('a refresher that died leaves the lock to expire: the next caller takes it', async function () {
    await redis.command('SET', `${PREFIX}lock`, 'a-dead-instance', 'PX', '700');
    const started = Date.now();
    const got = await store().renew(always, async () => token('after-the-dead'));
    assert.equal(got.accessToken, 'after-the-dead');
    assert.ok(Date.now() - started >= 500, 'it waited for the lock to run out');
  });

  it('the daily count refuses past the cap, and expires after the day', async function () {
    const s = store();
    await s.count(2);
    await s.count(2);
    await assert.rejects(s.count(2), (error: ExpeedError) => error.code === 'token-cap');
    assert.equal(s.callsToday, 2);
    const [key] = (await redis.command('KEYS', `${PREFIX}calls:*`)).match(/hb-fence:\S+/) ?? [];
    assert.ok(key);
    const ttl = Number(/:(\d+)/.exec(await redis.command('PTTL', key))?.[1]);
    assert.ok(ttl > DAY_MS && ttl <= 2 * DAY_MS, `expires ${ttl} ms from now`);
  });

  it('with the at-rest key the token is sealed in Redis; an instance with another key cannot read it and says so', async function () {
    const key = randomBytes(32);
    const sealed = store({ sealer: new Sealer(key, 'expeed:acct') });
    await sealed.renew(always, async () => token('secret-access-token'));
    const raw = await redis.command('GET', `${PREFIX}token`);
    assert.doesNotMatch(raw, /secret-access-token/);
    assert.equal((await sealed.read())?.accessToken, 'secret-access-token');

    const told: string[] = [];
    const other = store({ sealer: new Sealer(randomBytes(32), 'expeed:acct'), onUnreadable: (error) => told.push((error as Error).message) });
    assert.equal(await other.read(), undefined);
    assert.deepEqual(told, ['undecryptable']);
  });

  it('Redis unreachable: state-unavailable, and fetch is never called', async function () {
    const s = store();
    await redis.pause();
    try {
      for (let i = 0; i < 100 && connection.connected; i++) await sleep(50);
      let fetched = false;
      await assert.rejects(
        s.renew(always, async () => {
          fetched = true;
          return token('x');
        }),
        (error: ExpeedError) => error.code === 'state-unavailable',
      );
      await assert.rejects(s.count(150), (error: ExpeedError) => error.code === 'state-unavailable');
      assert.equal(fetched, false);
    } finally {
      await redis.resume();
      for (let i = 0; i < 200 && !connection.connected; i++) await sleep(50);
    }
  });
});
