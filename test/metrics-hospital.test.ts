import assert from 'node:assert/strict';
import { ExpeedCloud } from '../src/sandbox/expeed-cloud';
import { actionFlow, placed } from './harness/flows';
import { request } from './harness/http';
import type { Inbound } from 'node-hl7-server';
import { HOST, hl7Server } from './harness/mllp';
import { freePort, NodeRed } from './harness/node-red';
import { Prometheus, promtoolCheck, requireBinary, sample, until } from './harness/prometheus';

/**
 * The hospital side and an Expeed account counted for Prometheus, in a real Node-RED: hl7-send
 * sends to a real MLLP server (node-hl7-server, which answers AA, then AE) on an hl7-mllp
 * connection, and an expeed-query asks the Expeed emulator for a device's status through an
 * expeed-account (one token call). A real Prometheus scrapes the page; the admin API lists the
 * connection and the account; then the MLLP server goes away and the connection shows 0.
 */

const SCRAPE_KEY = 'scrape-key-for-the-hospital-metrics-test';
const PLATFORM_KEY = 'pk-metrics';
const SECRET_KEY = 'sk-metrics-never-shown';
const DEVICE = { id: 'dev-metrics', key: 'dk-metrics' };
const CAP = 150;

/** An ORU^R01 as health-hl7 makes it, reduced to what the connection reads: MSH-10. */
const message = (controlId: string): string =>
  `MSH|^~\\&|HB|WARD|LIS|HOSPITAL|20261201080910||ORU^R01^ORU_R01|${controlId}|P|2.5.1\rPID|||P-METRICS^^^HOSP\rOBX|1|NM|2339-0^Glucose^LN||5.6|mmol/L|||||F`;

function flow(mllpPort: number, cloudUrl: string): object[] {
  return [
    ...actionFlow({ id: 'send', type: 'hl7-send', name: 'to the LIS', version: 1, connection: 'his' }, [
      { id: 'his', type: 'hl7-mllp', name: 'the LIS', version: 1, host: HOST, port: String(mllpPort), tls: false, timeout: 2, charset: 'utf-8' },
    ]),
    ...actionFlow(
      {
        id: 'q', type: 'expeed-query', name: '', account: 'acct', operation: 'status', deviceId: DEVICE.id, ids: 'all', limit: 100,
        first: 0, allPages: false, credentials: { deviceKey: DEVICE.key },
      },
      [
        {
          id: 'acct', type: 'expeed-account', name: 'the platform', apiBase: cloudUrl, platformKey: PLATFORM_KEY, dailyTokenCap: CAP,
          tz: 'Asia/Shanghai', onlineValue: 0, timeout: 5, credentials: { secretKey: SECRET_KEY, handshakeToken: 'url-token' },
        },
      ],
    ),
    ...placed([
      { id: 'tab-hm', type: 'tab', label: 'metrics' },
      { id: 'hm', z: 'tab-hm', type: 'health-metrics', name: 'metrics', path: '/metrics', allow: '', processMetrics: false, credentials: { key: SCRAPE_KEY } },
    ]),
  ];
}

