import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { buildCgmPush, type CgmPatient } from '../src/sandbox/sinocare-pushes';
import { startFhirServer, type FhirServer } from './harness/fhir-server';
import { httpDelivery, placed } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed } from './harness/node-red';

/**
 * health-outbox in a real Node-RED, between a Sinocare receiver in `ack: flow` and a
 * hospital's FHIR endpoint reached by the core http request node, as examples/hospital-bridge.json
 * wires it. The hospital is a real FHIR R4 server (medplum's router, test/harness/fhir-server.mjs)
 * behind a front door on 127.0.0.1 that plays its outages: it can be down the way a server in
 * maintenance is (its port refuses connections), refuse one reading for its content (400 with an
 * OperationOutcome, before the server sees it), or answer slowly; it passes everything else to
 * the server, answers with the server's answer, and records the Observations the server took, in
 * the order they came.
 */

interface Accepted {
  readingId: string;
  patient: string;
  at: number;
}

class Hospital {
  readonly accepted: Accepted[] = [];
  /** Reading ids answered 400 every time (a reading the hospital cannot take). */
  readonly refused = new Set<string>();
  refusals = 0;
  /** Each answer waits this long (a hospital draining a backlog slowly). */
  delayMs = 0;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number, private readonly fhir: FhirServer) {}

  static async start(fhir: FhirServer): Promise<Hospital> {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const hospital = new Hospital(port, fhir);
    await hospital.up();
    return hospital;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        setTimeout(() => void this.answer(Buffer.concat(chunks).toString('utf8'), response), this.delayMs);
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Connections refused from now on; the ones open are cut. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async answer(body: string, response: http.ServerResponse): Promise<void> {
    if (!this.server) {
      response.socket?.destroy();
      return;
    }
    const bundle = JSON.parse(body) as { entry: Array<{ resource: { resourceType: string; identifier: Array<{ value: string }> } }> };
    const resource = (type: string) => bundle.entry.find((entry) => entry.resource.resourceType === type)?.resource;
    const readingId = resource('Observation')!.identifier[0]!.value;
    const patient = resource('Patient')?.identifier[0]?.value ?? '';
    if (this.refused.has(readingId)) {
      this.refusals++;
      response.writeHead(400, { 'content-type': 'application/fhir+json' });
      response.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'unknown unit' }] }));
      return;
    }
    const stored = await this.fhir.post('/', bundle);
    if (!this.server) {
      response.socket?.destroy(); // went down meanwhile: the answer is lost, as it would be
      return;
    }
    if (stored.status >= 200 && stored.status < 300) this.accepted.push({ readingId, patient, at: Date.now() });
    response.writeHead(stored.status, { 'content-type': 'application/fhir+json' });
    response.end(JSON.stringify(stored.body));
  }

  async close(): Promise<void> {
    await this.down();
  }
}

/** CGM patients of the tests (invented). */
const patients = (count: number): CgmPatient[] =>
  Array.from({ length: count }, (_, index) => ({
    deviceSn: `SN-OUTBOX-${index}`,
    patientId: `P-OUTBOX-${index}`,
    visitId: `V-${index}`,
    inSerialId: `IN-${index}`,
    patientName: `患者${index}`,
    idCard: `11010119900101${String(1000 + index)}`,
    customerName: '示例医院',
  }));

const START = Date.parse('2026-11-30T08:00:00+08:00');

/** Reading `k` of patient `p`: one a minute; the serial makes each test id unique across patients. */
function push(patient: CgmPatient, p: number, k: number): { body: Record<string, unknown>; readingId: string } {
  const body = buildCgmPush(patient, { serialNo: p * 1000 + k, testResult: (5 + (k % 30) / 10).toFixed(1), measuredAt: START + k * 60_000, warmingUp: false });
  return { body, readingId: `sinocare:${(body.data as { testId: string }).testId}` };
}

interface OutboxProps {
  maxAgeHours?: number;
  retryMinSeconds?: number;
  retryMaxSeconds?: number;
  ackTimeout?: number;
  encrypt?: boolean;
}

