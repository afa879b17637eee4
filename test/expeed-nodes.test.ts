import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ExpeedCloud, platformSignature } from '../src/sandbox/expeed-cloud';
import { actionFlow, bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';

/**
 * The Expeed nodes against the Expeed emulator (written from the vendor document, not from our
 * code) and a real Node-RED, over real HTTP: one token for many callers and across restarts, the
 * daily cap, the refresh on `result_code 1`, paging through a long history, settings whose result
 * comes back as a push, and the platform's URL check.
 */

const PLATFORM_KEY = 'pk-hospital-7';
const SECRET_KEY = 'sk-9f8e7d6c5b4a-never-log-me';
const URL_TOKEN = 'url-token-31415';
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-secret', sn: 'SN0001' };
const OFFLINE = { id: 'dev-off', key: 'dk-off', online: false };

function account(cloud: ExpeedCloud, id = 'acct', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id, type: 'expeed-account', name: '', apiBase: cloud.url, platformKey: PLATFORM_KEY, dailyTokenCap: 150,
    tz: 'Asia/Shanghai', onlineValue: 0, timeout: 5,
    ...extra,
    credentials: { secretKey: SECRET_KEY, handshakeToken: URL_TOKEN, ...(extra.credentials as object | undefined) },
  };
}

function query(properties: Record<string, unknown> = {}, id = 'q'): { id: string; type: string } & Record<string, unknown> {
  return {
    id, type: 'expeed-query', name: '', account: 'acct', operation: 'status', deviceId: DEVICE.id, ids: 'all', limit: 100,
    first: 0, allPages: false, ...properties, credentials: { deviceKey: DEVICE.key, ...(properties.credentials as object | undefined) },
  };
}

const lastStatus = (messages: SinkMessage[]): { fill?: string; text?: string } | undefined => messages.at(-1)?.msg.status;

