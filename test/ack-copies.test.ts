import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startFhirServer, type FhirServer } from './harness/fhir-server';
import { bodyFixture, placed } from './harness/flows';
import { postJson } from './harness/http';
import { ackOf, controlIdIn, rawServer, HOST, type RawServer } from './harness/mllp';
import { NodeRed } from './harness/node-red';

/**
 * One Sinocare receiver in `ack: flow` wired, as the node help describes, to FHIR (health-fhir →
 * http request → switch on the status → health-ack) and to HL7 (health-hl7 → hl7-send →
 * health-ack) side by side, with a file branch beside them; a Catch node on the hospital nodes
 * into health-ack. Over real HTTP (a medplum FHIR server in a child process) and real TCP (a raw
 * MLLP server that answers as the test says): a failure in either branch must reach the vendor,
 * whatever the other branch did, and the push's deadline is the one both branches keep.
 */

const TAB = 'tab-copies';
let nextTestId = 910_000_000;
/** A Sinocare push of a reading of its own (the FHIR server keeps what earlier tests stored). */
function sinocarePush(): { body: any; readingId: string } {
  const body = bodyFixture('sinocare', 'valid-reading');
  body.data.testId = String(nextTestId++);
  return { body, readingId: `sinocare:${body.data.testId}` };
}

interface Layout {
  fhirUrl: string;
  mllpPort: number;
  /** The receiver's ackTimeout (s). */
  ackTimeout?: number;
  /** The hl7-mllp timeout (s). */
  mllpTimeout?: number;
  file: string;
  /** Put a subflow instance on the HL7 branch (between health-hl7 and hl7-send). */
  subflow?: boolean;
}

