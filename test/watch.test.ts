import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { bodyFixture, placed } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';

/**
 * health-watch in a real Node-RED, fed by sinocare-in over HTTP as a CGM cloud would: a glucose
 * episode gives one firing and one resolved per rule, a "HI" fires glucose-high, a CGM that stops
 * fires `silent` once, a restart in the middle of an episode neither repeats nor loses it, and
 * what is kept on disk is sealed.
 */

const PATIENT_ID = 'MRN-WATCH-0042';
const PATIENT_NAME = '李四';

interface WatchOptions {
  silenceMinutes?: number;
}

/** sinocare-in and viatom-in → health-watch → a sink of alerts; a Catch and a Status on the watch; health-metrics. */
function watchFlow(id: string, options: WatchOptions = {}): object[] {
  const tab = `tab-${id}`;
  const sink = (name: string): object => ({ id: `${id}-${name}`, z: tab, type: 'test-sink', name: `${id}/${name}`, wires: [[]] });
  return placed([
    { id: tab, type: 'tab', label: `health-watch ${id}` },
    { id: `${id}-catch`, z: tab, type: 'catch', scope: [id], uncaught: false, wires: [[`${id}-errors`]] },
    sink('errors'),
    { id: `${id}-status`, z: tab, type: 'status', scope: [id], wires: [[`${id}-statuses`]] },
    sink('statuses'),
    { id: `${id}-rx`, z: tab, type: 'sinocare-in', name: '', path: `/${id}`, credentials: { key: '', piiKey: '' }, wires: [[id], []] },
    { id: `${id}-viatom`, z: tab, type: 'viatom-in', name: '', path: `/${id}-viatom`, credentials: { key: '', piiKey: '' }, wires: [[id], []] },
    {
      id, z: tab, type: 'health-watch', name: 'ward 3', version: 2,
      silenceMinutes: String(options.silenceMinutes ?? 60), forgetHours: '', repeatMinutes: '', margin: '',
      wires: [[`${id}-alerts`]],
    },
    sink('alerts'),
    { id: `${id}-metrics`, z: tab, type: 'health-metrics', name: '', path: `/${id}-metrics`, allow: '', processMetrics: false, credentials: { key: '' } },
  ]);
}

let testId = 0;
/** A Sinocare CGM push of one value (a number or a meter's text) from device `sn`. */
function cgmPush(value: number | string, sn = 'CGM-WATCH-1', interval: number | null = 3): object {
  const body = bodyFixture('sinocare', 'document-example');
  testId++;
  return {
    ...body,
    data: {
      ...body.data, testId: `watch${Date.now()}${testId}`, deviceSn: sn, testResult: String(value), status: '0', increMinute: interval,
      patientId: PATIENT_ID, patientName: PATIENT_NAME, testTime: `2026-12-07 08:${String(testId % 60).padStart(2, '0')}:00`,
    },
  };
}

const alertsOf = (messages: SinkMessage[]): string[] => messages.map(({ msg }) => `${msg.payload.rule} ${msg.payload.state}`);