describe('hl7-send, hl7-mllp and expeed-account counted for Prometheus and listed by the admin API', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;
  let his: Inbound;
  let hisPort: number;
  let cloud: ExpeedCloud;
  let prometheus: Prometheus | undefined;
  let answered = 0;

  const page = async (): Promise<string> => {
    const response = await request(`${nodeRed.url}/metrics`, { headers: { 'x-health-bridge-key': SCRAPE_KEY } });
    assert.equal(response.status, 200, response.text);
    return response.text;
  };
  const status = async (): Promise<any> => {
    const response = await request(`${nodeRed.url}/health-bridge/status`);
    assert.equal(response.status, 200, response.text);
    return response.json;
  };

  before(async function () {
    requireBinary('prometheus');
    requireBinary('promtool');
    // the first message is accepted, every later one refused
    hisPort = await freePort();
    his = await hl7Server(hisPort, async (_req, res) => {
      answered += 1;
      await res.sendResponse(answered === 1 ? 'AA' : 'AE');
    });
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE] });
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
    await nodeRed.deploy(flow(hisPort, cloud.url));
  });
  after(async function () {
    await prometheus?.stop();
    await nodeRed?.stop();
    await cloud?.close();
    await his?.close().catch(() => undefined);
  });

  it('counts an AA and an AE by code, with their times, and one token call with the calls left', async function () {
    const start = await page();
    for (const code of ['AA', 'AE', 'AR', 'CA', 'CE', 'CR', 'timeout', 'deadline', 'closed']) {
      assert.equal(sample(start, 'health_bridge_hl7_acks_total', { node: 'send', code }), 0, `${code} is there at 0 before any send`);
    }
    assert.equal(sample(start, 'health_bridge_expeed_token_calls_total', { node: 'acct' }), 0);
    assert.equal(sample(start, 'health_bridge_expeed_token_calls_left', { node: 'acct' }), CAP);

    nodeRed.inject('send/in', { payload: message('CTRL-AA') });
    const [out] = await nodeRed.waitForMessages(1, 'send/out');
    assert.equal(out?.msg.payload.code, 'AA');
    nodeRed.inject('send/in', { payload: message('CTRL-AE') });
    const [caught] = await nodeRed.waitForMessages(1, 'send/errors');
    assert.equal(caught?.msg.error.code, 'AE');
    nodeRed.inject('q/in', { payload: 'status' });
    await nodeRed.waitForMessages(1, 'q/out');
    assert.equal(cloud.tokenCalls, 1, 'the emulator saw one token call');

    const text = await page();
    assert.equal(sample(text, 'health_bridge_hl7_acks_total', { node: 'send', name: 'to the LIS', code: 'AA' }), 1);
    assert.equal(sample(text, 'health_bridge_hl7_acks_total', { node: 'send', code: 'AE' }), 1);
    assert.equal(sample(text, 'health_bridge_hl7_acks_total', { node: 'send', code: 'timeout' }), 0);
    assert.equal(sample(text, 'health_bridge_hl7_ack_seconds_count', { node: 'send' }), 2, 'both answers were timed');
    assert.equal(sample(text, 'health_bridge_mllp_connected', { node: 'his', name: 'the LIS' }), 1);
    assert.equal(sample(text, 'health_bridge_expeed_token_calls_total', { node: 'acct', name: 'the platform' }), 1);
    assert.equal(sample(text, 'health_bridge_expeed_token_calls_left', { node: 'acct' }), CAP - 1);
    for (const secret of [SECRET_KEY, DEVICE.key, 'P-METRICS']) assert.ok(!text.includes(secret), `the page has no ${secret}`);

    const checked = promtoolCheck(text);
    assert.equal(checked.output, '', 'promtool check metrics reports nothing');
    assert.equal(checked.status, 0);

    prometheus = await Prometheus.start(`127.0.0.1:${nodeRed.port}`, '/metrics', SCRAPE_KEY);
    const value = async (query: string): Promise<number | undefined> => (await prometheus!.query(query))[0]?.value;
    await until(async () => (await value('health_bridge_hl7_acks_total{node="send",code="AA"}')) === 1, 60_000, 'Prometheus to see the AA')
      .catch((error: Error) => assert.fail(`${error.message}; log:\n${prometheus!.output.slice(-2000)}`));
    assert.equal(await value('health_bridge_hl7_acks_total{node="send",code="AE"}'), 1);
    assert.equal(await value('health_bridge_mllp_connected{node="his"}'), 1);
    assert.equal(await value('health_bridge_expeed_token_calls_total{node="acct"}'), 1);
    assert.equal(await value('health_bridge_expeed_token_calls_left{node="acct"}'), CAP - 1);
  });

  it('the admin API lists the MLLP connection and the Expeed account', async function () {
    const body = await status();
    assert.deepEqual(body.mllp, [{ kind: 'mllp', id: 'his', type: 'hl7-mllp', name: 'the LIS', address: `${HOST}:${hisPort}`, state: 'connected', connected: true }]);
    assert.deepEqual(body.expeedAccounts, [
      { kind: 'expeed-account', id: 'acct', type: 'expeed-account', name: 'the platform', tokenCallsToday: 1, dailyTokenCap: CAP, tokenCallsLeft: CAP - 1 },
    ]);
    assert.ok(!JSON.stringify(body).includes(SECRET_KEY));
  });

  it('shows the connection down (0) once the MLLP server is gone, and a send then counted as a timeout', async function () {
    await his.close();
    await until(async () => sample(await page(), 'health_bridge_mllp_connected', { node: 'his' }) === 0, 30_000, 'the gauge to fall to 0');
    const listed = (await status()).mllp[0];
    assert.equal(listed.connected, false);
    assert.notEqual(listed.state, 'connected');
    await until(async () => (await prometheus!.query('health_bridge_mllp_connected{node="his"}'))[0]?.value === 0, 30_000, 'Prometheus to see 0');

    // nothing listens: the send waits its 2 s for a connection and gives up
    nodeRed.inject('send/in', { payload: message('CTRL-LATE') });
    const errors = await nodeRed.waitForMessages(2, 'send/errors', 30_000);
    assert.equal(errors[1]?.msg.error.code, 'timeout');
    const text = await page();
    assert.equal(sample(text, 'health_bridge_hl7_acks_total', { node: 'send', code: 'timeout' }), 1);
    assert.equal(sample(text, 'health_bridge_hl7_ack_seconds_count', { node: 'send' }), 2, 'no answer, no time');
  });
});
