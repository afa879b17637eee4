import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyFixture, httpDelivery, placed, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed } from './harness/node-red';
import { RedisServer } from './harness/redis';

/**
 * Two real Node-RED processes with the same flow, as behind one load balancer, and one real
 * Redis: a receiver with `state` (a health-redis config node) emits a push once whichever
 * instances its copies reach, answers 503 while Redis is down and takes pushes again by itself
 * once it is back. Each emitted reading is delivered (`ack: flow`) to a hospital server in this
 * process, which counts what it gets: the count a hospital would see.
 */

/** The hospital: counts each reading it stores, by the reading's id (`sinocare:<testId>`). */
class Hospital {
  readonly stored = new Map<string, number>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reading = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string };
      const id = String(reading.id);
      this.stored.set(id, (this.stored.get(id) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  get total(): number {
    return [...this.stored.values()].reduce((sum, count) => sum + count, 0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const ACCEPTED = { code: 0, msg: '' };
const RETRY = { code: 503, msg: 'temporarily unavailable' };

let pushNumber = 0;
function sinocarePush(): any {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = `redis-${process.pid}-${++pushNumber}`;
  return body;
}

/** The flow both instances run: the receiver (with `state` when `redisUrl` is given) delivering to the hospital. */
function flow(hospitalPort: number, redisUrl?: string, ack: 'flow' | 'auto' = 'flow'): object[] {
  const nodes = receiverFlow({
    type: 'sinocare-in', path: '/sinocare', sink: 'never-answer',
    properties: { ack, ackTimeout: 10, ...(redisUrl && { state: 'shared' }) },
  }) as Array<Record<string, any>>;
  // each reading to the hospital, and only then health-ack answers the vendor; the sink sees them too
  const rx = nodes.find((node) => node.id === 'rx')!;
  rx.wires = [['rx-readings', 'req'], ['rx-events']];
  return [
    ...nodes,
    ...placed(httpDelivery('tab-rx', `http://127.0.0.1:${hospitalPort}/in`, 'the hospital').map((node) => ({ ...node }))),
    ...placed([{ id: 'hm', z: 'tab-rx', type: 'health-metrics', name: '', path: '/metrics', allow: '127.0.0.1', processMetrics: false, credentials: {} }]),
    ...(redisUrl ? [{ id: 'shared', type: 'health-redis', name: '', url: redisUrl, prefix: 'hb-test:', tls: false, ca: '', credentials: {} }] : []),
  ];
}

async function pushUntilAccepted(url: string, body: unknown, deadline: number): Promise<void> {
  for (;;) {
    const answer = await postJson(url, body);
    if (answer.status === 200) {
      assert.deepEqual(answer.json, ACCEPTED);
      return;
    }
    assert.equal(answer.status, 503, answer.text);
    assert.deepEqual(answer.json, RETRY);
    if (Date.now() > deadline) throw new Error('a push still refused long after Redis came back');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('health-redis: two Node-RED instances behind one load balancer share the receivers\' dedup', function () {
  this.timeout(180_000);
  let redis: RedisServer | undefined;
  let hospital: Hospital;
  let hospitalPort: number;
  let instances: NodeRed[] = [];

  async function startBoth(redisUrl?: string, ack: 'flow' | 'auto' = 'flow'): Promise<[NodeRed, NodeRed]> {
    instances = await Promise.all([0, 1].map(() => NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })));
    await Promise.all(instances.map((instance) => instance.deploy(flow(hospitalPort, redisUrl, ack))));
    return instances as [NodeRed, NodeRed];
  }

  beforeEach(async function () {
    hospital = new Hospital();
    hospitalPort = await hospital.start();
  });
  afterEach(async function () {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await redis?.stop();
    redis = undefined;
    await hospital.close();
  });

  it('50 concurrent copies of one push spread over both instances: one reading stored, every copy answered with success', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth(redis.url);
    for (let round = 0; round < 3; round++) {
      const body = sinocarePush();
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, copy) => postJson(`${(copy % 2 ? b : a).url}/sinocare`, body)),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(answer.json, ACCEPTED);
      }
      assert.equal(hospital.stored.get(`sinocare:${body.data.testId}`), 1, `round ${round}: stored ${hospital.stored.get(`sinocare:${body.data.testId}`)} times`);
    }
    const emitted = (await a.settledMessages('rx/readings')).length + (await b.settledMessages('rx/readings')).length;
    assert.equal(emitted, 3, 'one reading emitted in all, per push');
    assert.equal(hospital.total, 3);
    // The keys are under the prefix, and a confirmed one is kept for the dedup window.
    const keys = await redis.command('KEYS', '*');
    assert.equal((keys.match(/hb-test:dedup:rx:[0-9a-f]{32}/g) ?? []).length, 3, keys);
    assert.doesNotMatch(keys, /\$\d+\r\n(?!hb-test:)/, 'every key starts with the prefix');
    // a server that does not evict: no warning
    for (const instance of [a, b]) assert.doesNotMatch(instance.logs, /maxmemory-policy/);
  });

  it('ack: auto (answered before the hospital has it): the same, one reading stored of 50 copies', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth(redis.url, 'auto');
    const body = sinocarePush();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, copy) => postJson(`${(copy % 2 ? b : a).url}/sinocare`, body)));
    for (const answer of answers) assert.deepEqual([answer.status, answer.json], [200, ACCEPTED]);
    await waitFor(() => hospital.total >= 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(hospital.stored.get(`sinocare:${body.data.testId}`), 1);
  });

  it('without state, the same 50 copies are stored twice: each instance dedups only what it sees', async function () {
    const [a, b] = await startBoth();
    const body = sinocarePush();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, copy) => postJson(`${(copy % 2 ? b : a).url}/sinocare`, body)));
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    assert.equal(hospital.stored.get(`sinocare:${body.data.testId}`), 2);
  });

  it('Redis down for 10 s: 503 (the vendor retries) and a red status; once it is back every push is taken, none stored twice', async function () {
    // What docs/redis.md recommends: every acknowledged write on disk before Redis answers.
    redis = await RedisServer.start({ config: { appendonly: 'yes', appendfsync: 'always' } });
    const [a, b] = await startBoth(redis.url);
    const at = (n: number): string => `${(n % 2 ? b : a).url}/sinocare`;
    const status = async (instance: NodeRed): Promise<{ connected: boolean }[]> =>
      (await request(`${instance.url}/health-bridge/status`)).json as any;
    const connectedGauge = async (instance: NodeRed): Promise<string | undefined> =>
      /^health_bridge_redis_connected\{node="shared",name=""\} (\d)$/m.exec((await request(`${instance.url}/metrics`)).text)?.[1];
    assert.equal(await connectedGauge(a), '1');

    const before = Array.from({ length: 6 }, sinocarePush);
    for (const [n, body] of before.entries()) await pushUntilAccepted(at(n), body, Date.now() + 10_000);
    assert.equal(hospital.total, 6);

    await redis.pause();
    // the status says so before any push comes
    for (const instance of [a, b]) {
      await waitFor(() => instance.messages.some((m) => m.sink === 'rx/statuses' && m.msg.status.fill === 'red' && /^Redis not connected \(redis:\/\/127\.0\.0\.1:\d+\): pushes answered 503$/.test(m.msg.status.text)), 10_000);
    }
    const during: any[] = [];
    const downUntil = Date.now() + 10_000;
    for (let n = 0; Date.now() < downUntil; n++) {
      // new pushes, and copies of those stored before the outage
      const body = n % 3 === 2 ? before[n % before.length] : sinocarePush();
      if (!before.includes(body)) during.push(body);
      const answer = await postJson(at(n), body);
      assert.equal(answer.status, 503, answer.text);
      assert.deepEqual(answer.json, RETRY);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    for (const instance of [a, b]) {
      const statuses = await instance.settledMessages('rx/statuses');
      assert.equal(statuses.at(-1)?.msg.status.fill, 'red');
      assert.match(statuses.at(-1)?.msg.status.text, /dedup store failed: Redis unreachable/);
      assert.deepEqual(((await status(instance)) as any).redis.map((entry: any) => entry.connected), [false]);
      assert.equal(await connectedGauge(instance), '0');
    }
    assert.equal(hospital.total, 6, 'nothing stored while Redis is down');

    await redis.resume();
    // The vendor sends every refused push again, and a few copies of what was stored before.
    const deadline = Date.now() + 30_000;
    for (const [n, body] of [...during, ...before].entries()) await pushUntilAccepted(at(n), body, deadline);
    for (const body of [...before, ...during]) assert.equal(hospital.stored.get(`sinocare:${body.data.testId}`), 1, `${body.data.testId} stored once`);
    assert.equal(hospital.total, before.length + during.length);
    for (const instance of [a, b]) {
      const [recovered] = await instance.waitForMessages(1, 'rx/statuses');
      assert.ok(recovered);
      const statuses = await instance.settledMessages('rx/statuses');
      assert.equal(statuses.at(-1)?.msg.status.fill, 'green');
      assert.deepEqual(((await status(instance)) as any).redis.map((entry: any) => entry.connected), [true]);
      assert.equal(await connectedGauge(instance), '1');
    }
  });

  it('a server that may evict keys (maxmemory-policy allkeys-lru): a warning saying why', async function () {
    redis = await RedisServer.start({ config: { 'maxmemory-policy': 'allkeys-lru' } });
    instances = [await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })];
    await instances[0]!.deploy(flow(hospitalPort, redis.url));
    await waitFor(() => /maxmemory-policy allkeys-lru/.test(instances[0]!.logs), 10_000);
    assert.match(instances[0]!.logs, /\[warn\] \[health-redis:shared\] redis:\/\/127\.0\.0\.1:\d+ has maxmemory-policy allkeys-lru: Redis may evict keys .* an evicted key is a reading emitted twice or lost/);
  });

  it('a URL carrying a password is refused at deploy, naming neither it nor the password, and the receiver answers 503', async function () {
    redis = await RedisServer.start();
    instances = [await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })];
    const nodes = flow(hospitalPort, redis.url.replace('redis://', 'redis://:s3cret-pw@'));
    await instances[0]!.deploy(nodes);
    const answer = await postJson(`${instances[0]!.url}/sinocare`, sinocarePush());
    assert.equal(answer.status, 503);
    const [caught] = await instances[0]!.waitForMessages(1, 'rx/errors');
    assert.match(caught?.msg.error.message, /url must not carry a user name or password: put them in the username and password fields/);
    await waitFor(() => /invalid health-redis connection/.test(instances[0]!.logs), 5000);
    assert.doesNotMatch(instances[0]!.logs, /s3cret-pw/);
    assert.doesNotMatch(JSON.stringify(await instances[0]!.settledMessages()), /s3cret-pw/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