async function eventually(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('health-watch in a running Node-RED, fed by sinocare-in over HTTP', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;

  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-watch-files-'));

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US', fileWorkingDirectory: files }, logLevel: 'info' });
  });
  after(async function () {
    await nodeRed?.stop();
  });
  beforeEach(async function () {
    await nodeRed.clearMessages();
  });

  /** Pushes values in order, each answered before the next is sent. */
  async function push(id: string, ...values: Array<number | string>): Promise<void> {
    for (const value of values) assert.equal((await postJson(`${nodeRed.url}/${id}`, cgmPush(value))).status, 200);
  }

  it('a glucose episode 3.5 → 3.4 → 2.8 → 5.0 gives exactly glucose-low firing, glucose-urgent-low firing, both resolved', async function () {
    await nodeRed.deploy(watchFlow('w-episode'));
    await push('w-episode', 3.5, 3.4, 2.8);
    await nodeRed.waitForMessages(2, 'w-episode/alerts');
    await eventually(() => nodeRed.messages.some((m) => m.sink === 'w-episode/statuses' && m.msg.status?.text === '2 firing'), 'the status "2 firing"');
    const metrics = await request(`${nodeRed.url}/w-episode-metrics`);
    assert.match(metrics.text, /health_bridge_alerts_firing\{node="w-episode",name="ward 3",rule="glucose-low"\} 1/);
    assert.match(metrics.text, /health_bridge_alerts_firing\{node="w-episode",name="ward 3",rule="silent"\} 0/);
    await push('w-episode', 5.0);
    await nodeRed.waitForMessages(4, 'w-episode/alerts');
    const alerts = await nodeRed.settledMessages('w-episode/alerts', 500);
    assert.deepEqual(alertsOf(alerts), ['glucose-low firing', 'glucose-urgent-low firing', 'glucose-urgent-low resolved', 'glucose-low resolved']);
    const [first] = alerts;
    assert.equal(first?.msg.topic, 'health-watch/glucose-low');
    assert.equal(first?.msg.payload.value, 3.5);
    assert.equal(first?.msg.payload.unit, 'mmol/L');
    assert.equal(first?.msg.payload.subject.patientId, PATIENT_ID);
    assert.equal(first?.msg.payload.readingId, first?.msg.reading.id, 'msg.reading is the reading that fired it');
    assert.deepEqual((await nodeRed.settledMessages('w-episode/errors', 0)), []);
  });

  it('a CGM "HI" fires glucose-high with its reading id; a value hovering at 3.9 does not flap; a meter in mg/dL is converted', async function () {
    await nodeRed.deploy(watchFlow('w-hi'));
    await push('w-hi', 'HI');
    const [high] = await nodeRed.waitForMessages(1, 'w-hi/alerts');
    assert.equal(high?.msg.payload.rule, 'glucose-high');
    assert.equal(high?.msg.payload.state, 'firing');
    assert.match(high?.msg.payload.readingId, /^sinocare:watch/);
    assert.equal(high?.msg.payload.readingId, high?.msg.reading.id);
    assert.equal(high?.msg.reading.context.outOfRange, 'high');
    await push('w-hi', 3.85, 3.95, 3.86, 3.97, 3.88);
    const alerts = await nodeRed.settledMessages('w-hi/alerts', 500);
    assert.deepEqual(alertsOf(alerts), ['glucose-high firing', 'glucose-low firing', 'glucose-high resolved'], 'one firing for the hovering values');

    // a Viatom meter in mg/dL: 50 mg/dL is 2.78 mmol/L, past both low rules of a table written in mmol/L
    const meter = bodyFixture('viatom', 'glucose-mg-dl');
    meter.data_tag = Buffer.from(`BLOOD_SUGAR@watch${Date.now()}`).toString('base64');
    meter.data.measure_result.blood_gucose.value = 50;
    assert.equal((await postJson(`${nodeRed.url}/w-hi-viatom`, meter)).status, 200);
    const converted = (await nodeRed.waitForMessages(5, 'w-hi/alerts')).slice(3);
    assert.deepEqual(alertsOf(converted), ['glucose-urgent-low firing', 'glucose-low firing']);
    assert.equal(converted[0]?.msg.payload.value, 2.775);
    assert.equal(converted[0]?.msg.payload.unit, 'mmol/L');
    assert.equal(converted[0]?.msg.reading.values.glucose.unit, 'mg/dL', 'the reading itself is left in its unit');
  });

  it('a device that stops fires silent once, and its next reading resolves it', async function () {
    await nodeRed.deploy(watchFlow('w-silent', { silenceMinutes: 0.02 }));
    assert.equal((await postJson(`${nodeRed.url}/w-silent`, cgmPush(6.0, 'CGM-QUIET', null))).status, 200);
    const [silent] = await nodeRed.waitForMessages(1, 'w-silent/alerts', 15_000);
    assert.equal(silent?.msg.topic, 'health-watch/silent');
    assert.equal(silent?.msg.payload.state, 'firing');
    assert.equal(silent?.msg.payload.device.sn, 'CGM-QUIET');
    assert.equal(silent?.msg.reading, undefined, 'no reading for a silence');
    // several silence windows later: still the one alert
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(alertsOf(nodeRed.messages.filter((m) => m.sink === 'w-silent/alerts')), ['silent firing']);
    assert.equal((await postJson(`${nodeRed.url}/w-silent`, cgmPush(6.1, 'CGM-QUIET', null))).status, 200);
    const [, resolved] = await nodeRed.waitForMessages(2, 'w-silent/alerts');
    assert.equal(resolved?.msg.payload.state, 'resolved');
    assert.equal(resolved?.msg.payload.since, silent?.msg.payload.since);
    // and the silence starts again, once
    await nodeRed.waitForMessages(3, 'w-silent/alerts', 15_000);
    await nodeRed.deploy([]);
  });

  it('a restart in the middle of an episode neither repeats nor loses it; the file holds no subject in clear', async function () {
    await nodeRed.deploy(watchFlow('w-restart'));
    await push('w-restart', 3.5);
    await nodeRed.waitForMessages(1, 'w-restart/alerts');
    const file = path.join(nodeRed.userDir, 'health-bridge', 'watch-w-restart.json');
    await eventually(() => fs.existsSync(file), 'the episodes on disk');
    nodeRed = await nodeRed.restart();
    await push('w-restart', 3.4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(alertsOf(nodeRed.messages.filter((m) => m.sink === 'w-restart/alerts')), [], 'not repeated after the restart');
    await eventually(() => nodeRed.messages.some((m) => m.sink === 'w-restart/statuses' && m.msg.status?.text === '1 firing'), 'the status "1 firing" after the restart');
    await push('w-restart', 5.2);
    const alerts = await nodeRed.waitForMessages(1, 'w-restart/alerts');
    assert.deepEqual(alertsOf(await nodeRed.settledMessages('w-restart/alerts', 500)), ['glucose-low resolved'], 'not lost');
    assert.equal(alerts[0]?.msg.payload.subject.patientId, PATIENT_ID);

    for (const kept of [file, file.replace(/\.json$/, '.devices.json')]) {
      const text = fs.readFileSync(kept, 'utf8');
      for (const clear of [PATIENT_ID, PATIENT_NAME, 'CGM-WATCH-1', 'patientId', 'glucose']) assert.equal(text.includes(clear), false, `${clear} is not in ${path.basename(kept)} in clear`);
      assert.equal(fs.statSync(kept).mode & 0o777, 0o600);
    }
    assert.doesNotMatch(nodeRed.logs, new RegExp(`${PATIENT_ID}|${PATIENT_NAME}`), 'nor in the log');
  });
});

