import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ExpeedCloud } from '../src/sandbox/expeed-cloud';
import { actionFlow, receiverFlow } from './harness/flows';
import { NodeRed } from './harness/node-red';
import { RedisServer } from './harness/redis';

/**
 * expeed-account with `state` (a health-redis config node): two real Node-RED processes running
 * the same flow, as behind one load balancer, one real Redis, and the Expeed emulator counting the
 * token calls it gets. One token and one refresh for both instances and across their restarts; a
 * setting posted on one instance whose result the platform pushes to the other completes the
 * expeed-set waiting on the first; Redis unreachable fails a query that needs a token without
 * calling the platform. Each has its control without `state`.
 */

const PLATFORM_KEY = 'pk-hospital-7';
const SECRET_KEY = 'sk-9f8e7d6c5b4a-never-log-me';
const URL_TOKEN = 'url-token-31415';
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-secret' };

/** The flow both instances run: a query, a token node, a setting and the receiver, on one account. */
function flow(cloud: ExpeedCloud, redisUrl: string | undefined, waitSeconds = 20): object[] {
  const device = { account: 'acct', deviceId: DEVICE.id, credentials: { deviceKey: DEVICE.key } };
  return [
    ...actionFlow({ id: 'q', type: 'expeed-query', name: '', operation: 'status', ids: 'all', limit: 100, first: 0, allPages: false, ...device }),
    ...actionFlow({ id: 't', type: 'expeed-token', name: '', account: 'acct' }),
    ...actionFlow({ id: 's', type: 'expeed-set', name: '', waitSeconds, ...device }),
    ...receiverFlow({ type: 'expeed-in', path: '/expeed', properties: { account: 'acct' } }),
    {
      id: 'acct', type: 'expeed-account', name: '', apiBase: cloud.url, platformKey: PLATFORM_KEY, dailyTokenCap: 150,
      tz: 'Asia/Shanghai', onlineValue: 0, timeout: 5, ...(redisUrl && { state: 'shared' }),
      credentials: { secretKey: SECRET_KEY, handshakeToken: URL_TOKEN },
    },
    ...(redisUrl ? [{ id: 'shared', type: 'health-redis', name: '', url: redisUrl, prefix: 'hb-test:', tls: false, ca: '', credentials: {} }] : []),
  ];
}

