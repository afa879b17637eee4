import assert from 'node:assert/strict';
import http from 'node:http';
import { buildCgmPush, type CgmPatient } from '../src/sandbox/sinocare-pushes';
import { httpDelivery, placed, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed } from './harness/node-red';
import { installPackedPackage } from './harness/package';
import { Prometheus, promtoolCheck, requireBinary, sample, until } from './harness/prometheus';

/**
 * health-metrics in a real Node-RED with the packed package installed, read by a real Prometheus server: two Sinocare receivers (one
 * whose sink stores, one whose sink fails) and an outbox delivering to a hospital that holds its
 * answers. The test sends pushes of every outcome it can cause by HTTP, then asks Prometheus's
 * query API for the numbers it sent, checks the page with promtool, the key and the allow list on
 * the page, the outbox's gauges while the hospital holds its answers and after, and that a deleted
 * receiver's series go while a redeploy of the metrics node alone keeps the others.
 */

const PUSH_KEY = 'push-key-for-the-metrics-test';
const SCRAPE_KEY = 'scrape-key-for-the-metrics-test';

/** A hospital that holds every delivery's answer until released (an interface engine gone quiet). */
class HoldingHospital {
  readonly held: http.ServerResponse[] = [];
  holding = true;
  private readonly server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (this.holding ? this.held.push(res) : answer(res)));
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) answer(res);
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function answer(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{}');
}

const patient: CgmPatient = {
  deviceSn: 'SN-METRICS-1', patientId: 'P-METRICS-1', visitId: 'V-1', inSerialId: 'IN-1',
  patientName: '患者甲', idCard: '110101199001011234', customerName: '示例医院',
};
const START = Date.parse('2026-11-30T08:00:00+08:00');
const cgmPush = (k: number): Record<string, unknown> =>
  buildCgmPush(patient, { serialNo: k, testResult: '5.6', measuredAt: START + k * 60_000, warmingUp: false });

function flow(hospitalPort: number, metricsName = 'metrics'): object[] {
  const tab = 'tab-metrics';
  return [
    ...receiverFlow({ type: 'sinocare-in', id: 'rxa', path: '/rxa', properties: { ack: 'flow', ackTimeout: 10, maxBytes: 4096, credentials: { key: PUSH_KEY } } }),
    ...receiverFlow({ type: 'sinocare-in', id: 'rxb', path: '/rxb', properties: { ack: 'flow', ackTimeout: 10 }, sink: 'fail' }),
    ...placed([
      { id: tab, type: 'tab', label: 'metrics' },
      { id: 'ob-in', z: tab, type: 'test-source', name: 'ob/in', wires: [['ob']] },
      {
        id: 'ob', z: tab, type: 'health-outbox', name: 'to the hospital', version: 1,
        maxAgeHours: 72, retryMinSeconds: 1, retryMaxSeconds: 2, concurrency: 4, ackTimeout: 60, state: '', wires: [['req'], []],
      },
      ...httpDelivery(tab, `http://127.0.0.1:${hospitalPort}/in`, 'the hospital'),
      {
        id: 'hm', z: tab, type: 'health-metrics', name: metricsName, path: '/metrics', allow: '127.0.0.1, ::1', processMetrics: true,
        credentials: { key: SCRAPE_KEY },
      },
    ]),
  ];
}