function sideBySide(layout: Layout): object[] {
  const hl7Next = layout.subflow ? 'c-sub' : 'c-send';
  const nodes: object[] = [
    { id: TAB, type: 'tab', label: 'FHIR and HL7 side by side' },
    {
      id: 'c-rx', z: TAB, type: 'sinocare-in', name: 'side by side', version: 1, path: '/copies', ack: 'flow', ackTimeout: layout.ackTimeout ?? 4,
      credentials: { key: '', piiKey: '' }, wires: [['c-file', 'c-fhir', 'c-hl7'], ['c-ack']],
    },
    { id: 'c-status', z: TAB, type: 'status', scope: ['c-rx'], wires: [['c-statuses']] },
    { id: 'c-statuses', z: TAB, type: 'test-sink', name: 'c/statuses', wires: [[]] },
    // the file branch: never reaches health-ack, so never awaited
    { id: 'c-file', z: TAB, type: 'file', name: 'readings.jsonl', filename: layout.file, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
    // FHIR
    { id: 'c-fhir', z: TAB, type: 'health-fhir', name: '', version: 1, output: 'bundle', patientField: 'patientId', patientSystem: 'urn:oid:1.2.156.112604', deviceSystem: '', readingSystem: '', wires: [['c-http']] },
    { id: 'c-http', z: TAB, type: 'http request', name: '', method: 'POST', ret: 'obj', paytoqs: 'ignore', url: layout.fhirUrl, tls: '', persist: false, proxy: '', authType: '', senderr: false, headers: [], wires: [['c-stored']] },
    {
      id: 'c-stored', z: TAB, type: 'switch', name: 'stored (2xx)?', property: 'statusCode', propertyType: 'msg',
      rules: [{ t: 'btwn', v: '200', vt: 'num', v2: '299', v2t: 'num' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2,
      wires: [['c-ack'], ['c-fhirfailed']],
    },
    {
      id: 'c-fhirfailed', z: TAB, type: 'change', name: 'failed', rules: [{ t: 'set', p: 'error', pt: 'msg', to: '{"message": "the FHIR server answered " & statusCode}', tot: 'jsonata' }],
      action: '', property: '', from: '', to: '', reg: false, wires: [['c-ack']],
    },
    // HL7
    { id: 'c-hl7', z: TAB, type: 'health-hl7', name: '', configVersion: 1, sendingApplication: 'HB', sendingFacility: 'WARD', receivingApplication: 'LIS', receivingFacility: 'HOSPITAL', patientField: 'patientId', patientAuthority: 'HOSP', version: '2.5.1', wires: [[hl7Next]] },
    { id: 'c-send', z: TAB, type: 'hl7-send', name: '', version: 1, connection: 'c-mllp', wires: [['c-ack']] },
    { id: 'c-catch', z: TAB, type: 'catch', name: '', scope: ['c-fhir', 'c-http', 'c-hl7', 'c-send'], uncaught: false, wires: [['c-ack', 'c-errors']] },
    { id: 'c-errors', z: TAB, type: 'test-sink', name: 'c/errors', wires: [[]] },
    { id: 'c-ack', z: TAB, type: 'health-ack', name: '', wires: [[]] },
  ];
  if (layout.subflow) {
    nodes.push(
      { id: 'c-sub', z: TAB, type: 'subflow:c-sf', name: '', wires: [['c-send']] },
      {
        id: 'c-sf', type: 'subflow', name: 'pass through', info: '', category: '', env: [], color: '#DDAA99',
        in: [{ x: 50, y: 30, wires: [{ id: 'c-sf-n' }] }], out: [{ x: 250, y: 30, wires: [{ id: 'c-sf-n', port: 0 }] }],
      },
      { id: 'c-sf-n', z: 'c-sf', type: 'change', name: 'as it is', rules: [], action: '', property: '', from: '', to: '', reg: false, x: 150, y: 30, wires: [[]] },
    );
  }
  return [
    ...placed(nodes.filter((n) => (n as { z?: string }).z === TAB || (n as { type: string }).type === 'tab')),
    ...nodes.filter((n) => (n as { z?: string }).z !== TAB && (n as { type: string }).type !== 'tab'),
    { id: 'c-mllp', type: 'hl7-mllp', name: '', version: 1, host: HOST, port: String(layout.mllpPort), tls: false, timeout: layout.mllpTimeout ?? 1, charset: 'utf-8' },
  ];
}

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('ack: flow with FHIR and HL7 side by side: every copy counts, and the deadline is shared', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;
  let fhir: FhirServer;
  let his: RawServer | undefined;
  let file: string;

  before(async function () {
    [nodeRed, fhir] = await Promise.all([NodeRed.start({ settings: { lang: 'en-US' } }), startFhirServer()]);
  });
  after(async function () {
    await Promise.all([nodeRed?.stop(), fhir?.stop()]);
  });
  beforeEach(async function () {
    await nodeRed.clearMessages();
    file = path.join(nodeRed.userDir, `readings-${Date.now()}.jsonl`);
  });
  afterEach(async function () {
    await nodeRed.deploy([]);
    await his?.close();
    his = undefined;
  });

  const storedInFhir = async (readingId: string): Promise<number> =>
    (await fhir.get(`/Observation?identifier=${encodeURIComponent(`urn:health-bridge:reading|${readingId}`)}`)).body.entry?.length ?? 0;
  const push = (body: unknown) => postJson(`${nodeRed.url}/copies`, body);

  it('(a) the HIS answers AE after the FHIR server stored it: the vendor hears the failure, and its re-push once the HIS accepts is answered 200', async function () {
    let accept = false;
    // the HIS answers a moment later than the FHIR server, as in the field: the FHIR success
    // must not answer the vendor for both
    his = await rawServer((message) => new Promise((resolve) => setTimeout(
      () => resolve(ackOf(accept ? 'AA' : 'AE', controlIdIn(message), 'Patient not admitted')), 600)));
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file }));
    const { body, readingId } = sinocarePush();

    const failed = await push(body);
    assert.equal(failed.status, 500, failed.text);
    assert.deepEqual(failed.json, { code: 500, msg: 'receiver failed to store the data' });
    const [caught] = await nodeRed.waitForMessages(1, 'c/errors');
    assert.equal(caught?.msg.error.code, 'AE');
    assert.equal(await storedInFhir(readingId), 1, 'the FHIR branch did its part');

    accept = true;
    const retried = await push(body);
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.json, { code: 0, msg: '' });
    assert.equal(his.received.length, 2);
    assert.equal(await storedInFhir(readingId), 1, 'the conditional create stored it once');
    assert.equal(lines(file).length, 2, 'the file branch wrote both, and was never waited for');

    // a hospital's refusal is no refused push: counted apart on the receiver's status
    const statuses = (await nodeRed.settledMessages('c/statuses')).map((m) => String(m.msg.status?.text));
    assert.ok(statuses.some((text) => /1 failed downstream/.test(text) && /0 rejected/.test(text)), statuses.join(' | '));
    assert.ok(!statuses.some((text) => /[1-9]\d* rejected/.test(text)), statuses.join(' | '));
  });

  it('(b) an MLLP server that never answers: the vendor hears the failure though the FHIR server stored it', async function () {
    his = await rawServer(() => undefined);
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file }));
    const { body, readingId } = sinocarePush();
    const response = await push(body);
    assert.equal(response.status, 500, response.text);
    const [caught] = await nodeRed.waitForMessages(1, 'c/errors');
    assert.equal(caught?.msg.error.code, 'timeout');
    assert.equal(await storedInFhir(readingId), 1);
  });

  it('(c) both accept: 200 once, stored once in each; the same push again is a duplicate', async function () {
    his = await rawServer((message) => ackOf('AA', controlIdIn(message)));
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file }));
    const logged = nodeRed.logs.length;
    const { body, readingId } = sinocarePush();
    const response = await push(body);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { code: 0, msg: '' });
    const again = await push(body);
    assert.equal(again.status, 200, again.text);
    assert.equal(his.received.length, 1, 'one ORU^R01 at the HIS');
    assert.equal(await storedInFhir(readingId), 1, 'one Observation at the FHIR server');
    assert.equal(lines(file).length, 1, 'one line in the file');
    assert.equal((await nodeRed.settledMessages('c/errors')).length, 0);
    assert.doesNotMatch(nodeRed.logs.slice(logged), /nothing waits for this message/);
  });

  it('(d) a HIS that never answers, ackTimeout 3 s, MLLP timeout 10 s: the Catch node hears deadline and the vendor has its 500 within 3.5 s; the ACK that comes later is a debug line', async function () {
    let answerLate!: () => void;
    const late = new Promise<void>((resolve) => { answerLate = resolve; });
    his = await rawServer((message) => late.then(() => ackOf('AA', controlIdIn(message))));
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file, ackTimeout: 3, mllpTimeout: 10 }));
    const { body } = sinocarePush();
    const started = Date.now();
    const response = await push(body);
    const elapsed = Date.now() - started;
    assert.equal(response.status, 500, `${response.status} ${response.text} after ${elapsed} ms`);
    assert.ok(elapsed < 3500, `answered after ${elapsed} ms`);
    assert.ok(elapsed >= 2000, `answered after ${elapsed} ms: too early for a 3 s deadline`);
    const [caught] = await nodeRed.waitForMessages(1, 'c/errors');
    assert.equal(caught?.msg.error.source.type, 'hl7-send');
    assert.equal(caught?.msg.error.code, 'deadline');
    assert.match(caught?.msg.error.message, /just before the deadline of the push or delivery it belongs to \(control id \w+, code deadline\)/);

    const logged = nodeRed.logs.length;
    answerLate();
    const controlId = controlIdIn(his.received[0]!);
    const lateLine = new RegExp(`\\[debug\\] \\[hl7-send:[^\\]]*\\] ACK AA for control id ${controlId} came [\\d.]+ s after this node gave up on it \\(deadline\\)`);
    for (let i = 0; i < 50 && !lateLine.test(nodeRed.logs.slice(logged)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(nodeRed.logs.slice(logged), lateLine);
    assert.doesNotMatch(nodeRed.logs.slice(logged), /\[(warn|error)\]/, 'a late ACK is neither a warning nor an error');
  });

  it('a FHIR server that never answers, ackTimeout 3 s: health-fhir\'s msg.requestTimeout has the http request node give up first, and the vendor has its 500 within 3.5 s', async function () {
    his = await rawServer((message) => ackOf('AA', controlIdIn(message)));
    const sockets = new Set<net.Socket>();
    const silent = http.createServer(() => undefined); // takes the request, never answers
    silent.on('connection', (socket) => sockets.add(socket));
    silent.listen(0, HOST);
    await once(silent, 'listening');
    try {
      const silentUrl = `http://${HOST}:${(silent.address() as net.AddressInfo).port}/fhir`;
      await nodeRed.deploy(sideBySide({ fhirUrl: silentUrl, mllpPort: his.port, file, ackTimeout: 3 }));
      const started = Date.now();
      const response = await push(sinocarePush().body);
      const elapsed = Date.now() - started;
      assert.equal(response.status, 500, `${response.status} ${response.text} after ${elapsed} ms`);
      assert.ok(elapsed >= 2000 && elapsed < 3500, `answered after ${elapsed} ms`);
      const [caught] = await nodeRed.waitForMessages(1, 'c/errors');
      assert.equal(caught?.msg.error.source.type, 'http request');
      assert.ok(caught?.msg.requestTimeout > 2000 && caught?.msg.requestTimeout <= 2750, String(caught?.msg.requestTimeout));
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('(e) a subflow on a branch: the receiver is named in a warning at deploy', async function () {
    his = await rawServer((message) => ackOf('AA', controlIdIn(message)));
    const logged = nodeRed.logs.length;
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file, subflow: true }));
    const warning = /\[warn\] \[sinocare-in:side by side\] ack: flow cannot count the copies of this receiver's messages past the subflow "pass through"/;
    for (let i = 0; i < 30 && !warning.test(nodeRed.logs.slice(logged)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(nodeRed.logs.slice(logged), warning);
    const warnings = nodeRed.logs.slice(logged).split('\n').filter((line) => line.includes('cannot count the copies'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    // the layout still works: the copies there are not told apart, as before
    const response = await push(sinocarePush().body);
    assert.equal(response.status, 200, response.text);
  });

  it('an outbox delivery carries the outbox\'s ackTimeout as its deadline: the vendor is answered at once, hl7-send gives up before the outbox\'s 2 s (not the connection\'s 10 s), with code deadline', async function () {
    his = await rawServer(() => undefined);
    const tab = 'tab-outbox-deadline';
    await nodeRed.deploy([
      ...placed([
        { id: tab, type: 'tab', label: 'outbox deadline' },
        { id: 'o-rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/outboxed', ack: 'flow', ackTimeout: 4, credentials: { key: '', piiKey: '' }, wires: [['o-hl7'], []] },
        { id: 'o-hl7', z: tab, type: 'health-hl7', name: '', configVersion: 1, sendingApplication: 'HB', patientField: 'patientId', patientAuthority: 'HOSP', version: '2.5.1', wires: [['o-box']] },
        { id: 'o-box', z: tab, type: 'health-outbox', name: '', version: 1, maxAgeHours: 72, retryMinSeconds: 60, retryMaxSeconds: 60, concurrency: 1, ackTimeout: 2, state: '', wires: [['o-send'], []] },
        { id: 'o-send', z: tab, type: 'hl7-send', name: '', version: 1, connection: 'o-mllp', wires: [['o-ack']] },
        { id: 'o-catch', z: tab, type: 'catch', name: '', scope: ['o-send'], uncaught: false, wires: [['o-ack', 'o-errors']] },
        { id: 'o-errors', z: tab, type: 'test-sink', name: 'o/errors', wires: [[]] },
        { id: 'o-ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
      ]),
      { id: 'o-mllp', type: 'hl7-mllp', name: '', version: 1, host: HOST, port: String(his.port), tls: false, timeout: 10, charset: 'utf-8' },
    ]);
    const started = Date.now();
    const response = await postJson(`${nodeRed.url}/outboxed`, sinocarePush().body);
    assert.equal(response.status, 200, response.text);
    assert.ok(Date.now() - started < 1500, 'answered once the outbox had it on disk');
    const [caught] = await nodeRed.waitForMessages(1, 'o/errors', 8000);
    const elapsed = Date.now() - started;
    assert.equal(caught?.msg.error.code, 'deadline');
    assert.ok(elapsed >= 1500 && elapsed < 4000, `hl7-send gave up after ${elapsed} ms`);
    assert.equal(his.received.length, 1);
  });

  it('(f) what would file readings under nobody or keep them nowhere is said at deploy: a Catch node on health-fhir/health-hl7 wired straight to health-ack, and a node saved by an earlier release (requirePatient off)', async function () {
    his = await rawServer((message) => ackOf('AA', controlIdIn(message)));
    const logged = nodeRed.logs.length;
    // this layout's Catch node goes straight to health-ack, and its format nodes are of version 1
    await nodeRed.deploy(sideBySide({ fhirUrl: fhir.baseUrl, mllpPort: his.port, file }));
    const straight = /\[warn\] \[health-ack:c-ack\] the Catch node “c-catch” is wired straight to this node and hears health-fhir\/health-hl7/;
    for (let i = 0; i < 30 && !straight.test(nodeRed.logs.slice(logged)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const log = nodeRed.logs.slice(logged);
    assert.match(log, straight);
    assert.equal(log.split('\n').filter((line) => line.includes('is wired straight to this node')).length, 1);
    assert.match(log, /\[warn\] \[health-fhir:c-fhir\] requirePatient is off/);
    assert.match(log, /\[warn\] \[health-hl7:c-hl7\] requirePatient is off/);
  });

  it('an http request wired straight to health-ack is named at deploy, and a 503 it counted as delivered is told once', async function () {
    // a hospital that refuses everything
    let refused = 0;
    const hospital = http.createServer((_req, res) => {
      refused += 1;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
    });
    hospital.listen(0, '127.0.0.1');
    await once(hospital, 'listening');
    try {
      const port = (hospital.address() as net.AddressInfo).port;
      const tab = 'tab-http';
      const logged = nodeRed.logs.length;
      await nodeRed.deploy(placed([
        { id: tab, type: 'tab', label: 'http straight' },
        { id: 'h-rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/straight', ack: 'flow', ackTimeout: 5, credentials: { key: '', piiKey: '' }, wires: [['h-req'], []] },
        { id: 'h-req', z: tab, type: 'http request', name: 'to the HIS', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: `http://127.0.0.1:${port}/readings`, tls: '', persist: false, proxy: '', insecureHTTPParser: false, authType: '', senderr: false, headers: [], wires: [['h-ack']] },
        { id: 'h-ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
      ]));
      const straight = /\[warn\] \[health-ack:h-ack\] the http request “to the HIS” is wired straight to this node/;
      for (let i = 0; i < 30 && !straight.test(nodeRed.logs.slice(logged)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(nodeRed.logs.slice(logged), straight);
      for (let n = 0; n < 2; n++) {
        const answer = await postJson(`${nodeRed.url}/straight`, sinocarePush().body);
        // what this layout does (and why it is named): the vendor hears success for a reading the hospital refused
        assert.equal(answer.status, 200, answer.text);
      }
      assert.equal(refused, 2);
      const told = nodeRed.logs.slice(logged).split('\n').filter((line) => line.includes('[health-ack:h-ack] a message with msg.statusCode 503 and no msg.error was counted as delivered'));
      assert.equal(told.length, 1, 'told once per deploy');
    } finally {
      hospital.close();
    }
  });

  it('a reading no retry can mend, kept by the flow, is answered 200 and not emitted again', async function () {
    const tab = 'tab-kept';
    await nodeRed.deploy(placed([
      { id: tab, type: 'tab', label: 'quarantine' },
      { id: 'k-rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/kept', ack: 'flow', ackTimeout: 3, credentials: { key: '', piiKey: '' }, wires: [['k-fail'], ['k-ack']] },
      // what a Catch node hands on for a reading of nobody (code no-patient, not retryable)
      {
        id: 'k-fail', z: tab, type: 'change', name: 'no patient',
        rules: [{ t: 'set', p: 'error', pt: 'msg', to: '{"message":"no patient","code":"no-patient","cause":{"retryable":false}}', tot: 'json' }],
        action: '', property: '', from: '', to: '', reg: false, wires: [['k-quarantine']],
      },
      { id: 'k-quarantine', z: tab, type: 'test-sink', name: 'k/quarantine', wires: [['k-ack']] },
      { id: 'k-ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
    ]));
    assert.doesNotMatch(nodeRed.logs, /\[health-ack:k-ack\] the Catch node/, 'a file (here a sink) between them: nothing to say');
    const { body } = sinocarePush();
    const first = await postJson(`${nodeRed.url}/kept`, body);
    assert.equal(first.status, 200, first.text);
    const again = await postJson(`${nodeRed.url}/kept`, body);
    assert.equal(again.status, 200, again.text);
    assert.equal((await nodeRed.settledMessages('k/quarantine')).length, 1, 'kept once: the dedup key was kept after the success');
  });
});
