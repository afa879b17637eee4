import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { actionFlow, bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { useNodeRed, type SinkMessage } from './harness/node-red';
import { startCloudServer, type CloudServer } from '../src/sandbox/cloud-server';
import { createViatomCloud, type ViatomCloud } from '../src/sandbox/viatom-cloud';

/**
 * Viatom end to end, as a hospital wires it: a viatom-account, viatom-auth nodes to hand users
 * the authorization page and to cancel authorizations, and a viatom-in on the path the Viatom
 * cloud pushes to. The cloud is the emulator (written from Viatom's documents) on 127.0.0.1,
 * Node-RED a real process; every request is real HTTP. (The Viatom library alone, without
 * Node-RED: test/unit/viatom.test.ts.)
 */

const SECRET = 'viatom-secret-5f0c2a';
const ACCESS_TOKEN = 'viatom-access-token-b81e44';
const WRONG_SECRET = 'viatom-wrong-secret-77d9';
const PHONE = '15312345678';
/** A user abroad, as the ViHealth app registers an international number (E.164). */
const INTERNATIONAL_PHONE = '+4915123456789';
/** Our answer to a push: Viatom's whole API envelope (code, message, reason, data). */
const OK = { code: 0, message: 'ok', reason: '', data: {} };

describe('viatom: authorization against the Viatom cloud', function () {
  const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });
  let cloud: ViatomCloud;
  let server: CloudServer;
  beforeEach(async function () {
    cloud = createViatomCloud({
      secret: SECRET,
      accessToken: ACCESS_TOKEN,
      callbackUrl: `${nodeRed.url}/viatom`,
      authorizedPhones: [PHONE, INTERNATIONAL_PHONE],
    });
    server = await startCloudServer(cloud.handler);
  });
  afterEach(async function () {
    // a push the cloud started (after a cancel) must land before the next test starts counting
    await cloud.settled();
    await nodeRed.settledMessages();
    await server?.close();
  });

  /** One account, a viatom-auth per operation, and the viatom-in the cloud pushes to. */
  async function deploy(account: { secret?: string; timeout?: number; language?: string } = {}): Promise<void> {
    const accountNode = {
      id: 'acct',
      type: 'viatom-account',
      name: 'hospital',
      host: server.url,
      language: account.language ?? 'en-US',
      timeout: account.timeout ?? 10,
      credentials: { secret: account.secret ?? SECRET, accessToken: ACCESS_TOKEN },
    };
    await nodeRed.deploy([
      ...actionFlow({ id: 'url', type: 'viatom-auth', name: '', account: 'acct', operation: 'authorize-url' }, [accountNode]),
      ...actionFlow({ id: 'cancel', type: 'viatom-auth', name: '', account: 'acct', operation: 'cancel' }),
      ...receiverFlow({ type: 'viatom-in', path: '/viatom' }),
    ]);
  }

  const statusOf = (message: SinkMessage | undefined): unknown => {
    const { fill, shape, text } = message?.msg.status ?? {};
    return { fill, shape, text };
  };

  const cancelRequests = (): number => cloud.requests.filter((r) => r.url.pathname === '/api/v1/open/auth/cancel').length;

  /** Everything a person could read: the exported flow, the log, every status the nodes showed. */
  async function visibleText(): Promise<string> {
    const flows = await request(`${nodeRed.url}/flows`);
    assert.equal(flows.status, 200);
    const statuses = nodeRed.messages.filter((m) => m.sink.endsWith('/statuses')).map((m) => m.msg.status);
    return `${flows.text}\n${nodeRed.logs}\n${JSON.stringify(statuses)}`;
  }

  it('authorize-url: gives the page where the user authorizes, from a call with the three headers', async function () {
    await deploy();
    nodeRed.inject('url/in', { payload: 'go', topic: 'enrol bed 12' });
    const [out] = await nodeRed.waitForMessages(1, 'url/out');
    assert.match(out?.msg.payload.url, /^http:\/\/127\.0\.0\.1:\d+\/auth\/#\/\?sign=\S+$/);
    assert.deepEqual(Object.keys(out?.msg.payload), ['url']);
    assert.equal(out?.msg.topic, 'enrol bed 12');
    const [call] = cloud.requests;
    assert.equal(call?.url.pathname, '/api/v1/open/auth/jump_path');
    assert.deepEqual([call?.headers.secret, call?.headers['access-token'], call?.headers.language], [SECRET, ACCESS_TOKEN, 'en-US']);
    const statuses = await nodeRed.waitForMessages(2, 'url/statuses');
    assert.deepEqual(statusOf(statuses.at(-1)), { fill: 'green', shape: 'dot', text: 'authorization URL received' });
  });

  it('the language of the account goes in the header', async function () {
    await deploy({ language: 'zh-CN' });
    nodeRed.inject('url/in', { payload: '' });
    await nodeRed.waitForMessages(1, 'url/out');
    assert.equal(cloud.requests[0]?.headers.language, 'zh-CN');
  });

  it('cancel: Viatom cancels, and its deauthorization push comes out of viatom-in as viatom/deauthorized', async function () {
    await deploy();
    nodeRed.inject('cancel/in', { payload: { phone: '+86 153-1234-5678' } });
    const [out] = await nodeRed.waitForMessages(1, 'cancel/out');
    assert.deepEqual(out?.msg.payload, { cancelled: true });
    assert.deepEqual(cloud.requests[0]?.body, { phone: PHONE });

    const [event] = await nodeRed.waitForMessages(1, 'rx/events');
    assert.equal(event?.msg.topic, 'viatom/deauthorized');
    const { time, ...rest } = event?.msg.payload;
    assert.match(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    assert.deepEqual(rest, {
      vendor: 'viatom',
      event: 'deauthorized',
      // the emulator's account id (the document's) and a member id for this user
      subject: { account_id: 'OA==|MTEx', member_id: 'OA==|NTY3OA==' },
      data: { phone: PHONE },
    });
    assert.equal(event?.msg.raw.type, 3);
    await cloud.settled();
    assert.equal(cloud.pushes[0]?.result?.status, 200);
    assert.deepEqual(JSON.parse(cloud.pushes[0]?.result?.text ?? ''), OK);
    assert.equal(cloud.authorizedPhones.has(PHONE), false);
  });

  it('cancel: a user abroad, by an international number, is cancelled at Viatom and the deauthorization arrives', async function () {
    await deploy();
    nodeRed.inject('cancel/in', { payload: { phone: '+49 151 2345 6789' } });
    const [out] = await nodeRed.waitForMessages(1, 'cancel/out');
    assert.deepEqual(out?.msg.payload, { cancelled: true });
    // sent in E.164, with its +
    assert.deepEqual(cloud.requests[0]?.body, { phone: INTERNATIONAL_PHONE });
    assert.equal(cloud.authorizedPhones.has(INTERNATIONAL_PHONE), false);
    const [event] = await nodeRed.waitForMessages(1, 'rx/events');
    assert.equal(event?.msg.topic, 'viatom/deauthorized');
    assert.deepEqual(event?.msg.payload.data, { phone: INTERNATIONAL_PHONE });
    await cloud.settled();
    assert.deepEqual(JSON.parse(cloud.pushes[0]?.result?.text ?? ''), OK);
    const statuses = await nodeRed.waitForMessages(2, 'cancel/statuses');
    assert.deepEqual(statusOf(statuses.at(-1)), { fill: 'green', shape: 'dot', text: 'authorization cancelled' });
    const seen = await visibleText();
    for (const form of [INTERNATIONAL_PHONE, '4915123456789', '2345 6789']) assert.equal(seen.includes(form), false, `${form} is visible`);
  });

  it('cancel: takes msg.phone when the payload has no phone', async function () {
    await deploy();
    nodeRed.inject('cancel/in', { payload: 'cancel please', phone: '153 1234 5678' });
    const [out] = await nodeRed.waitForMessages(1, 'cancel/out');
    assert.deepEqual(out?.msg.payload, { cancelled: true });
    assert.deepEqual(cloud.requests[0]?.body, { phone: PHONE });
  });

  it('a user the cloud authorizes arrives as viatom/authorized', async function () {
    await deploy();
    const pushed = await cloud.authorize('13900001111');
    assert.equal(pushed.result?.status, 200);
    const [event] = await nodeRed.waitForMessages(1, 'rx/events');
    assert.equal(event?.msg.topic, 'viatom/authorized');
    assert.deepEqual(event?.msg.payload.data, { phone: '13900001111' });
  });

  it('a wrong secret: the Catch node gets the vendor message, msg.payload unchanged, and no secret is shown anywhere', async function () {
    await deploy({ secret: WRONG_SECRET });
    nodeRed.inject('cancel/in', { payload: { phone: PHONE, ward: 'cardiology' } });
    nodeRed.inject('url/in', { payload: { keep: 'me' } });
    const [cancelError] = await nodeRed.waitForMessages(1, 'cancel/errors');
    const [urlError] = await nodeRed.waitForMessages(1, 'url/errors');
    assert.match(cancelError?.msg.error.message, /Secret key error\./);
    assert.match(cancelError?.msg.error.message, /API secret error/);
    assert.equal(cancelError?.msg.error.code, 109997);
    assert.deepEqual(cancelError?.msg.payload, { phone: PHONE, ward: 'cardiology' });
    assert.match(urlError?.msg.error.message, /Secret key error\./);
    assert.deepEqual(urlError?.msg.payload, { keep: 'me' });
    assert.equal((await nodeRed.settledMessages('cancel/out')).length, 0);
    assert.equal((await nodeRed.settledMessages('rx/events')).length, 0);

    const statuses = await nodeRed.waitForMessages(2, 'cancel/statuses');
    assert.deepEqual(statusOf(statuses.at(-1)), { fill: 'red', shape: 'ring', text: 'failed: Viatom 109997: Secret key error.' });
    const seen = await visibleText();
    for (const secret of [SECRET, WRONG_SECRET, ACCESS_TOKEN, PHONE]) assert.equal(seen.includes(secret), false, `${secret} is visible`);
  });

  it('a cloud that does not answer: a timeout error within the account timeout (1 s)', async function () {
    await deploy({ timeout: 1 });
    cloud.mode = 'silent';
    const started = Date.now();
    nodeRed.inject('url/in', { payload: 42 });
    const [caught] = await nodeRed.waitForMessages(1, 'url/errors', 5000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1000 && elapsed < 2500, `the error came after ${elapsed} ms`);
    assert.match(caught?.msg.error.message, /no answer within 1 s/);
    assert.equal(caught?.msg.payload, 42);
    // one request, not retried
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(cloud.requests.length, 1);
    const statuses = await nodeRed.settledMessages('url/statuses');
    assert.equal(statuses.at(-1)?.msg.status.text, 'failed: no answer in time');
  });

  it('an answer that is not JSON is a clear error', async function () {
    await deploy();
    cloud.mode = 'not-json';
    nodeRed.inject('cancel/in', { payload: { phone: PHONE } });
    const [caught] = await nodeRed.waitForMessages(1, 'cancel/errors');
    assert.match(caught?.msg.error.message, /answer is not JSON \(HTTP 502\)/);
    assert.deepEqual(caught?.msg.payload, { phone: PHONE });
  });

  it('a missing or malformed phone is an error before any request', async function () {
    await deploy();
    // too short for the mainland, too short and too long for E.164, and an international number without its +
    const malformed = ['1531234567', '+12345', '+1234567890123456', '004915123456789'];
    nodeRed.inject('cancel/in', { payload: {} });
    for (const phone of malformed) nodeRed.inject('cancel/in', { payload: { phone } });
    nodeRed.inject('cancel/in', { payload: { phone: '' }, phone: 'call me' });
    const caught = await nodeRed.waitForMessages(2 + malformed.length, 'cancel/errors');
    assert.deepEqual(
      caught.map((m) => m.msg.error.code),
      ['phone-missing', ...malformed.map(() => 'phone-malformed'), 'phone-malformed'],
    );
    assert.match(caught[0]?.msg.error.message, /no phone number/);
    assert.match(caught[1]?.msg.error.message, /neither an 11-digit mainland China mobile number nor an international number \(\+ and 6–15 digits\)/);
    assert.deepEqual(caught[1]?.msg.payload, { phone: '1531234567' });
    for (const [index, phone] of malformed.entries()) {
      assert.equal(caught[index + 1]?.msg.error.message.includes(phone.replace(/^\+/, '')), false, `${phone} in the error`);
    }
    assert.equal(cancelRequests(), 0);
    assert.equal(cloud.requests.length, 0);
    const statuses = await nodeRed.waitForMessages(2 + malformed.length, 'cancel/statuses');
    assert.equal(statuses.at(-1)?.msg.status.text, 'failed: invalid phone number');
    const seen = await visibleText();
    for (const phone of malformed) assert.equal(seen.includes(phone.replace(/^\+/, '')), false, `${phone} is visible`);
  });
});

describe('viatom-in: Viatom pushes as the flow receives them', function () {
  const nodeRed = useNodeRed();
  let startedAt: number;
  beforeEach(async function () {
    startedAt = Date.now();
  });

  const deploy = (properties: Record<string, unknown> = {}): Promise<void> =>
    nodeRed.deploy(receiverFlow({ type: 'viatom-in', properties }));
  const push = (body: unknown) => postJson(`${nodeRed.url}/push`, body);
  const readings = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/readings');
  const events = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/events');

  function withoutReceivedAt(payload: Record<string, unknown>): Record<string, unknown> {
    const { receivedAt, ...rest } = payload;
    const received = Date.parse(String(receivedAt));
    assert.ok(received >= startedAt - 1000 && received <= Date.now() + 1000, `receivedAt ${receivedAt}`);
    return rest;
  }

  const SUBJECT = { account_id: 'MzIwMDA=', member_id: 'bnVsbA==' };

  /** Each data_type's fixture and the reading the flow must get, written out from the vendor records. */
  const EXPECTED: Array<[string, string, Record<string, unknown>]> = [
    ['temperature', 'viatom/temperature', {
      id: 'viatom:VEVNUEVSQVRVUkVAMzE3Ng==', vendor: 'viatom', kind: 'temperature', time: '2024-11-19T16:10:00+08:00',
      values: { temperature: { value: 36.94, unit: 'Cel' } },
      device: { sn: '2209TH3012' }, subject: SUBJECT, context: { mode: 'adult', modeCode: 1 }, retry: false,
    }],
    ['spo2', 'viatom/spo2', {
      id: 'viatom:QkxPT0RfT1hZR0VOQDE2MTI3', vendor: 'viatom', kind: 'spo2', time: '2024-11-20T00:00:00+08:00',
      values: { spo2: { value: 97, unit: '%' }, pulseRate: { value: 64, unit: '/min' }, duration: { value: 3928, unit: 's' } },
      device: { sn: '21092F3633' }, subject: { account_id: 'MzIwMDA=', member_id: 'NDIyNQ==' },
      context: {
        mode: 'continuous', modeCode: 2, lowestSpo2: { value: 89, unit: '%' }, below90Duration: { value: 50, unit: 's' },
        drops: 3, o2Score: 9.2, fileUrl: 'https://viatom.example/data/spo2/2024/1120/758547cb.dat',
      },
      retry: false,
    }],
    ['blood-pressure', 'viatom/blood_pressure', {
      id: 'viatom:QkxPT0RfUFJFU1NVUkVAMjI4NzY=', vendor: 'viatom', kind: 'blood_pressure', time: '2024-11-19T08:05:00+08:00',
      values: {
        systolic: { value: 132, unit: 'mm[Hg]' }, diastolic: { value: 84, unit: 'mm[Hg]' },
        pulse: { value: 71, unit: '/min' }, meanArterial: { value: 100, unit: 'mm[Hg]' },
      },
      device: { sn: '2106374387' }, subject: SUBJECT, context: { pulsePressure: { value: 48, unit: 'mm[Hg]' } }, retry: false,
    }],
    ['glucose', 'viatom/glucose', {
      id: 'viatom:QkxPT0RfU1VHQVJAMjQ1Nw==', vendor: 'viatom', kind: 'glucose', time: '2024-11-19T12:30:00+08:00',
      values: { glucose: { value: 7.8, unit: 'mmol/L' } },
      subject: SUBJECT, context: { specimen: 'capillary', mealPeriod: 'after-meal', mealPeriodCode: 2 }, retry: false,
    }],
    ['glucose-mg-dl', 'viatom/glucose', {
      id: 'viatom:QkxPT0RfU1VHQVJAMjQ1OA==', vendor: 'viatom', kind: 'glucose', time: '2024-11-20T08:00:00+08:00',
      values: { glucose: { value: 104, unit: 'mg/dL' } },
      subject: SUBJECT, context: { specimen: 'capillary', mealPeriod: 'fasting', mealPeriodCode: 0 }, retry: false,
    }],
    ['ecg', 'viatom/ecg', {
      id: 'viatom:RUNHQDM4OTA2', vendor: 'viatom', kind: 'ecg', time: '2024-11-19T16:40:00+08:00',
      values: { heartRate: { value: 76, unit: '/min' }, duration: { value: 30, unit: 's' } },
      device: { sn: '2302170805' }, subject: SUBJECT,
      context: {
        fileUrl: 'https://viatom.example/data/ecg/analyze/2024/1119/f894c6c2.txt', diagnosis: '窦性心律', diagnosisCode: 0,
        reportUrl: 'https://viatom.example/data/ecg/2024/1119/e0dc518e.pdf',
      },
      retry: false,
    }],
    ['heart-rate', 'viatom/heart_rate', {
      id: 'viatom:SEVBUlRfUkFURUAxMTA0', vendor: 'viatom', kind: 'heart_rate', time: '2024-11-19T18:32:25+08:00',
      values: { heartRate: { value: 59, unit: '/min' } }, device: { sn: '2107441785' }, subject: SUBJECT, retry: false,
    }],
    ['sleep', 'viatom/sleep', {
      id: 'viatom:U0xFRVBAMTE2', vendor: 'viatom', kind: 'sleep', time: '2024-11-20T00:00:00+08:00',
      values: { duration: { value: 33572, unit: 's' } }, device: { sn: '2208620079' },
      subject: { account_id: 'MzIwMDA=', member_id: 'NDIyNQ==' },
      context: {
        stageSeconds: { light: 752, deep: 32820 },
        stages: [{ stage: 'light', duration: 424 }, { stage: 'deep', duration: 32820 }, { stage: 'light', duration: 328 }],
      },
      retry: false,
    }],
    ['blood-lipids', 'viatom/blood_lipids', {
      id: 'viatom:QkxPT0RfRkFUQDQ3NzE=', vendor: 'viatom', kind: 'blood_lipids', time: '2024-11-19T12:30:00+08:00',
      values: {
        cholesterol: { value: 5.2, unit: 'mmol/L' }, triglycerides: { value: 1.7, unit: 'mmol/L' }, hdl: { value: 1.1, unit: 'mmol/L' },
      },
      subject: SUBJECT, context: { cholesterolHdlRatio: 4.73 }, retry: false,
    }],
    ['body-fat', 'viatom/body_composition', {
      id: 'viatom:Qk9EWV9GQVRANzI=', vendor: 'viatom', kind: 'body_composition', time: '2024-11-20T08:00:00+08:00',
      values: { weight: { value: 68.4, unit: 'kg' }, bodyFat: { value: 22.5, unit: '%' }, bmi: { value: 23.67, unit: 'kg/m2' } },
      device: { sn: 'Lescale Lite D0:4D:00:0E:01:FF' }, subject: SUBJECT, context: { deviceType: 1 }, retry: false,
    }],
    ['create-time-only', 'viatom/heart_rate', {
      id: 'viatom:SEVBUlRfUkFURUAxMTA1', vendor: 'viatom', kind: 'heart_rate', time: '2024-11-19T21:15:00+08:00',
      values: { heartRate: { value: 66, unit: '/min' } }, device: { sn: '2107441785' }, subject: SUBJECT, retry: false,
    }],
  ];

  for (const [name, topic, expected] of EXPECTED) {
    it(`turns the ${name} record into a ${topic} reading`, async function () {
      await deploy();
      const body = bodyFixture('viatom', name);
      const response = await push(body);
      assert.deepEqual([response.status, response.json], [200, OK]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, topic);
      // with the pii policy the receiver applied (context.pii)
      assert.deepEqual(withoutReceivedAt(reading?.msg.payload), { ...expected, context: { ...(expected.context as object), pii: 'keep' } });
      assert.deepEqual(reading?.msg.raw, body);
      assert.equal(reading?.msg.vendor, 'viatom');
      assert.equal((await nodeRed.settledMessages('rx/events')).length, 0);
    });
  }

  it('reads create_time in the receiver tz', async function () {
    await deploy({ tz: 'Europe/Berlin' });
    await push(bodyFixture('viatom', 'create-time-only'));
    const [reading] = await readings();
    assert.equal(reading?.msg.payload.time, '2024-11-19T21:15:00+01:00');
  });

  it('a retry of the same data_tag is acknowledged and emitted once', async function () {
    await deploy();
    const body = bodyFixture('viatom', 'blood-pressure');
    const first = await push(body);
    const again = await push(body);
    assert.deepEqual([first.status, first.json, again.status, again.json], [200, OK, 200, OK]);
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
  });

  it('the authorization pushes of the document are viatom/authorized and viatom/deauthorized events', async function () {
    await deploy();
    assert.deepEqual((await push(bodyFixture('viatom', 'authorized'))).json, OK);
    assert.deepEqual((await push(bodyFixture('viatom', 'deauthorized'))).json, OK);
    const got = await events(2);
    assert.deepEqual(got.map((m) => m.msg.topic), ['viatom/authorized', 'viatom/deauthorized']);
    assert.deepEqual(got[0]?.msg.payload, {
      vendor: 'viatom', event: 'authorized', time: '2022-12-29T16:33:40+08:00',
      subject: { account_id: 'OA==|MTEx', member_id: 'OA==|LTE=' }, data: { phone: '15312345678' },
    });
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);
  });

  it('a data_type it does not map is passed on as viatom/unrecognized', async function () {
    await deploy();
    const body = bodyFixture('viatom', 'fetal-heart');
    assert.deepEqual((await push(body)).json, OK);
    const [event] = await events();
    assert.equal(event?.msg.topic, 'viatom/unrecognized');
    assert.deepEqual(event?.msg.payload, {
      vendor: 'viatom', event: 'unrecognized', time: '2024-11-19T16:40:30+08:00', subject: SUBJECT, data: { type: 1, data: body.data },
    });
  });

  it('refuses a record that does not fit its data_type with 400 in the Viatom envelope', async function () {
    await deploy();
    // a blood pressure without dia (its "high" sbp alone would be a reading, docs/messages.md#values-a-device-could-not-measure)
    const body = bodyFixture('viatom', 'invalid-blood-pressure');
    const response = await push(body);
    assert.equal(response.status, 400);
    assert.deepEqual(response.json, { code: 400, message: 'invalid body', reason: 'invalid body', data: null });
    const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
    assert.match(caught?.msg.error.message, /data\.measure_result\.dia/);
    assert.doesNotMatch(caught?.msg.error.message, /sbp/);
    assert.deepEqual(caught?.msg.raw, body);
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);
  });

  describe('personal data in authorization events', function () {
    const PII_KEY = 'viatom-pii-key';
    const hmac = (value: string): string => createHmac('sha256', PII_KEY).update(value).digest('hex');

    async function deauthorized(pii: string): Promise<Record<string, any>> {
      await deploy({ pii, credentials: { piiKey: PII_KEY } });
      assert.equal((await push(bodyFixture('viatom', 'deauthorized'))).status, 200);
      const [event] = await events();
      return event?.msg ?? {};
    }

    it('mask: the phone keeps its first 3 and last 4 digits, in the event and in raw; ids stay', async function () {
      const msg = await deauthorized('mask');
      assert.deepEqual(msg.payload.data, { phone: '153****5678' });
      assert.equal(msg.raw.data.phone, '153****5678');
      assert.deepEqual(msg.payload.subject, { account_id: 'OA==|MTEx', member_id: 'OA==|LTE=' });
    });

    it('pseudonymize: phone and ids become HMACs under piiKey', async function () {
      const msg = await deauthorized('pseudonymize');
      assert.deepEqual(msg.payload.data, { phone: hmac('15312345678') });
      assert.deepEqual(msg.payload.subject, { account_id: hmac('OA==|MTEx'), member_id: hmac('OA==|LTE=') });
      assert.equal(msg.raw.member_id, hmac('OA==|LTE='));
    });

    it('drop: nothing personal is left anywhere in the message', async function () {
      const msg = await deauthorized('drop');
      assert.deepEqual(msg.payload.data, {});
      assert.equal('subject' in msg.payload, false);
      const text = JSON.stringify(msg);
      for (const value of ['15312345678', 'OA==|MTEx', 'OA==|LTE=']) assert.equal(text.includes(value), false, value);
    });
  });
});