describe('health-metrics: a real Prometheus reads what the receivers and the outbox counted', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;
  let hospital: HoldingHospital;
  let prometheus: Prometheus | undefined;
  let hospitalPort: number;
  const page = async (): Promise<string> => {
    const response = await request(`${nodeRed.url}/metrics`, { headers: { 'x-health-bridge-key': SCRAPE_KEY } });
    assert.equal(response.status, 200, response.text);
    return response.text;
  };

  before(async function () {
    requireBinary('prometheus');
    requireBinary('promtool');
    hospital = new HoldingHospital();
    hospitalPort = await hospital.start();
    // the package as a user installs it: the npm pack tarball in a plain user directory
    this.timeout(180_000);
    const { userDir } = installPackedPackage();
    nodeRed = await NodeRed.start({ userDir, linkPackage: false, settings: { lang: 'en-US' }, logLevel: 'info' });
    await nodeRed.deploy(flow(hospitalPort));
  });
  after(async function () {
    await prometheus?.stop();
    await nodeRed?.stop();
    await hospital?.close();
  });

  it('counts every outcome from 0, and Prometheus answers the numbers sent, by outcome', async function () {
    const start = await page();
    for (const outcome of ['accepted', 'duplicate', 'rejected', 'unauthorized', 'too_large', 'failed', 'timeout', 'unavailable']) {
      assert.equal(sample(start, 'health_bridge_pushes_total', { node: 'rxa', outcome }), 0, `${outcome} is there at 0 before any push`);
    }

    const withKey = { headers: { 'x-health-bridge-key': PUSH_KEY } };
    const rxa = `${nodeRed.url}/rxa`;
    for (const k of [1, 2, 3]) assert.equal((await postJson(rxa, cgmPush(k), withKey)).status, 200);
    assert.equal((await postJson(rxa, cgmPush(1), withKey)).status, 200, 'a retry of push 1');
    assert.equal((await postJson(rxa, cgmPush(4))).status, 401, 'no key');
    assert.equal((await postJson(rxa, cgmPush(4), { headers: { 'x-health-bridge-key': 'wrong' } })).status, 401, 'a wrong key');
    assert.equal((await request(rxa, { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json', ...withKey.headers } })).status, 400);
    assert.equal((await request(rxa, { method: 'POST', body: 'x'.repeat(8192), headers: { 'content-type': 'application/json', ...withKey.headers } })).status, 413);
    for (const k of [5, 6]) assert.equal((await postJson(`${nodeRed.url}/rxb`, cgmPush(k))).status, 500, 'the sink of rxb fails');

    const expected: Record<string, Record<string, number>> = {
      rxa: { accepted: 3, duplicate: 1, rejected: 1, unauthorized: 2, too_large: 1, failed: 0, timeout: 0, unavailable: 0 },
      rxb: { accepted: 0, duplicate: 0, rejected: 0, unauthorized: 0, too_large: 0, failed: 2, timeout: 0, unavailable: 0 },
    };
    prometheus = await Prometheus.start(`127.0.0.1:${nodeRed.port}`, '/metrics', SCRAPE_KEY);
    const seen = async (): Promise<Record<string, Record<string, number>>> => {
      const result: Record<string, Record<string, number>> = {};
      for (const { metric, value } of await prometheus!.query('health_bridge_pushes_total')) {
        (result[metric.node!] ??= {})[metric.outcome!] = value;
      }
      return result;
    };
    let last: unknown;
    await until(async () => {
      last = await seen();
      return assertLike(last, expected);
    }, 60_000, 'Prometheus to have scraped the pushes').catch((error: Error) => {
      assert.fail(`${error.message}: Prometheus has ${JSON.stringify(last)}; log:\n${prometheus!.output.slice(-2000)}`);
    });
    const accepted = await prometheus.query('health_bridge_pushes_total{outcome="accepted"}');
    assert.deepEqual(accepted.map(({ metric, value }) => [metric.node, metric.vendor, value]).sort(), [['rxa', 'sinocare', 3], ['rxb', 'sinocare', 0]]);
    const readings = await prometheus.query('health_bridge_readings_total{node="rxa"}');
    assert.deepEqual(readings.map(({ metric, value }) => [metric.kind, value]), [['glucose', 3]], 'three readings reached the flow; the retry was not emitted');
    const histogram = await prometheus.query('health_bridge_push_seconds_count{node="rxa"}');
    assert.equal(histogram[0]?.value, 8, 'every push of rxa was timed');
    const up = await prometheus.query('up{job="health-bridge"}');
    assert.equal(up[0]?.value, 1, 'the scrape with the key in its params succeeds');

    // nothing on the page names a patient or a device
    const text = await page();
    for (const secret of [patient.deviceSn, patient.patientId, patient.patientName, patient.idCard]) assert.ok(!text.includes(secret), `the page has no ${secret}`);
  });

  it('promtool finds nothing to say about the page', async function () {
    const text = await page();
    const checked = promtoolCheck(text);
    assert.equal(checked.output, '', 'promtool check metrics reports nothing');
    assert.equal(checked.status, 0);
    assert.ok(text.includes('process_cpu_seconds_total'), 'processMetrics (on): the process figures are there');
  });

  it('answers only the allowed addresses with the key', async function () {
    const url = `${nodeRed.url}/metrics`;
    assert.equal((await request(url)).status, 401, 'no key');
    assert.equal((await request(url, { headers: { 'x-health-bridge-key': 'wrong' } })).status, 401, 'a wrong key');
    assert.equal((await request(`${url}?key=${SCRAPE_KEY}`)).status, 200, 'the key as a parameter');
    const outside = await request(url, { headers: { 'x-health-bridge-key': SCRAPE_KEY }, localAddress: '127.0.0.2' });
    assert.equal(outside.status, 403, 'an address outside the allow list, with the key');
    assert.ok(!outside.text.includes('health_bridge'), 'and no figure');
  });

  it('shows the outbox waiting while the hospital holds its answers, and empty once it answers', async function () {
    const gauge = async (name: string): Promise<number | undefined> => sample(await page(), name, { node: 'ob' });
    assert.equal(await gauge('health_bridge_outbox_queued'), 0);
    for (let i = 0; i < 3; i++) nodeRed.inject('ob/in', { topic: 'sinocare/glucose', payload: { n: i } });
    await until(async () => (await gauge('health_bridge_outbox_in_flight')) === 3, 30_000, 'three deliveries in flight');
    assert.equal(await gauge('health_bridge_outbox_queued'), 3);
    await until(() => hospital.held.length === 3, 10_000, 'the hospital to hold three deliveries');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.ok(((await gauge('health_bridge_outbox_oldest_seconds')) ?? 0) >= 1, 'the oldest has waited a second');
    assert.equal(await gauge('health_bridge_outbox_delivered_total'), 0);
    // Prometheus sees it too
    await until(async () => (await prometheus!.query('health_bridge_outbox_queued{node="ob"}'))[0]?.value === 3, 30_000, 'Prometheus to see three queued');

    hospital.release();
    await until(async () => (await gauge('health_bridge_outbox_queued')) === 0, 30_000, 'the queue to empty');
    assert.equal(await gauge('health_bridge_outbox_in_flight'), 0);
    assert.equal(await gauge('health_bridge_outbox_oldest_seconds'), 0);
    assert.equal(await gauge('health_bridge_outbox_delivered_total'), 3);
    assert.equal(await gauge('health_bridge_outbox_dead_lettered_total'), 0);
  });

  it("drops a deleted receiver's series; a redeploy of the metrics node alone keeps the others' figures", async function () {
    // as the editor deploys: credentials only with the node whose credentials changed (a node that
    // carries them counts as modified and is restarted)
    const kept = flow(hospitalPort, 'metrics, renamed')
      .filter((node) => !JSON.stringify(node).includes('rxb'))
      .map((node) => {
        const { credentials: _credentials, ...rest } = node as Record<string, unknown>;
        return rest;
      });
    await nodeRed.deploy(kept, 'nodes');
    const text = await page();
    assert.ok(!text.includes('node="rxb"'), 'no series of rxb on the page');
    assert.equal(sample(text, 'health_bridge_pushes_total', { node: 'rxa', outcome: 'accepted' }), 3, 'rxa kept its figures');
    assert.equal(sample(text, 'health_bridge_outbox_delivered_total', { node: 'ob' }), 3, 'the outbox kept its figures');
    await until(async () => (await prometheus!.query('health_bridge_pushes_total{node="rxb"}')).length === 0, 30_000, 'Prometheus to see rxb gone');
  });
});

/** The same numbers whatever the order of the keys. */
function assertLike(actual: unknown, expected: Record<string, Record<string, number>>): boolean {
  try {
    assert.deepEqual(actual, expected);
    return true;
  } catch {
    return false;
  }
}
