import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sendJson, startCloudServer, type CloudServer } from '../src/sandbox/cloud-server';
import { ExpeedCloud } from '../src/sandbox/expeed-cloud';
import { actionFlow, bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request, type HttpResponse } from './harness/http';
import { NodeRed } from './harness/node-red';

/**
 * Expeed going live (issue 10, point 3): what Expeed's "第三方平台接入接口文档" leaves open or says
 * two ways, against a real Node-RED over real HTTP. Where the rule is about a body, the body is the
 * document's own (test/fixtures/bodies/expeed), served by a stub that answers exactly that, not by
 * our emulator; the handshake signatures are computed here with node:crypto from the document's
 * formula, not with our code.
 */

const PLATFORM_KEY = 'pk-going-live';
const SECRET_KEY = 'sk-going-live-never-log-me';
const URL_TOKEN = 'url-token-27182';
const URL_KEY = 'k-url-key-1618';
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-secret', sn: 'SN0001' };
const OFFLINE = { id: 'dev-off', key: 'dk-off', online: false };

/** `MD5(SHA1(token + nonce + timestamp))`, with the SHA-1 given to MD5 as `form`. */
function documentSignature(form: 'lower-hex' | 'upper-hex' | 'raw', token: string, nonce: string, timestamp: string): string {
  const sha1 = createHash('sha1').update(token + nonce + timestamp).digest();
  const input = form === 'raw' ? sha1 : form === 'upper-hex' ? sha1.toString('hex').toUpperCase() : sha1.toString('hex');
  return createHash('md5').update(input).digest('hex');
}

function account(apiBase: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id, type: 'expeed-account', name: '', apiBase, platformKey: PLATFORM_KEY, dailyTokenCap: 150, tz: 'Asia/Shanghai',
    onlineValue: 0, timeout: 5, ...extra, credentials: { secretKey: SECRET_KEY, handshakeToken: URL_TOKEN },
  };
}

function query(accountId: string, properties: Record<string, unknown> = {}): { id: string; type: string } & Record<string, unknown> {
  return {
    id: 'q', type: 'expeed-query', name: '', account: accountId, operation: 'status', deviceId: DEVICE.id, ids: 'all', limit: 100,
    first: 0, allPages: false, ...properties, credentials: { deviceKey: DEVICE.key },
  };
}

/** Both names of the answer's message, with the same text (the document uses both). */
function assertBothMessageFields(response: HttpResponse, code: number | 'refusal'): void {
  const json = response.json as Record<string, unknown>;
  if (code === 'refusal') assert.notEqual(json.result_code, 0, response.text);
  else assert.equal(json.result_code, code, response.text);
  assert.equal(typeof json.result_message, 'string', response.text);
  assert.notEqual(json.result_message, '', response.text);
  assert.equal(json.result_msg, json.result_message, response.text);
}

interface DocumentRequest {
  path: string;
  query: Record<string, string>;
  accessToken?: string;
}

/** A platform that answers exactly the document's example bodies. */
class DocumentPlatform {
  readonly requests: DocumentRequest[] = [];
  statusAnswer: unknown = bodyFixture('expeed', 'status-answer');
  private server: CloudServer | undefined;

  async start(): Promise<this> {
    this.server = await startCloudServer((request, res) => {
      const header = request.headers.access_token;
      this.requests.push({ path: request.url.pathname, query: Object.fromEntries(request.url.searchParams), accessToken: Array.isArray(header) ? header[0] : header });
      const path = request.url.pathname;
      if (path === '/v1/platform/token') return sendJson(res, 200, bodyFixture('expeed', 'token-answer-table')), true;
      if (/^\/v1\/devices\/device_status\/[^/]+$/.test(path)) return sendJson(res, 200, this.statusAnswer), true;
      if (/^\/v1\/devices\/[^/]+\/currentDatapoints$/.test(path)) return sendJson(res, 200, bodyFixture('expeed', 'current-answer')), true;
      return false;
    });
    return this;
  }

  get url(): string {
    return this.server!.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }
}