describe('expeed-account with state: two Node-RED instances share one token, its count and the setting results', function () {
  this.timeout(300_000);
  let redis: RedisServer | undefined;
  let cloud: ExpeedCloud;
  let instances: NodeRed[] = [];

  async function startBoth(redisUrl: string | undefined, waitSeconds?: number): Promise<[NodeRed, NodeRed]> {
    instances = await Promise.all([0, 1].map(() => NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })));
    await Promise.all(instances.map((instance) => instance.deploy(flow(cloud, redisUrl, waitSeconds))));
    return instances as [NodeRed, NodeRed];
  }

  /** 1,000 queries at once, every other one to each instance; resolves once all are answered. */
  async function thousandQueries(a: NodeRed, b: NodeRed): Promise<void> {
    for (let i = 0; i < 1000; i++) (i % 2 ? b : a).inject('q/in', { payload: i });
    const [fromA, fromB] = await Promise.all([a.waitForMessages(500, 'q/out', 120_000), b.waitForMessages(500, 'q/out', 120_000)]);
    for (const out of [...fromA, ...fromB]) assert.deepEqual(out.msg.payload, { deviceId: DEVICE.id, online: true, status: 1 });
  }

  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE] });
  });
  afterEach(async function () {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await redis?.stop();
    redis = undefined;
    await cloud.close();
  });

  it('1,000 concurrent queries spread over both instances: one token call; after a restart of both, none', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth(redis.url);
    await thousandQueries(a, b);
    assert.equal(cloud.tokenCalls, 1, 'one token call for both instances');
    assert.equal(cloud.apiCalls.status, 1000);
    assert.equal((await a.settledMessages('q/errors')).length + (await b.settledMessages('q/errors')).length, 0);

    // The token is sealed with the at-rest key: Redis does not hold it in clear.
    a.inject('t/in', {});
    const [token] = await a.waitForMessages(1, 't/out');
    const accessToken = String(token?.msg.payload.accessToken);
    assert.match(accessToken, /^[0-9a-f]{32}$/);
    const stored = await redis.command('GET', 'hb-test:expeed:acct:token');
    assert.match(stored, /"sealed":true/);
    assert.doesNotMatch(stored, new RegExp(accessToken));
    assert.match(await redis.command('GET', `hb-test:expeed:acct:calls:${shanghaiDay()}`), /^\$1\r\n1\r\n$/, 'the day\'s count is 1');

    instances = await Promise.all([a, b].map((instance) => instance.restart()));
    const [a2, b2] = instances as [NodeRed, NodeRed];
    await Promise.all([a2, b2].map((instance) => instance.clearMessages()));
    for (let i = 0; i < 10; i++) (i % 2 ? b2 : a2).inject('q/in', { payload: `after restart ${i}` });
    await Promise.all([a2.waitForMessages(5, 'q/out', 30_000), b2.waitForMessages(5, 'q/out', 30_000)]);
    assert.equal(cloud.tokenCalls, 1, 'the shared token is used after both restarted');
    // with state nothing is kept in the user directory
    for (const instance of [a2, b2]) assert.equal(fs.existsSync(path.join(instance.userDir, 'health-bridge', 'expeed-acct.json')), false);
    for (const instance of [a2, b2]) assert.doesNotMatch(instance.logs, new RegExp(`${SECRET_KEY}|${accessToken}`));
  });

  it('without state, the same 1,000 queries cost two token calls: each instance fetches its own', async function () {
    const [a, b] = await startBoth(undefined);
    await thousandQueries(a, b);
    assert.equal(cloud.tokenCalls, 2);
  });

  it('a setting posted on A whose result the platform pushes to B: A\'s expeed-set outputs the success', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth(redis.url);
    // The platform's URL is B's: every result is pushed there.
    assert.equal((await cloud.register(`${b.url}/expeed`, URL_TOKEN)).accepted, true);
    cloud.settingResultDelayMs = 300;
    a.inject('s/in', { payload: { temp: 25 } });
    const [out] = await a.waitForMessages(1, 's/out', 30_000);
    assert.equal(out?.msg.payload.success, true);
    const [event] = await b.waitForMessages(1, 'rx/events');
    assert.equal(event?.msg.payload.data.messageId, out?.msg.payload.messageId, 'B received the result A output');

    // A result pushed before the platform's answer to the POST is read: still found.
    cloud.settingResultDelayMs = 0;
    a.inject('s/in', { payload: { temp: 26 } });
    const outs = await a.waitForMessages(2, 's/out', 30_000);
    assert.equal(outs[1]?.msg.payload.success, true);

    // A failure reported by the device goes to A's Catch the same way.
    cloud.settingResult = 1;
    cloud.settingResultDelayMs = 300;
    a.inject('s/in', { payload: { temp: 99 } });
    const [failed] = await a.waitForMessages(1, 's/errors', 30_000);
    assert.match(failed?.msg.error.message, /reported that setting m\w+ failed/);
    assert.equal((await a.settledMessages('s/errors')).length, 1);
  });

  it('without state, the result pushed to B never reaches A: A\'s expeed-set times out', async function () {
    const [a, b] = await startBoth(undefined, 3);
    assert.equal((await cloud.register(`${b.url}/expeed`, URL_TOKEN)).accepted, true);
    cloud.settingResultDelayMs = 300;
    a.inject('s/in', { payload: { temp: 25 } });
    const [caught] = await a.waitForMessages(1, 's/errors', 30_000);
    assert.match(caught?.msg.error.message, /no setting result for m\w+ within 3 s/);
    await b.waitForMessages(1, 'rx/events');
  });

  it('Redis unreachable: a query that needs a token fails with a clear error and the platform is not called', async function () {
    redis = await RedisServer.start();
    const [a] = await startBoth(redis.url);
    await redis.pause();
    // let the connection notice
    await new Promise((resolve) => setTimeout(resolve, 1000));
    a.inject('q/in', { payload: 'kept' });
    const [caught] = await a.waitForMessages(1, 'q/errors', 30_000);
    assert.equal(caught?.msg.error.code, 'state-unavailable');
    assert.match(caught?.msg.error.message, /the shared state in Redis cannot be used \(.+\): no token is fetched without the shared daily count$/);
    assert.equal(caught?.msg.payload, 'kept');
    assert.equal(cloud.tokenCalls, 0);
    assert.equal(cloud.apiCalls.status, 0);

    await redis.resume();
    // once it is back the next query gets its token
    let answered = false;
    for (let attempt = 0; attempt < 40 && !answered; attempt++) {
      a.inject('q/in', {});
      answered = (await a.settledMessages('q/out', 500)).length > 0;
    }
    assert.ok(answered, 'a query still fails long after Redis came back');
    assert.equal(cloud.tokenCalls, 1);
  });

  it('a state naming no health-redis node: an error at deploy, and queries refused without a token call', async function () {
    instances = [await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })];
    const nodes = (flow(cloud, undefined) as Array<Record<string, unknown>>).map((node) => (node.id === 'acct' ? { ...node, state: 'missing' } : node));
    await instances[0]!.deploy(nodes);
    instances[0]!.inject('q/in', {});
    const [caught] = await instances[0]!.waitForMessages(1, 'q/errors', 30_000);
    assert.match(caught?.msg.error.message, /the shared state in Redis cannot be used \(state names no health-redis config node\)/);
    assert.equal(cloud.tokenCalls, 0);
  });
});

/** Today in the account's zone (Asia/Shanghai, UTC+8 all year). */
function shanghaiDay(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
}