/** Receiver (ack: flow) → health-fhir → health-outbox → http request → 2xx? → health-ack; failures → Catch → health-ack. */
function flow(hospital: Hospital, outbox: OutboxProps = {}): object[] {
  const tab = 'tab-outbox';
  return placed([
    { id: tab, type: 'tab', label: 'outbox' },
    { id: 'rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/push', ack: 'flow', ackTimeout: 10, dedupHours: 72, pii: 'keep', credentials: { key: '', piiKey: '' }, wires: [['fhir'], []] },
    { id: 'fhir', z: tab, type: 'health-fhir', name: '', version: 1, output: 'bundle', patientField: 'patientId', wires: [['ob']] },
    {
      id: 'ob', z: tab, type: 'health-outbox', name: '', version: 1,
      maxAgeHours: 72, retryMinSeconds: 0.2, retryMaxSeconds: 1, concurrency: 1, ackTimeout: 10, state: '', ...outbox,
      wires: [['req'], ['dead']],
    },
    ...httpDelivery(tab, `http://127.0.0.1:${hospital.port}/fhir`, 'the FHIR server'),
    { id: 'dead', z: tab, type: 'test-sink', name: 'ob/dead', wires: [[]] },
    { id: 'ob-status', z: tab, type: 'status', scope: ['ob'], wires: [['statuses']] },
    { id: 'statuses', z: tab, type: 'test-sink', name: 'ob/statuses', wires: [[]] },
  ]);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Per patient, the reading ids in the order the hospital accepted them (first time each). */
function orderPerPatient(accepted: Accepted[]): Map<string, string[]> {
  const seen = new Set<string>();
  const order = new Map<string, string[]>();
  for (const entry of accepted) {
    if (seen.has(entry.readingId)) continue;
    seen.add(entry.readingId);
    order.set(entry.patient, [...(order.get(entry.patient) ?? []), entry.readingId]);
  }
  return order;
}

describe('health-outbox in Node-RED: nothing is lost while the hospital is down', function () {
  this.timeout(300_000);
  let nodeRed: NodeRed;
  let hospital: Hospital;
  let fhir: FhirServer;

  before(async function () {
    fhir = await startFhirServer();
  });
  after(async function () {
    await fhir?.stop();
  });
  beforeEach(async function () {
    hospital = await Hospital.start(fhir);
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' });
  });
  afterEach(async function () {
    await nodeRed?.stop();
    await hospital?.close();
  });

  it('the hospital down for 10 minutes of traffic: every vendor answered within 1 s, every reading arrives once it is back, in order per patient', async function () {
    await nodeRed.deploy(flow(hospital));
    await hospital.down();
    // 10 minutes of CGM traffic from 12 patients (one reading a minute each), pushed at a compressed
    // pace, with the cloud re-pushing some of them (a duplicate is answered 200 and stored once)
    const group = patients(12);
    const sentOrder = new Map<string, string[]>();
    const slowest: number[] = [];
    for (let k = 1; k <= 10; k++) {
      await Promise.all(group.map(async (patient, p) => {
        const { body, readingId } = push(patient, p, k);
        sentOrder.set(patient.patientId, [...(sentOrder.get(patient.patientId) ?? []), readingId]);
        for (let copy = 0; copy < (k % 4 === 0 ? 2 : 1); copy++) {
          const started = Date.now();
          const response = await postJson(`${nodeRed.url}/push`, body);
          slowest.push(Date.now() - started);
          assert.equal(response.status, 200, response.text);
          assert.deepEqual(response.json, { code: 0, msg: '' });
        }
      }));
    }
    assert.ok(Math.max(...slowest) < 1000, `the slowest answer took ${Math.max(...slowest)} ms`);
    assert.equal(hospital.accepted.length, 0);
    const lastStatus = (): string => String(nodeRed.messages.filter((m) => m.sink === 'ob/statuses').at(-1)?.msg.status?.text ?? '');
    // what the user sees under the node while the hospital is away
    await until(() => /^120 queued, oldest \d+ s/.test(lastStatus()), 10_000, `the status to count 120 (it says "${lastStatus()}")`);

    await hospital.up();
    await until(() => new Set(hospital.accepted.map((entry) => entry.readingId)).size === 120, 60_000, 'every reading at the hospital');
    const order = orderPerPatient(hospital.accepted);
    for (const [patient, sent] of sentOrder) assert.deepEqual(order.get(patient), sent, `the order of ${patient}`);
    // the backlog drained at once: no reading waited for a backoff of its own once the first went through
    const drain = hospital.accepted.at(-1)!.at - hospital.accepted[0]!.at;
    assert.ok(drain < 20_000, `the drain took ${drain} ms`);
    await until(() => lastStatus() === 'empty', 10_000, 'the status to say empty');
    assert.equal(nodeRed.messages.filter((m) => m.sink === 'ob/dead').length, 0);
  });

  it('kill -9 in the middle of a drain and a restart: nothing the vendor was told was stored is missing', async function () {
    await nodeRed.deploy(flow(hospital));
    await hospital.down();
    const group = patients(5);
    const told: string[] = [];
    for (let k = 1; k <= 30; k++) {
      for (const [p, patient] of group.entries()) {
        const { body, readingId } = push(patient, p, k);
        const response = await postJson(`${nodeRed.url}/push`, body);
        assert.equal(response.status, 200, response.text);
        told.push(readingId);
      }
    }
    // the hospital is back but slow: the drain takes seconds, and Node-RED is killed in its middle
    hospital.delayMs = 20;
    await hospital.up();
    await until(() => hospital.accepted.length >= 40, 60_000, 'the drain to be under way');
    await nodeRed.kill();
    const beforeKill = hospital.accepted.length;
    assert.ok(beforeKill < told.length, 'killed before the end of the drain');
    hospital.delayMs = 0;
    nodeRed = await nodeRed.startAgain();
    await until(() => told.every((id) => hospital.accepted.some((entry) => entry.readingId === id)), 60_000, 'every reading told stored at the hospital');
    // at least once: a reading in flight at the kill may come twice, always with its own id
    const ids = hospital.accepted.map((entry) => entry.readingId);
    assert.deepEqual([...new Set(ids)].sort(), [...told].sort());
    assert.ok(ids.length - told.length <= 1, `${ids.length - told.length} duplicates (concurrency 1: at most the one in flight)`);
    const order = orderPerPatient(hospital.accepted);
    for (const [p, patient] of group.entries()) {
      assert.deepEqual(order.get(patient.patientId), told.filter((_, index) => index % group.length === p), `the order of ${patient.patientId}`);
    }
  });

  it('an outbox whose properties are invalid fails the push at once (the vendor tries again), with the reason at a Catch node', async function () {
    const flows = flow(hospital, { retryMinSeconds: 10, retryMaxSeconds: 1 });
    const tab = 'tab-outbox';
    flows.push(
      ...placed([
        { id: 'ob-catch', z: tab, type: 'catch', name: '', scope: ['ob'], uncaught: false, wires: [['ob-errors']] },
        { id: 'ob-errors', z: tab, type: 'test-sink', name: 'ob/errors', wires: [[]] },
      ]),
    );
    await nodeRed.deploy(flows);
    const started = Date.now();
    const response = await postJson(`${nodeRed.url}/push`, push(patients(1)[0]!, 0, 1).body);
    assert.equal(response.status, 500, response.text);
    assert.ok(Date.now() - started < 5000, 'answered before the receiver\'s ackTimeout of 10 s');
    const [caught] = await nodeRed.waitForMessages(1, 'ob/errors');
    assert.match(String(caught?.msg.error?.message), /retryMaxSeconds must not be below retryMinSeconds/);
    assert.equal(hospital.accepted.length, 0);
  });

  it('a reading the hospital always refuses goes to output 2 after maxAgeHours, without delaying the others (its patient\'s later readings too)', async function () {
    // 0.001 h = 3.6 s
    await nodeRed.deploy(flow(hospital, { maxAgeHours: 0.001, retryMinSeconds: 0.2, retryMaxSeconds: 0.5 }));
    const group = patients(3);
    const poison = push(group[0]!, 0, 1);
    hospital.refused.add(poison.readingId);
    const pushedAt = new Map<string, number>();
    const all = [poison, push(group[0]!, 0, 2), push(group[1]!, 1, 1), push(group[2]!, 2, 1), push(group[0]!, 0, 3), push(group[1]!, 1, 2)];
    for (const { body, readingId } of all) {
      pushedAt.set(readingId, Date.now());
      const response = await postJson(`${nodeRed.url}/push`, body);
      assert.equal(response.status, 200, response.text);
    }
    const [dead] = await nodeRed.waitForMessages(1, 'ob/dead', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; refusals ${hospital.refusals}, accepted ${hospital.accepted.map((entry) => entry.readingId).join(' ')}; statuses ${nodeRed.messages.filter((m) => m.sink === 'ob/statuses').map((m) => m.msg.status?.text).join(' | ')}`);
    });
    assert.equal(dead?.msg.reading?.id, poison.readingId);
    assert.match(String(dead?.msg.error?.message), /400/);
    assert.ok(dead?.msg.outbox?.attempts >= 3, `tried ${dead?.msg.outbox?.attempts} times`);
    const age = Date.now() - pushedAt.get(poison.readingId)!;
    assert.ok(age >= 3600, `dead after ${age} ms, not before maxAgeHours`);
    // every other reading arrived within 2 s of its push, long before the poison was given up
    for (const { readingId } of all.slice(1)) {
      const arrived = hospital.accepted.find((entry) => entry.readingId === readingId);
      assert.ok(arrived, `${readingId} arrived`);
      assert.ok(arrived.at - pushedAt.get(readingId)! < 2000, `${readingId} waited ${arrived.at - pushedAt.get(readingId)!} ms`);
    }
    assert.equal(hospital.accepted.some((entry) => entry.readingId === poison.readingId), false);
    assert.ok(hospital.refusals >= 3);
  });
});

/** Every file of the outbox's directory in the user directory (its dead letters' too), with its bytes. */
function outboxFiles(userDir: string): Array<{ name: string; bytes: Buffer }> {
  const directory = path.join(userDir, 'health-bridge', 'outbox-ob');
  return fs.readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const name = path.relative(directory, path.join(entry.parentPath ?? entry.path, entry.name));
      return { name, bytes: fs.readFileSync(path.join(directory, name)) };
    });
}

/** What of a patient and a reading must not be readable on disk. */
function secretsOf(patient: CgmPatient, body: Record<string, unknown>): string[] {
  return [patient.patientName, patient.idCard, patient.patientId, patient.deviceSn, (body.data as { testId: string }).testId];
}

/** The texts of `secrets` that the outbox's files hold in clear (UTF-8, as JSON would write them). */
function inClear(userDir: string, secrets: string[]): string[] {
  const files = outboxFiles(userDir);
  return secrets.filter((secret) => files.some((file) => file.bytes.includes(Buffer.from(secret, 'utf8'))));
}

describe('health-outbox in Node-RED: patients\' data at rest', function () {
  this.timeout(300_000);
  let nodeRed: NodeRed | undefined;
  let hospital: Hospital;
  let fhir: FhirServer;

  before(async function () {
    fhir = await startFhirServer();
  });
  after(async function () {
    await fhir?.stop();
  });
  beforeEach(async function () {
    hospital = await Hospital.start(fhir);
  });
  afterEach(async function () {
    await nodeRed?.stop();
    nodeRed = undefined;
    await hospital?.close();
  });

  const lastStatus = (red: NodeRed): { text: string; fill: string } => {
    const status = red.messages.filter((m) => m.sink === 'ob/statuses').at(-1)?.msg.status;
    return { text: String(status?.text ?? ''), fill: String(status?.fill ?? '') };
  };

  it('what waits on disk holds no name, ID number, patient id, device or reading id in clear; a restart reads it back and delivers it', async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' });
    await nodeRed.deploy(flow(hospital));
    await hospital.down();
    const group = patients(3);
    const secrets: string[] = [];
    const told: string[] = [];
    for (let k = 1; k <= 2; k++) {
      for (const [p, patient] of group.entries()) {
        const { body, readingId } = push(patient, p, k);
        secrets.push(...secretsOf(patient, body));
        told.push(readingId);
        const response = await postJson(`${nodeRed.url}/push`, body);
        assert.equal(response.status, 200, response.text);
      }
    }
    // failed deliveries are written again with their error: let a few happen
    await until(() => /^6 queued/.test(lastStatus(nodeRed!).text) && /next retry/.test(lastStatus(nodeRed!).text), 10_000, 'the outbox to wait for a retry');
    const userDir = nodeRed.userDir;
    await nodeRed.stop();
    const files = outboxFiles(userDir);
    assert.ok(files.reduce((sum, file) => sum + file.bytes.length, 0) > 6 * 500, 'the messages are on disk');
    assert.deepEqual(inClear(userDir, [...new Set(secrets)]), []);
    // the Chinese name is not there in any of the ways JSON may write it
    assert.deepEqual(inClear(userDir, ['患者', '\\u60a3\\u8005', '示例医院']), []);

    nodeRed = await nodeRed.startAgain();
    await hospital.up();
    await until(() => told.every((id) => hospital.accepted.some((entry) => entry.readingId === id)), 60_000, 'every reading at the hospital');
    const order = orderPerPatient(hospital.accepted);
    for (const [p, patient] of group.entries()) {
      assert.deepEqual(order.get(patient.patientId), told.filter((_, index) => index % group.length === p), `the order of ${patient.patientId}`);
    }
    await until(() => lastStatus(nodeRed!).text === 'empty', 10_000, 'the status to say empty');
  });

  it('Node-RED started without HEALTH_BRIDGE_KEY: the status is red and names it, the push is answered 500, nothing is stored in clear', async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info', env: { HEALTH_BRIDGE_KEY: undefined, HEALTH_BRIDGE_KEY_FILE: undefined } });
    const flows = flow(hospital);
    flows.push(
      ...placed([
        { id: 'ob-catch', z: 'tab-outbox', type: 'catch', name: '', scope: ['ob'], uncaught: false, wires: [['ob-errors']] },
        { id: 'ob-errors', z: 'tab-outbox', type: 'test-sink', name: 'ob/errors', wires: [[]] },
      ]),
    );
    await nodeRed.deploy(flows);
    await until(() => lastStatus(nodeRed!).text !== '', 10_000, 'a status');
    assert.deepEqual(lastStatus(nodeRed), { text: 'no key: set HEALTH_BRIDGE_KEY or HEALTH_BRIDGE_KEY_FILE', fill: 'red' });
    const patient = patients(1)[0]!;
    const { body } = push(patient, 0, 1);
    const started = Date.now();
    const response = await postJson(`${nodeRed.url}/push`, body);
    assert.equal(response.status, 500, response.text);
    assert.ok(Date.now() - started < 5000, 'answered at once, not at the receiver\'s ackTimeout');
    const [caught] = await nodeRed.waitForMessages(1, 'ob/errors');
    assert.equal(caught?.msg.error?.code, 'no-key');
    assert.match(String(caught?.msg.error?.message), /HEALTH_BRIDGE_KEY/);
    assert.match(nodeRed.logs, /encrypt is on and there is no at-rest key/);
    // still red after the refusal, and nothing of the push on disk
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.deepEqual(lastStatus(nodeRed), { text: 'no key: set HEALTH_BRIDGE_KEY or HEALTH_BRIDGE_KEY_FILE', fill: 'red' });
    assert.deepEqual(inClear(nodeRed.userDir, secretsOf(patient, body)), []);
    assert.equal(outboxFiles(nodeRed.userDir).reduce((sum, file) => sum + file.bytes.length, 0), 0, 'nothing stored');
    assert.equal(hospital.accepted.length, 0);
  });

  it('started with another key: what waits is reported and counted as unreadable, not delivered and not lost; the right key delivers it', async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' });
    await nodeRed.deploy(flow(hospital));
    await hospital.down();
    const group = patients(2);
    const told: string[] = [];
    for (const [p, patient] of group.entries()) {
      const { body, readingId } = push(patient, p, 1);
      told.push(readingId);
      const response = await postJson(`${nodeRed.url}/push`, body);
      assert.equal(response.status, 200, response.text);
    }
    await until(() => /^2 queued/.test(lastStatus(nodeRed!).text), 10_000, 'two queued');
    await nodeRed.stop();

    // the operator starts Node-RED with a key of another machine
    const userDir = nodeRed.userDir;
    nodeRed = await NodeRed.start({ userDir, settings: { lang: 'en-US' }, logLevel: 'info', env: { HEALTH_BRIDGE_KEY: 'ab'.repeat(32) } });
    await hospital.up();
    await until(() => lastStatus(nodeRed!).text === '2 unreadable', 15_000, `the status to count 2 unreadable (it says "${lastStatus(nodeRed!).text}")`);
    assert.equal(lastStatus(nodeRed).fill, 'red');
    assert.match(nodeRed.logs, /waiting message\(s\) cannot be decrypted \(tag: written under another key, or damaged\)/);
    // a new reading still goes through
    const fresh = push(group[0]!, 0, 2);
    const statusesBefore = nodeRed.messages.filter((m) => m.sink === 'ob/statuses').length;
    assert.equal((await postJson(`${nodeRed.url}/push`, fresh.body)).status, 200);
    await until(() => hospital.accepted.some((entry) => entry.readingId === fresh.readingId), 20_000, 'the new reading at the hospital');
    // delivered, not only accepted: the outbox has written that it is gone (else the next start,
    // under the other key, would find it waiting and unreadable in its turn)
    await until(
      () => nodeRed!.messages.filter((m) => m.sink === 'ob/statuses').length > statusesBefore && lastStatus(nodeRed!).text === '2 unreadable',
      10_000,
      'the outbox to count the two unreadable alone again',
    );
    assert.equal(hospital.accepted.some((entry) => told.includes(entry.readingId)), false, 'the unreadable ones are not delivered');
    assert.ok(!nodeRed.logs.includes(group[0]!.patientName) && !nodeRed.logs.includes(group[0]!.patientId), 'the log names no patient');
    await nodeRed.stop();

    nodeRed = await NodeRed.start({ userDir, settings: { lang: 'en-US' }, logLevel: 'info' });
    await until(() => told.every((id) => hospital.accepted.some((entry) => entry.readingId === id)), 30_000, 'the waiting readings at the hospital');
    await until(() => lastStatus(nodeRed!).text === 'empty', 10_000, 'the status to say empty');
  });

  it('a queue written by the previous release (in clear) is delivered after the upgrade, each patient\'s old readings in order, the new messages sealed', async function () {
    // the previous release wrote plain records with the plain order key: what encrypt off writes
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' });
    await nodeRed.deploy(flow(hospital, { encrypt: false }));
    await hospital.down();
    const group = patients(2);
    const told: string[] = [];
    for (let k = 1; k <= 3; k++) {
      for (const [p, patient] of group.entries()) {
        const { body, readingId } = push(patient, p, k);
        told.push(readingId);
        const response = await postJson(`${nodeRed.url}/push`, body);
        assert.equal(response.status, 200, response.text);
      }
    }
    await until(() => /^6 queued/.test(lastStatus(nodeRed!).text), 10_000, 'six queued');
    await nodeRed.stop();
    assert.deepEqual(inClear(nodeRed.userDir, [group[0]!.patientName, group[0]!.idCard]), [group[0]!.patientName, group[0]!.idCard], 'the old queue is in clear');
    // the upgrade: the flow as the previous release saved it, without `encrypt` (so encrypted from now on)
    const flowFile = path.join(nodeRed.userDir, 'flows.json');
    const saved = JSON.parse(fs.readFileSync(flowFile, 'utf8')) as Array<Record<string, unknown>>;
    for (const node of saved) if (node.type === 'health-outbox') delete node.encrypt;
    fs.writeFileSync(flowFile, JSON.stringify(saved));
    const sizeBefore = outboxFiles(nodeRed.userDir).reduce((sum, file) => sum + file.bytes.length, 0);

    nodeRed = await nodeRed.startAgain();
    // a new reading of the first patient joins the old queue, sealed, and waits behind its older readings
    const newPatient = patients(1)[0]!;
    const fresh = push(newPatient, 0, 4);
    told.push(fresh.readingId);
    const response = await postJson(`${nodeRed.url}/push`, fresh.body);
    assert.equal(response.status, 200, response.text);
    const added = Buffer.concat(outboxFiles(nodeRed.userDir).map((file) => file.bytes)).subarray(sizeBefore);
    assert.ok(added.length > 0);
    assert.equal(added.includes(Buffer.from((fresh.body.data as { testId: string }).testId)), false, 'the new record is sealed');

    await hospital.up();
    await until(() => told.every((id) => hospital.accepted.some((entry) => entry.readingId === id)), 60_000, 'every reading at the hospital');
    const order = orderPerPatient(hospital.accepted);
    assert.deepEqual(order.get(group[1]!.patientId), told.filter((_, index) => index < 6 && index % 2 === 1));
    // the old readings of the first patient in order among themselves; the new one is ordered
    // apart from them (its order key is keyed, theirs plain), as the README says
    assert.deepEqual(order.get(group[0]!.patientId)?.filter((id) => id !== fresh.readingId), told.filter((_, index) => index < 6 && index % 2 === 0));
    assert.equal(nodeRed.messages.filter((m) => m.sink === 'ob/dead').length, 0);
  });
});