describe('expeed nodes against the Expeed emulator', function () {
  this.timeout(180_000);
  let nodeRed: NodeRed;
  let cloud: ExpeedCloud;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'trace' });
  });
  after(async function () {
    await nodeRed?.stop();
  });
  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE, OFFLINE] });
    await nodeRed.clearMessages();
  });
  afterEach(async function () {
    await cloud?.close();
  });

  describe('the access token', function () {
    it('1,000 concurrent queries cause exactly one token call, and a restart causes none', async function () {
      await nodeRed.deploy(actionFlow(query(), [account(cloud)]));
      for (let i = 0; i < 1000; i++) nodeRed.inject('q/in', { payload: i });
      const out = await nodeRed.waitForMessages(1000, 'q/out', 60_000);
      assert.equal(cloud.tokenCalls, 1);
      assert.equal(cloud.apiCalls.status, 1000);
      // The query API says 1 = online; the emulator reports the device online.
      assert.deepEqual(out[0]?.msg.payload, { deviceId: DEVICE.id, online: true, status: 1 });
      assert.deepEqual(new Set(out.map((m) => m.msg.payload.online)), new Set([true]));

      nodeRed = await nodeRed.restart();
      await nodeRed.clearMessages();
      nodeRed.inject('q/in', { payload: 'after restart' });
      await nodeRed.waitForMessages(1, 'q/out');
      assert.equal(cloud.tokenCalls, 1, 'the token kept in the user directory is used after the restart');
      assert.equal(cloud.apiCalls.status, 1001);

      const file = path.join(nodeRed.userDir, 'health-bridge', 'expeed-acct.json');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const saved = fs.readFileSync(file, 'utf8');
      assert.doesNotMatch(saved, new RegExp(SECRET_KEY));
      assert.doesNotMatch(nodeRed.logs, new RegExp(SECRET_KEY));
    });

    it('a token the platform calls expired (result_code 1) costs one refresh and one retry, even for 20 callers at once', async function () {
      await nodeRed.deploy(actionFlow(query(), [account(cloud)]));
      nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(1, 'q/out');
      assert.equal(cloud.tokenCalls, 1);

      cloud.forceTokenExpired(1);
      nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(2, 'q/out');
      assert.equal(cloud.tokenCalls, 2);
      assert.equal(cloud.apiCalls.status, 3, 'the refused call and its one retry');

      cloud.expireAllTokens();
      const statusBefore = cloud.apiCalls.status;
      const expiredBefore = cloud.expiredAnswers;
      for (let i = 0; i < 20; i++) nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(22, 'q/out');
      assert.equal(cloud.tokenCalls, 3);
      // How many of the 20 reach the platform before the refresh is back depends on the machine;
      // whatever the count, each caller told "expired" retried exactly once, and nobody else did.
      const toldExpired = cloud.expiredAnswers - expiredBefore;
      assert.ok(toldExpired >= 1, 'the expired token was used at least once');
      assert.equal(cloud.apiCalls.status - statusBefore, 20 + toldExpired);
      assert.equal((await nodeRed.settledMessages('q/errors')).length, 0);
    });

    it('does not loop when the platform still says expired after the refresh: one retry, then an error', async function () {
      await nodeRed.deploy(actionFlow(query(), [account(cloud)]));
      cloud.forceTokenExpired(2);
      nodeRed.inject('q/in', { payload: 'kept' });
      const [caught] = await nodeRed.waitForMessages(1, 'q/errors');
      assert.match(caught?.msg.error.message, /token expired after one refresh/);
      assert.equal(caught?.msg.payload, 'kept');
      assert.equal(cloud.tokenCalls, 2);
      assert.equal(cloud.apiCalls.status, 2);
    });

    it('wrong keys on the token endpoint are one call and a clear error, without retry', async function () {
      await nodeRed.deploy(actionFlow(query(), [account(cloud, 'acct', { credentials: { secretKey: 'wrong-secret' } })]));
      nodeRed.inject('q/in', {});
      const [caught] = await nodeRed.waitForMessages(1, 'q/errors');
      assert.match(caught?.msg.error.message, /refused the platform key or secret key.*验证失败/);
      assert.equal(cloud.tokenCalls, 1);
      assert.equal(cloud.apiCalls.status, 0);
      assert.doesNotMatch(nodeRed.logs, /wrong-secret/);
    });

    it('the daily cap stops the 151st token call with a clear error and a red status, also after a restart', async function () {
      await nodeRed.deploy(actionFlow(query(), [account(cloud, 'capped')].map((node) => ({ ...node })), ).map((node: any) => (node.account === 'acct' ? { ...node, account: 'capped' } : node)));
      for (let i = 1; i <= 150; i++) {
        // Each query after the first finds its token expired: one token call each.
        if (i > 1) cloud.expireAllTokens();
        nodeRed.inject('q/in', { payload: i });
        await nodeRed.waitForMessages(i, 'q/out');
      }
      assert.equal(cloud.tokenCalls, 150);
      cloud.expireAllTokens();
      nodeRed.inject('q/in', { payload: 151 });
      const [caught] = await nodeRed.waitForMessages(1, 'q/errors');
      assert.match(caught?.msg.error.message, /called 150 times today/);
      assert.equal(cloud.tokenCalls, 150);
      const status = lastStatus(await nodeRed.settledMessages('q/statuses'));
      assert.equal(status?.fill, 'red');
      assert.match(String(status?.text), /150/);

      nodeRed = await nodeRed.restart();
      await nodeRed.clearMessages();
      nodeRed.inject('q/in', { payload: 152 });
      await nodeRed.waitForMessages(1, 'q/errors');
      assert.equal(cloud.tokenCalls, 150, 'the count of the day survives the restart');
    });

    it('expeed-token outputs the cached token with its expiry', async function () {
      await nodeRed.deploy(actionFlow({ id: 't', type: 'expeed-token', name: '', account: 'acct' }, [account(cloud)]));
      const before = Date.now();
      nodeRed.inject('t/in', {});
      const [out] = await nodeRed.waitForMessages(1, 't/out');
      assert.match(out?.msg.payload.accessToken, /^[0-9a-f]{32}$/);
      const expiresAt = Date.parse(out?.msg.payload.expiresAt);
      assert.ok(Math.abs(expiresAt - (before + 7200_000)) < 10_000, out?.msg.payload.expiresAt);
      assert.equal(cloud.tokenCalls, 1);
    });
  });

  describe('expeed-query', function () {
    it('current: one datapoint reading; errors carry the vendor message', async function () {
      await nodeRed.deploy(actionFlow(query({ operation: 'current', ids: 'temp' }), [account(cloud)]));
      nodeRed.inject('q/in', {});
      const [out] = await nodeRed.waitForMessages(1, 'q/out');
      const newest = cloud.seriesLength - 1;
      assert.equal(out?.msg.payload.kind, 'datapoint');
      assert.equal(out?.msg.payload.time, '2024-01-01T00:00:00+08:00');
      assert.deepEqual(out?.msg.payload.values, { temp: { value: 36 + (newest % 10) / 10, unit: '' } });
      assert.equal(cloud.requests.at(-1)?.query.id, 'temp');
      assert.equal(cloud.requests.at(-1)?.deviceKey, DEVICE.key);

      nodeRed.inject('q/in', { deviceId: 'no-such-device' });
      nodeRed.inject('q/in', { deviceKey: 'wrong-key' });
      const caught = await nodeRed.waitForMessages(2, 'q/errors');
      const messages = caught.map((m) => m.msg.error.message).join('\n');
      assert.match(messages, /device does not exist \(result_code 2\): 设备不存在/);
      assert.match(messages, /result_code 3.*Device_key不存在/);
      assert.doesNotMatch(messages, /wrong-key|dk-dev-001-secret/);
    });

    it('passes result_msg on when the platform uses that field', async function () {
      cloud.messageField = 'result_msg';
      await nodeRed.deploy(actionFlow(query(), [account(cloud)]));
      nodeRed.inject('q/in', { deviceId: 'nope' });
      const [caught] = await nodeRed.waitForMessages(1, 'q/errors');
      assert.match(caught?.msg.error.message, /设备不存在/);
    });

    it('history: sends start and end in the vendor form of the account tz and returns one page with its cursor', async function () {
      await nodeRed.deploy(actionFlow(query({ operation: 'history', limit: 5, first: 1 }), [account(cloud)]));
      nodeRed.inject('q/in', { payload: { start: '2023-12-31T15:50:00Z', end: 1704038400000 } });
      const [out] = await nodeRed.waitForMessages(1, 'q/out');
      const sent = cloud.requests.at(-1)?.query;
      assert.equal(sent?.start, '2023-12-31T23-50-00-000');
      assert.equal(sent?.end, '2024-01-01T00-00-00-000');
      assert.equal(sent?.limit, '5');
      assert.equal(sent?.first, '1');
      assert.equal(sent?.id, undefined, 'all: no id, every data point');
      assert.deepEqual(out?.msg.payload.map((r: any) => r.time), [
        '2023-12-31T23:50:00+08:00', '2023-12-31T23:51:00+08:00', '2023-12-31T23:52:00+08:00', '2023-12-31T23:53:00+08:00', '2023-12-31T23:54:00+08:00',
      ]);
      assert.deepEqual(out?.msg.page, { index: 0, cursor: String(Date.UTC(2023, 11, 31, 15, 55)), last: false });

      nodeRed.inject('q/in', { payload: { cursor: out?.msg.page.cursor, start: '2023-12-31T23-50-00-000', end: '2024-01-01T00-00-00-000' } });
      const [, next] = await nodeRed.waitForMessages(2, 'q/out');
      assert.equal(next?.msg.payload[0].time, '2023-12-31T23:55:00+08:00');
    });

    it('refuses a limit outside 1–6000 and a start without an end before calling the platform', async function () {
      await nodeRed.deploy(actionFlow(query({ operation: 'history' }), [account(cloud)]));
      nodeRed.inject('q/in', { payload: { limit: 7000 } });
      nodeRed.inject('q/in', { payload: { start: '2024-01-01T00:00:00+08:00' } });
      const caught = await nodeRed.waitForMessages(2, 'q/errors');
      const text = caught.map((m) => m.msg.error.message).join('\n');
      assert.match(text, /limit must be 1 to 6000/);
      assert.match(text, /start and end must be given together/);
      assert.equal(cloud.apiCalls.history, 0);
    });

    it('allPages: 100,000 points arrive complete, in order, without duplicates, one page at a time with flat memory', async function () {
      // A Node-RED of its own, whose flow runs a full garbage collection before the sink samples
      // the heap: then `heapUsed` is what is alive at each page, not V8's lazily collected garbage.
      const probe = await NodeRed.start({ settingsSource: "functionGlobalContext: { v8: require('v8'), vm: require('vm') }" });
      try {
        cloud.seriesLength = 100_000;
        const flow = actionFlow(query({ operation: 'history', limit: 1000, first: 1, allPages: true }), [account(cloud)]) as any[];
        const gc =
          "let gc = context.get('gc');" +
          "if (!gc) { global.get('v8').setFlagsFromString('--expose-gc'); gc = global.get('vm').runInNewContext('gc'); context.set('gc', gc); }" +
          'gc(); return msg;';
        for (const node of flow) if (node.id === 'q') node.wires = [['q-gc']];
        flow.push({ id: 'q-gc', z: 'tab-q', type: 'function', name: 'gc', func: gc, outputs: 1, x: 300, y: 400, wires: [['q-out']] });
        await probe.deploy(flow);
        probe.inject('q/in', { topic: 'year' });
        await probe.waitForMessages(100, 'q/out', 150_000);
        const pages = await probe.settledMessages('q/out', 500);
        assert.equal(pages.length, 100);
        assert.deepEqual(pages.map((p) => p.msg.page.index), Array.from({ length: 100 }, (_, i) => i));
        assert.deepEqual(pages.map((p) => p.msg.page.last), [...Array(99).fill(false), true]);
        assert.equal(pages[99]?.msg.page.cursor, null);
        assert.ok(pages.every((p) => p.msg.topic === 'year'));
        const values = pages.flatMap((p) => p.msg.payload.map((r: any) => r.values.value1.value));
        assert.equal(values.length, 100_000);
        assert.ok(values.every((value, index) => value === index), 'every point once, oldest first');
        assert.equal(new Set(pages.flatMap((p) => p.msg.payload.map((r: any) => r.id))).size, 100_000);
        assert.equal(cloud.apiCalls.history, 100, 'no page fetched twice, none after the last');

        // Had the node kept the pages it sent (or fetched ahead of delivery), the live heap at the
        // last page would exceed the one at page 10 by at least pages 10–98's readings, and their
        // JSON is a lower bound of what those objects take. Allow a quarter of it for caches
        // and JIT code that grow on their own.
        const heapAt = (index: number): number => pages[index]!.heapUsed;
        const retained = pages.slice(10, 99).reduce((sum, p) => sum + JSON.stringify(p.msg.payload).length, 0);
        const growth = heapAt(99) - heapAt(10);
        if (process.env.HB_HEAP) console.log(pages.map((p) => Math.round(p.heapUsed / 1e6)).join(' '));
        assert.ok(growth < retained / 4, `heap grew ${(growth / 1e6).toFixed(1)} MB from page 10 to the end; pages 10–98 hold ${(retained / 1e6).toFixed(1)} MB of JSON`);
      } finally {
        await probe.stop();
      }
    });

    it('stops paging when a page has no cursor', async function () {
      await nodeRed.deploy(actionFlow(query({ operation: 'history', limit: 3, first: 1, allPages: true }), [account(cloud)]));
      // A cursor at the last three points: that page has no further cursor.
      nodeRed.inject('q/in', { payload: { cursor: String(cloud.pointTime(cloud.seriesLength - 3)) } });
      const pages = await nodeRed.waitForMessages(1, 'q/out');
      assert.equal(pages[0]?.msg.page.last, true);
      assert.equal((await nodeRed.settledMessages('q/out')).length, 1);
      assert.equal(cloud.apiCalls.history, 1);
    });

    it('stops paging when the platform repeats a cursor', async function () {
      cloud.stuckCursor = cloud.pointTime(500);
      await nodeRed.deploy(actionFlow(query({ operation: 'history', limit: 3, first: 1, allPages: true }), [account(cloud)]));
      nodeRed.inject('q/in', {});
      const pages = await nodeRed.waitForMessages(2, 'q/out');
      assert.deepEqual(pages.map((p) => p.msg.page.last), [false, true]);
      assert.equal((await nodeRed.settledMessages('q/out')).length, 2);
      assert.equal(cloud.apiCalls.history, 2);
    });

    it('stops paging at an empty page, which still arrives with last: true', async function () {
      await nodeRed.deploy(actionFlow(query({ operation: 'history', limit: 3, first: 1, allPages: true }), [account(cloud)]));
      // start/end beyond the series: nothing in range.
      nodeRed.inject('q/in', { payload: { start: '2030-01-01T00:00:00+08:00', end: '2030-01-02T00:00:00+08:00' } });
      const [page] = await nodeRed.waitForMessages(1, 'q/out');
      assert.deepEqual(page?.msg.payload, []);
      assert.equal(page?.msg.page.last, true);
      assert.equal(cloud.apiCalls.history, 1);
    });
  });

  describe('expeed-in and expeed-set', function () {
    const receiver = (properties: Record<string, unknown> = {}): object[] =>
      receiverFlow({ type: 'expeed-in', path: '/expeed', properties: { account: 'acct', ...properties } });
    const setter = (properties: Record<string, unknown> = {}): { id: string; type: string } & Record<string, unknown> => ({
      id: 's', type: 'expeed-set', name: '', account: 'acct', deviceId: DEVICE.id, waitSeconds: 5, ...properties,
      credentials: { deviceKey: DEVICE.key },
    });
    const callback = (): string => `${nodeRed.url}/expeed`;

    it('answers the URL check with the nonce when the signature is good and 403 when it is not', async function () {
      await nodeRed.deploy([...receiver(), account(cloud)]);
      const good = await cloud.register(callback(), URL_TOKEN);
      assert.equal(good.status, 200);
      assert.equal(good.text, good.nonce);
      assert.equal(good.accepted, true);

      const nonce = 'n0nce';
      const timestamp = '1700000000';
      const wrong = await request(`${callback()}?signature=${platformSignature('other-token', nonce, timestamp)}&nonce=${nonce}&timestamp=${timestamp}`);
      assert.equal(wrong.status, 403);
      assert.equal((wrong.json as any).result_code, 403);
      const ok = await request(`${callback()}?signature=${platformSignature(URL_TOKEN, nonce, timestamp)}&nonce=${nonce}&timestamp=${timestamp}`);
      assert.equal(ok.status, 200);
      assert.match(String(ok.headers['content-type']), /^text\/plain/);
      assert.equal(ok.text, nonce);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /signature does not match/);
      assert.doesNotMatch(nodeRed.logs, new RegExp(URL_TOKEN));
    });

    it('without a handshake token, refuses the URL check with 403 and says why', async function () {
      await nodeRed.deploy([...receiver(), account(cloud, 'acct', { credentials: { handshakeToken: '' } })]);
      const check = await cloud.register(callback(), URL_TOKEN);
      assert.equal(check.status, 403);
      assert.equal(check.accepted, false);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /no handshake token is set/);
      const status = lastStatus(await nodeRed.settledMessages('rx/statuses'));
      assert.equal(status?.fill, 'red');
    });

    it('turns the platform pushes into events and readings, never passing device_key on', async function () {
      await nodeRed.deploy([...receiver(), account(cloud)]);
      await cloud.register(callback(), URL_TOKEN);
      const statusAnswer = await cloud.pushStatus(DEVICE.id, 0);
      assert.equal(statusAnswer.status, 200);
      assert.deepEqual(JSON.parse(statusAnswer.text), { result_code: 0, result_message: 'ok', result_msg: 'ok' });
      await cloud.pushStatus(DEVICE.id, 0);
      await cloud.pushStatus(DEVICE.id, 1);
      const events = await nodeRed.waitForMessages(3, 'rx/events');
      assert.deepEqual(events.map((e) => e.msg.topic), ['expeed/online', 'expeed/online', 'expeed/offline'], 'status pushes are not deduplicated');

      const elements = [cloud.point(1), cloud.point(2), { ...cloud.point(2), value1: 'x' }];
      await cloud.pushData(DEVICE.id, elements);
      await cloud.pushData(DEVICE.id, elements);
      const readings = await nodeRed.waitForMessages(3, 'rx/readings');
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 3, 'the repeated push is acknowledged, not emitted again');
      assert.deepEqual(readings.map((r) => r.msg.payload.time), [
        // points 1 and 2 of 1000, one a minute up to 2024-01-01T00:00+08:00: 998 and 997 minutes before it
        '2023-12-31T07:22:00+08:00', '2023-12-31T07:23:00+08:00', '2023-12-31T07:23:00+08:00',
      ]);
      assert.deepEqual(readings[0]?.msg.payload.values, { temp: { value: 36.1, unit: '' }, value1: { value: 1, unit: '' } });
      assert.doesNotMatch(JSON.stringify([...events, ...readings].map((m) => m.msg)), new RegExp(DEVICE.key));
      assert.equal(readings[0]?.msg.raw.device_id, DEVICE.id);
    });

    it('a setting round trip: expeed-set outputs success once the result push reaches expeed-in', async function () {
      await nodeRed.deploy([...receiver(), ...actionFlow(setter(), [account(cloud)])]);
      await cloud.register(callback(), URL_TOKEN);
      cloud.settingResultDelayMs = 300;
      nodeRed.inject('s/in', { payload: { temp: 25, switch: 1 } });
      const [out] = await nodeRed.waitForMessages(1, 's/out');
      assert.equal(out?.msg.payload.success, true);
      assert.match(out?.msg.payload.messageId, /^m/);
      const [event] = await nodeRed.waitForMessages(1, 'rx/events');
      assert.equal(event?.msg.topic, 'expeed/setting-result');
      assert.equal(event?.msg.payload.data.messageId, out?.msg.payload.messageId);

      cloud.settingResult = 1;
      nodeRed.inject('s/in', { payload: { temp: 99 } });
      const [failed] = await nodeRed.waitForMessages(1, 's/errors');
      assert.match(failed?.msg.error.message, /reported that setting m\w+ failed/);
    });

    it('a result that comes before the wait starts still completes it; waitSeconds 0 answers at once', async function () {
      await nodeRed.deploy([...receiver(), ...actionFlow(setter(), [account(cloud)])]);
      await cloud.register(callback(), URL_TOKEN);
      cloud.settingResultDelayMs = 0;
      nodeRed.inject('s/in', { payload: { temp: 20 } });
      const [out] = await nodeRed.waitForMessages(1, 's/out');
      assert.equal(out?.msg.payload.success, true);

      await nodeRed.deploy([...receiver(), ...actionFlow(setter({ waitSeconds: 0 }), [account(cloud)])]);
      await nodeRed.clearMessages();
      cloud.settingResultDelayMs = null;
      nodeRed.inject('s/in', { payload: { temp: 21 } });
      const [accepted] = await nodeRed.waitForMessages(1, 's/out');
      assert.deepEqual(Object.keys(accepted?.msg.payload).sort(), ['accepted', 'messageId']);
      assert.equal(accepted?.msg.payload.accepted, true);
    });

    it('a setting whose result never comes is an error after waitSeconds', async function () {
      await nodeRed.deploy([...receiver(), ...actionFlow(setter({ waitSeconds: 1 }), [account(cloud)])]);
      await cloud.register(callback(), URL_TOKEN);
      cloud.settingResultDelayMs = null;
      const started = Date.now();
      nodeRed.inject('s/in', { payload: { temp: 22 } });
      const [caught] = await nodeRed.waitForMessages(1, 's/errors');
      const elapsed = Date.now() - started;
      assert.match(caught?.msg.error.message, /no setting result for m\w+ within 1 s/);
      assert.ok(elapsed >= 950 && elapsed < 3000, `after ${elapsed} ms`);
      assert.deepEqual(caught?.msg.payload, { temp: 22 });
      assert.equal((await nodeRed.settledMessages('s/out')).length, 0);
    });

    it('refuses an encrypted (密文) push with 400 and tells the user to choose plaintext', async function () {
      await nodeRed.deploy([...receiver(), account(cloud)]);
      const bare = await request(callback(), { method: 'POST', body: 'U2FsdGVkX1+vupppZksvRf5pq5g5XjFRIipRkwB0K1Y=', headers: { 'content-type': 'text/plain' } });
      assert.equal(bare.status, 400);
      assert.notEqual((bare.json as any).result_code, 0);
      const wrapped = await postJson(callback(), { encrypt: 'U2FsdGVkX1+vupppZksvRf5pq5g5XjFRIipRkwB0K1Y=' });
      assert.equal(wrapped.status, 400);
      const caught = await nodeRed.waitForMessages(2, 'rx/errors');
      for (const error of caught) assert.match(error.msg.error.message, /encrypted.*choose plaintext/);
    });

    it('accepts the fixture pushes of the document with msg_type as text or number', async function () {
      await nodeRed.deploy([...receiver(), account(cloud)]);
      for (const name of ['status-online', 'data', 'setting-result', 'unknown-type']) {
        const response = await postJson(callback(), bodyFixture('expeed', name));
        assert.equal(response.status, 200, `${name}: ${response.text}`);
      }
      const events = await nodeRed.waitForMessages(3, 'rx/events');
      assert.deepEqual(events.map((e) => e.msg.topic), ['expeed/online', 'expeed/setting-result', 'expeed/unrecognized']);
      assert.equal((await nodeRed.waitForMessages(2, 'rx/readings')).length, 2);
    });
  });
});