describe('Expeed going live: what the document leaves open', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;
  let cloud: ExpeedCloud;
  let platform: DocumentPlatform;
  // Each test has an account of its own, so no token cached by another test is reused.
  let accountNumber = 0;
  const nextAccount = (): string => `acct-${++accountNumber}`;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
    platform = await new DocumentPlatform().start();
  });
  after(async function () {
    await nodeRed?.stop();
    await platform?.close();
  });
  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE, OFFLINE] });
    await nodeRed.clearMessages();
  });
  afterEach(async function () {
    await cloud?.close();
  });

  const receiver = (accountId: string, credentials: Record<string, string> = {}): object[] =>
    receiverFlow({ type: 'expeed-in', path: '/expeed', properties: { account: accountId, credentials } });
  const callback = (): string => `${nodeRed.url}/expeed`;

  describe('the URL check', function () {
    it('is answered with the nonce whether the platform gives MD5 the SHA-1 as lowercase hex, uppercase hex or raw bytes, and refused with 403 otherwise', async function () {
      const id = nextAccount();
      await nodeRed.deploy([...receiver(id), account(cloud.url, id)]);
      const nonce = 'a1b2c3d4';
      const timestamp = '1733011200';
      const check = (signature: string): Promise<HttpResponse> =>
        request(`${callback()}?signature=${signature}&nonce=${nonce}&timestamp=${timestamp}`);

      for (const form of ['lower-hex', 'upper-hex', 'raw'] as const) {
        const signature = documentSignature(form, URL_TOKEN, nonce, timestamp);
        for (const sent of [signature, signature.toUpperCase()]) {
          const answer = await check(sent);
          assert.equal(answer.status, 200, `${form} ${sent}: ${answer.text}`);
          assert.match(String(answer.headers['content-type']), /^text\/plain/);
          assert.equal(answer.text, nonce, form);
        }
      }

      const wrongToken = await check(documentSignature('lower-hex', 'not-the-url-token', nonce, timestamp));
      const sha1Alone = await check(createHash('sha1').update(URL_TOKEN + nonce + timestamp).digest('hex'));
      const otherOrder = await check(documentSignature('lower-hex', URL_TOKEN, timestamp, nonce));
      for (const refused of [wrongToken, sha1Alone, otherOrder]) {
        assert.equal(refused.status, 403, refused.text);
        assert.notEqual(refused.text, nonce);
        assertBothMessageFields(refused, 'refusal');
      }
      const errors = await nodeRed.waitForMessages(3, 'rx/errors');
      for (const error of errors) assert.match(error.msg.error.message, /signature does not match/);
      assert.doesNotMatch(nodeRed.logs, new RegExp(URL_TOKEN));
    });

    it('passes for a URL registered with ?key= whether Expeed appends its parameters with & or with a second ?, and pushes to that URL are accepted', async function () {
      const id = nextAccount();
      await nodeRed.deploy([...receiver(id, { key: URL_KEY }), account(cloud.url, id)]);
      const registered = `${callback()}?key=${URL_KEY}`;

      const withAmpersand = await cloud.register(registered, URL_TOKEN, undefined, '&');
      assert.equal(withAmpersand.status, 200, withAmpersand.text);
      assert.equal(withAmpersand.text, withAmpersand.nonce);
      assert.equal(withAmpersand.accepted, true);

      const withQuestionMark = await cloud.register(registered, URL_TOKEN, undefined, '?');
      assert.equal(withQuestionMark.status, 200, withQuestionMark.text);
      assert.equal(withQuestionMark.text, withQuestionMark.nonce);

      // The same check by hand, so the test does not rest on the emulator's URL building.
      const nonce = 'q9w8e7';
      const timestamp = '1733011200';
      const signature = documentSignature('lower-hex', URL_TOKEN, nonce, timestamp);
      const byHand = await request(`${registered}?signature=${signature}&nonce=${nonce}&timestamp=${timestamp}`);
      assert.equal(byHand.status, 200, byHand.text);
      assert.equal(byHand.text, nonce);

      // Without the key, the same good signature is refused: the key still guards the URL.
      const withoutKey = await request(`${callback()}?signature=${signature}&nonce=${nonce}&timestamp=${timestamp}`);
      assert.equal(withoutKey.status, 401);
      assertBothMessageFields(withoutKey, 'refusal');

      const pushed = await cloud.pushStatus(DEVICE.id, 0);
      assert.equal(pushed.status, 200, pushed.text);
      const [event] = await nodeRed.waitForMessages(1, 'rx/events');
      assert.equal(event?.msg.topic, 'expeed/online');
      assert.doesNotMatch(nodeRed.logs, new RegExp(URL_KEY));
    });
  });

  describe('the API', function () {
    it('uses a token the platform names token (the parameter table) rather than access_token (the example)', async function () {
      const id = nextAccount();
      await nodeRed.deploy(actionFlow({ id: 't', type: 'expeed-token', name: '', account: id }, [account(platform.url, id)]));
      nodeRed.inject('t/in', {});
      const [out] = await nodeRed.waitForMessages(1, 't/out');
      assert.equal(out?.msg.payload.accessToken, 'zzz', JSON.stringify(out?.msg.payload));
      assert.ok(Number.isFinite(Date.parse(out?.msg.payload.expiresAt)));
      assert.equal((await nodeRed.settledMessages('t/errors', 0)).length, 0);

      await nodeRed.deploy(actionFlow(query(id), [account(platform.url, id)]));
      nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(1, 'q/out');
      assert.equal(platform.requests.at(-1)?.accessToken, 'zzz', 'the next call carries it in the access_token header');
      assert.doesNotMatch(nodeRed.logs, new RegExp(SECRET_KEY));
    });

    it('reads both token names from the emulator when it alternates them across refreshes', async function () {
      const id = nextAccount();
      cloud.tokenField = 'alternate';
      await nodeRed.deploy(actionFlow(query(id), [account(cloud.url, id)]));
      nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(1, 'q/out');
      cloud.expireAllTokens();
      nodeRed.inject('q/in', {});
      const out = await nodeRed.waitForMessages(2, 'q/out');
      assert.equal(cloud.tokenCalls, 2, 'one answer with access_token, one with token');
      assert.deepEqual(out.map((m) => m.msg.payload.online), [true, true]);
    });

    it('asks for data points separated by the full-width ， as one list and gets each of them', async function () {
      const id = nextAccount();
      await nodeRed.deploy(actionFlow(query(id, { operation: 'current', ids: 'temp ， value1' }), [account(cloud.url, id)]));
      nodeRed.inject('q/in', {});
      await nodeRed.waitForMessages(1, 'q/out');
      nodeRed.inject('q/in', { payload: { ids: ' value1，temp ' } });
      const out = await nodeRed.waitForMessages(2, 'q/out');
      assert.deepEqual(cloud.requests.slice(-2).map((r) => r.query.id), ['temp,value1', 'value1,temp']);
      for (const reading of out) assert.deepEqual(Object.keys(reading.msg.payload.values).sort(), ['temp', 'value1']);

      await nodeRed.deploy(actionFlow(query(id, { operation: 'history', ids: 'temp，value1', limit: 2 }), [account(cloud.url, id)]));
      nodeRed.inject('q/in', {});
      const [, , page] = await nodeRed.waitForMessages(3, 'q/out');
      assert.equal(cloud.requests.at(-1)?.query.id, 'temp,value1');
      assert.deepEqual(Object.keys(page?.msg.payload[0].values).sort(), ['temp', 'value1']);
    });

    it('a point whose timestamp has a leading space, as in the document, has the same reading id pushed and queried', async function () {
      const id = nextAccount();
      await nodeRed.deploy([...receiver(id), ...actionFlow(query(id, { operation: 'current' }), [account(platform.url, id)])]);
      nodeRed.inject('q/in', {});
      const [queried] = await nodeRed.waitForMessages(1, 'q/out');
      assert.equal(bodyFixture('expeed', 'current-answer').data.timestamp, ' 2017-02-13T12-00-00-000', 'the document example as served');

      const pushed = await postJson(callback(), bodyFixture('expeed', 'data-current-point'));
      assert.equal(pushed.status, 200, pushed.text);
      const [reading] = await nodeRed.waitForMessages(1, 'rx/readings');
      assert.equal(queried?.msg.payload.time, '2017-02-13T12:00:00+08:00');
      assert.equal(reading?.msg.payload.time, queried?.msg.payload.time);
      assert.deepEqual(reading?.msg.payload.values, queried?.msg.payload.values);
      assert.match(String(reading?.msg.payload.id), /^expeed:[0-9a-f]{32}$/);
      assert.equal(reading?.msg.payload.id, queried?.msg.payload.id);
    });

    it('reads the status query with queryOnlineValue: 1 by default and in a flow saved before it, 0 when set', async function () {
      // The document's status answer: device_status 1 ("1为上线").
      const defaults = nextAccount();
      const old = account(platform.url, nextAccount());
      delete old.queryOnlineValue;
      const zero = nextAccount();
      const flow = (accountId: string, configNode: object): object[] => actionFlow(query(accountId), [configNode]);

      const statusOf = async (accountId: string, configNode: object, count: number): Promise<unknown> => {
        await nodeRed.deploy(flow(accountId, configNode));
        nodeRed.inject('q/in', {});
        const out = await nodeRed.waitForMessages(count, 'q/out');
        return out[count - 1]?.msg.payload;
      };
      assert.deepEqual(await statusOf(defaults, account(platform.url, defaults, { queryOnlineValue: '' }), 1), { deviceId: DEVICE.id, online: true, status: 1 });
      assert.deepEqual(await statusOf(String(old.id), old, 2), { deviceId: DEVICE.id, online: true, status: 1 }, 'a flow saved before queryOnlineValue existed');
      assert.deepEqual(await statusOf(zero, account(platform.url, zero, { queryOnlineValue: 0 }), 3), { deviceId: DEVICE.id, online: false, status: 1 });
      platform.statusAnswer = { ...bodyFixture('expeed', 'status-answer'), device_status: 0 };
      try {
        assert.deepEqual(await statusOf(zero, account(platform.url, zero, { queryOnlineValue: 0 }), 4), { deviceId: DEVICE.id, online: true, status: 0 });
        assert.deepEqual(await statusOf(defaults, account(platform.url, defaults), 5), { deviceId: DEVICE.id, online: false, status: 0 });
      } finally {
        platform.statusAnswer = bodyFixture('expeed', 'status-answer');
      }
      assert.equal((await nodeRed.settledMessages('q/errors', 0)).length, 0);
    });
  });

  describe('answers to pushes', function () {
    it('carry both result_message and result_msg: accepted, duplicate, malformed, wrong key, too large', async function () {
      const id = nextAccount();
      await nodeRed.deploy([...receiverFlow({ type: 'expeed-in', path: '/expeed', properties: { account: id, maxBytes: 4096, credentials: { key: URL_KEY } } }), account(cloud.url, id)]);
      const url = `${callback()}?key=${URL_KEY}`;
      const accepted = await postJson(url, bodyFixture('expeed', 'data'));
      assert.equal(accepted.status, 200);
      assert.deepEqual(accepted.json, { result_code: 0, result_message: 'ok', result_msg: 'ok' });
      const duplicate = await postJson(url, bodyFixture('expeed', 'data'));
      assert.deepEqual(duplicate.json, { result_code: 0, result_message: 'ok', result_msg: 'ok' });

      const malformed = await postJson(url, { msg_type: '2', device_id: DEVICE.id, data: [{ value1: 1 }] });
      assert.equal(malformed.status, 400);
      assertBothMessageFields(malformed, 'refusal');
      const wrongKey = await postJson(`${callback()}?key=nope`, bodyFixture('expeed', 'data'));
      assert.equal(wrongKey.status, 401);
      assertBothMessageFields(wrongKey, 'refusal');
      const tooLarge = await postJson(url, { ...bodyFixture('expeed', 'data'), padding: 'x'.repeat(5000) });
      assert.equal(tooLarge.status, 413);
      assertBothMessageFields(tooLarge, 'refusal');

      // The emulator's status push, answered like the document's 2.1.1 example (result_msg) and 2.1.2 (result_message).
      await cloud.register(url, URL_TOKEN);
      const status = await cloud.pushStatus(DEVICE.id, 1);
      assert.deepEqual(JSON.parse(status.text), { result_code: 0, result_message: 'ok', result_msg: 'ok' });
    });

    it('a data point of HI and "" is acknowledged and reaches the flow flagged high, with what the device sent', async function () {
      const id = nextAccount();
      await nodeRed.deploy([...receiver(id), account(cloud.url, id)]);
      const answer = await postJson(callback(), bodyFixture('expeed', 'data-unmeasured'));
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.json, { result_code: 0, result_message: 'ok', result_msg: 'ok' });
      const [reading] = await nodeRed.waitForMessages(1, 'rx/readings');
      const payload = reading?.msg.payload;
      assert.equal(payload.kind, 'datapoint');
      assert.deepEqual(payload.values, { value3: { value: 5.2, unit: '' } });
      assert.equal(payload.context.resultText, 'HI');
      assert.equal(payload.context.outOfRange, 'high');
      assert.deepEqual(payload.context.unmeasured, ['value1', 'value2']);
      assert.deepEqual(payload.context.other, { value1: 'HI', value2: '' });
      assert.equal(reading?.msg.raw.data[0].value1, 'HI');
      assert.equal((await nodeRed.settledMessages('rx/errors', 0)).length, 0);
    });
  });
});
