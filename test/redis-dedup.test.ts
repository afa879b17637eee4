import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RedisDedupStore, CLAIM_MARGIN_MS } from '../src/lib/dedup';
import { COMMAND_TIMEOUT_MS, FIRST_CONNECTION_WAIT_MS, RedisConnection, redisPropertiesSchema } from '../src/lib/redis';
import { RedisServer } from './harness/redis';

/**
 * The Redis connection and dedup store on a real redis-server, without Node-RED: claims atomic
 * across many stores (instances), a release that leaves another's claim alone, commands that fail
 * at once while Redis is down and work again after it is back, the eviction check, credentials.
 */

const HOUR = 3_600_000;

function connect(server: RedisServer, extra: Record<string, unknown> = {}): RedisConnection {
  return new RedisConnection(redisPropertiesSchema.parse({ url: server.url, prefix: 'hb-unit:', ...extra }));
}

async function connected(connection: RedisConnection): Promise<void> {
  connection.use();
  if (!connection.connected) await once(connection, 'state', { signal: AbortSignal.timeout(10_000) }).then(() => connected(connection));
}

describe('health-redis: the connection and the dedup store on a real Redis', function () {
  this.timeout(60_000);
  let server: RedisServer | undefined;
  const connections: RedisConnection[] = [];
  const open = async (extra: Record<string, unknown> = {}): Promise<RedisConnection> => {
    const connection = connect(server!, extra);
    connections.push(connection);
    await connected(connection);
    return connection;
  };
  afterEach(async function () {
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
    await server?.stop();
    server = undefined;
  });

  it('of 200 concurrent claims of one key from 10 instances exactly one wins; after confirm every claim is seen, for the dedup window', async function () {
    server = await RedisServer.start();
    const stores = await Promise.all(Array.from({ length: 10 }, async () => new RedisDedupStore((await open()).use(), { windowMs: 72 * HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' })));
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => stores[n % stores.length]!.claim('push-1')));
    assert.equal(results.filter((result) => result === 'claimed').length, 1);
    assert.equal(results.filter((result) => result === 'pending').length, 199);
    const winner = stores[results.indexOf('claimed') % stores.length]!;
    // a pending claim expires by itself if its instance dies: ackTimeout plus a margin
    const [key] = (await server.command('KEYS', 'hb-unit:dedup:rx:*')).match(/hb-unit:dedup:rx:[0-9a-f]{32}/g) ?? [];
    assert.ok(key);
    const pendingTtl = Number((await server.command('PTTL', key)).slice(1));
    assert.ok(pendingTtl > 0 && pendingTtl <= 4000 + CLAIM_MARGIN_MS, String(pendingTtl));

    await winner.confirm('push-1');
    assert.deepEqual(await Promise.all(stores.map((store) => store.claim('push-1'))), stores.map(() => 'seen'));
    const seenTtl = Number((await server.command('PTTL', key)).slice(1));
    assert.ok(seenTtl > 71 * HOUR && seenTtl <= 72 * HOUR, String(seenTtl));
  });

  it('release frees the key for the retry, but leaves a claim another instance took after its own expired', async function () {
    server = await RedisServer.start();
    const client = (await open()).use();
    const a = new RedisDedupStore(client, { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' });
    const b = new RedisDedupStore(client, { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' });
    assert.equal(await a.claim('push-2'), 'claimed');
    await a.release('push-2');
    assert.equal(await b.claim('push-2'), 'claimed', 'released: the retry is emitted');

    assert.equal(await a.claim('push-3'), 'claimed');
    // a's claim expires (its flow was slower than ackTimeout and the margin) and b claims the key
    await server.command('FLUSHALL');
    assert.equal(await b.claim('push-3'), 'claimed');
    await a.release('push-3');
    assert.equal(await a.claim('push-3'), 'pending', "a's late release left b's claim in place");
    await b.confirm('push-3');
    assert.equal(await a.claim('push-3'), 'seen');
  });

  it('ack: auto (confirmAtClaim): the claim is seen by the others at once, for the window, and a release still frees it', async function () {
    server = await RedisServer.start();
    const client = (await open()).use();
    const options = { windowMs: 2 * HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:auto:', confirmAtClaim: true };
    const a = new RedisDedupStore(client, options);
    const b = new RedisDedupStore(client, options);
    assert.equal(await a.claim('auto-1'), 'claimed');
    assert.equal(await b.claim('auto-1'), 'seen');
    const [key] = (await server.command('KEYS', 'hb-unit:dedup:auto:*')).match(/hb-unit:dedup:auto:[0-9a-f]{32}/g) ?? [];
    const ttl = Number((await server.command('PTTL', key!)).slice(1));
    assert.ok(ttl > HOUR && ttl <= 2 * HOUR, String(ttl));
    await a.confirm('auto-1');
    assert.equal(await b.claim('auto-1'), 'seen');
    assert.equal(await a.claim('auto-2'), 'claimed');
    await a.release('auto-2');
    assert.equal(await b.claim('auto-2'), 'claimed');
  });

  it('while Redis is down a claim fails at once (no queue waiting for it); once it is back the same connection claims again', async function () {
    server = await RedisServer.start();
    const connection = await open();
    const store = new RedisDedupStore(connection.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' });
    const problems: string[] = [];
    connection.on('problem', (message) => problems.push(message));
    await server.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let n = 0; n < 3; n++) {
      const started = Date.now();
      await assert.rejects(store.claim(`down-${n}`));
      assert.ok(Date.now() - started < 1000, `the claim failed after ${Date.now() - started} ms`);
    }
    assert.notEqual(connection.state, 'connected');
    await server.resume();
    const until = Date.now() + 15_000;
    for (;;) {
      const result = await store.claim('after').catch(() => undefined);
      if (result) {
        assert.equal(result, 'claimed');
        break;
      }
      if (Date.now() > until) throw new Error('no claim after Redis came back');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(connection.state, 'connected');
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^redis:\/\/127\.0\.0\.1:\d+: /);
  });

  it('a claim made while the first connection after a deploy is being made waits for it (no 503 for a connection nobody lost); with no server at all it fails within the wait', async function () {
    server = await RedisServer.start();
    const fresh = connect(server);
    connections.push(fresh);
    const store = new RedisDedupStore(fresh.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:', beforeClaim: () => fresh.firstConnection() });
    assert.equal(fresh.state, 'connecting');
    assert.equal(await store.claim('at-deploy'), 'claimed');

    const port = server.port;
    await server.stop();
    server = undefined;
    const nobody = new RedisConnection(redisPropertiesSchema.parse({ url: `redis://127.0.0.1:${port}`, prefix: 'hb-unit:' }));
    connections.push(nobody);
    const lonely = new RedisDedupStore(nobody.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:', beforeClaim: () => nobody.firstConnection() });
    const started = Date.now();
    await assert.rejects(lonely.claim('no-server'));
    assert.ok(Date.now() - started < FIRST_CONNECTION_WAIT_MS + 3000, `failed after ${Date.now() - started} ms`);
  });

  it('a server that stops answering with its connection open (frozen): a claim fails within the command timeout, and works again once it answers', async function () {
    server = await RedisServer.start();
    const connection = await open();
    const store = new RedisDedupStore(connection.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' });
    assert.equal(await store.claim('before'), 'claimed');
    server.freeze();
    try {
      const started = Date.now();
      await assert.rejects(store.claim('frozen'));
      const took = Date.now() - started;
      // not sooner than the timeout (it was the timeout that ended it), and not for ever
      assert.ok(took >= COMMAND_TIMEOUT_MS - 100 && took < COMMAND_TIMEOUT_MS + 5000, `the claim failed after ${took} ms`);
    } finally {
      server.thaw();
    }
    const until = Date.now() + 15_000;
    for (;;) {
      const result = await store.claim('after-thaw').catch(() => undefined);
      if (result) {
        assert.equal(result, 'claimed');
        break;
      }
      if (Date.now() > until) throw new Error('no claim after the server answered again');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('reads the eviction policy at each connection, and takes a server that refuses CONFIG', async function () {
    server = await RedisServer.start({ config: { 'maxmemory-policy': 'volatile-lru' } });
    const watched = connect(server);
    connections.push(watched);
    const policy = once(watched, 'policy', { signal: AbortSignal.timeout(10_000) });
    watched.use();
    assert.deepEqual(await policy, ['volatile-lru']);
    await server.stop();

    server = await RedisServer.start({ config: { 'rename-command': ['CONFIG', ''] } });
    const refused = connect(server);
    connections.push(refused);
    const unknown = once(refused, 'policy', { signal: AbortSignal.timeout(10_000) });
    refused.use();
    assert.deepEqual(await unknown, ['unknown']);
    assert.equal(refused.state, 'connected');
  });

  it('logs in as an ACL user with the credentials, and a refused login says so without the password', async function () {
    server = await RedisServer.start({ config: { user: ['bridge', 'on', '>right-pw-123', '~hb-unit:*', '+@all'] } });
    const good = await open({ username: 'bridge', password: 'right-pw-123' });
    const store = new RedisDedupStore(good.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:rx:' });
    assert.equal(await store.claim('acl'), 'claimed');

    const bad = connect(server, { username: 'bridge', password: 'wrong-pw-456' });
    connections.push(bad);
    const problem = once(bad, 'problem', { signal: AbortSignal.timeout(10_000) });
    bad.use();
    const [message] = (await problem) as [string];
    assert.match(message, /WRONGPASS|invalid username-password/i);
    assert.doesNotMatch(message, /wrong-pw-456|right-pw-123/);
    assert.notEqual(bad.state, 'connected');
  });

  it('TLS (rediss://): trusts the server with the CA file given, and refuses a server the system CAs do not vouch for', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-redis-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    } catch (error) {
      throw new Error(`this test makes its certificate with openssl, which failed (${(error as Error).message}): apt-get install openssl`);
    }
    server = await RedisServer.start({ tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } });
    assert.match(server.url, /^rediss:/);
    const trusted = await open({ ca: path.join(dir, 'cert.pem') });
    const store = new RedisDedupStore(trusted.use(), { windowMs: HOUR, ackTimeoutMs: 4000, keyPrefix: 'hb-unit:dedup:tls:' });
    assert.equal(await store.claim('tls'), 'claimed');

    const untrusted = connect(server);
    connections.push(untrusted);
    const problem = once(untrusted, 'problem', { signal: AbortSignal.timeout(10_000) });
    untrusted.use();
    assert.match(((await problem) as [string])[0], /certificate/i);
    assert.notEqual(untrusted.state, 'connected');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a URL that carries a password, and a scheme other than redis:// or rediss://', function () {
    const refused = redisPropertiesSchema.safeParse({ url: 'redis://:secret@127.0.0.1:6379' });
    assert.equal(refused.success, false);
    assert.doesNotMatch(JSON.stringify(refused.error?.issues.map((issue) => issue.message)), /secret/);
    assert.equal(redisPropertiesSchema.safeParse({ url: 'http://127.0.0.1:6379' }).success, false);
    assert.equal(redisPropertiesSchema.safeParse({ url: 'rediss://redis.example.org:6380/2' }).success, true);
    assert.deepEqual({ ...redisPropertiesSchema.parse({ url: '', prefix: '', ca: '' }) }, { url: 'redis://127.0.0.1:6379', prefix: 'health-bridge:', tls: false, ca: '' });
  });
});