describe('the example flow examples/health-watch.json', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;
  let robot: http.Server;
  const bodies: any[] = [];
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-watch-example-'));

  before(async function () {
    robot = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.setHeader('content-type', 'application/json');
        res.end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((resolve) => robot.listen(0, '127.0.0.1', resolve));
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US', fileWorkingDirectory: files }, logLevel: 'info' });
  });
  after(async function () {
    await nodeRed?.stop();
    robot?.close();
  });

  it('appends the alerts to a file; the WeCom template, once enabled, sends rule, time and patient id, never a name', async function () {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'health-watch.json'), 'utf8')) as any[];
    assert.ok(example.filter((node) => node.type === 'change' || node.type === 'http request').every((node) => node.d === true), 'the webhook is a disabled template');
    assert.equal(example.some((node) => node.type === 'function'), false, 'no function node');
    const { port } = robot.address() as { port: number };
    // as a user would: the robot's URL set (here a local stand-in), the two nodes enabled
    const flow = example.map((node) => {
      if (node.type === 'http request') return { ...node, d: false, url: `http://127.0.0.1:${port}/cgi-bin/webhook/send?key=test` };
      if (node.type === 'change') return { ...node, d: false };
      if (node.type === 'sinocare-in') return { ...node, pii: 'keep', credentials: { key: '', piiKey: '' } };
      return node;
    });
    await nodeRed.deploy(flow);
    assert.equal((await postJson(`${nodeRed.url}/watch/sinocare`, cgmPush('HI'))).status, 200);
    const file = path.join(files, 'health-bridge-data', 'alerts.jsonl');
    await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('glucose-high'), 'the alert in alerts.jsonl');
    const [line] = fs.readFileSync(file, 'utf8').trim().split('\n').map((text) => JSON.parse(text));
    assert.equal(line.rule, 'glucose-high');
    assert.equal(line.state, 'firing');
    await eventually(() => bodies.length === 1, 'the robot called');
    const content: string = bodies[0].text.content;
    assert.equal(bodies[0].msgtype, 'text');
    assert.ok(content.includes('glucose-high') && content.includes('firing') && content.includes(PATIENT_ID) && content.includes(line.time), content);
    assert.equal(content.includes(PATIENT_NAME), false, 'no name, though the receiver kept it (pii: keep)');
  });
});

describe('health-watch without an at-rest key', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info', env: { HEALTH_BRIDGE_KEY: undefined, HEALTH_BRIDGE_KEY_FILE: undefined } });
  });
  after(async function () {
    await nodeRed?.stop();
  });

  it('still alerts, writes nothing to disk, and says so in its status and one warning', async function () {
    await nodeRed.deploy(watchFlow('w-nokey'));
    assert.equal((await postJson(`${nodeRed.url}/w-nokey`, cgmPush(2.5))).status, 200);
    assert.deepEqual(alertsOf(await nodeRed.waitForMessages(2, 'w-nokey/alerts')), ['glucose-urgent-low firing', 'glucose-low firing']);
    await eventually(
      () => nodeRed.messages.some((m) => m.sink === 'w-nokey/statuses' && m.msg.status?.text === '2 firing · no at-rest key: episodes not kept'),
      'the status naming the missing key',
    );
    assert.match(nodeRed.logs, /there is no at-rest key \(HEALTH_BRIDGE_KEY or HEALTH_BRIDGE_KEY_FILE\)/);
    await nodeRed.deploy([]);
    assert.equal(fs.existsSync(path.join(nodeRed.userDir, 'health-bridge', 'watch-w-nokey.json')), false, 'nothing kept in clear');
  });
});
