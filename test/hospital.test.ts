import assert from 'node:assert/strict';
import type { Inbound } from 'node-hl7-server';
import { FORMATS } from '../src/lib/formats';
import { lezhiProtocol } from '../src/lib/vendors/lezhi';
import { startFhirServer, type FhirServer } from './harness/fhir-server';
import { bodyFixture, placed } from './harness/flows';
import { postJson } from './harness/http';
import { ackOf, controlIdIn, hl7Server, HOST, rawServer, type RawServer } from './harness/mllp';
import { freePort, NodeRed, type SinkMessage } from './harness/node-red';
import { reading } from './unit/hl7-readings';

/**
 * The hospital half in a real Node-RED, over real HTTP and TCP: health-fhir into the core http
 * request node and a real FHIR server (medplum's, in a child process), health-hl7 into hl7-send
 * and real MLLP servers (node-hl7-server, and a raw one for AE and silence), and a Sinocare push
 * in `ack: flow` mode answered by what the hospital said.
 */

// the patient of test/fixtures/bodies/sinocare/valid-reading.json: never in a status or the log
const PATIENT = ['P000981', '李四', '430104198807150023'];
const READING = reading('sinocare', 'valid-reading');

const lezhiEvent = (): unknown => {
  const items = lezhiProtocol.normalize(lezhiProtocol.schema.parse(bodyFixture('lezhi', 'event')), { tz: 'Asia/Shanghai', receivedAt: '2026-11-22T10:00:00.123Z' });
  return items.find((item) => item.output === 'event')!.payload;
};

/**
 * A chain as a user wires it: test-source "<id>/in" → nodes… → test-sink "<id>/out", a Catch on
 * all of them into "<id>/errors", a Status on the last into "<id>/statuses".
 */
function chain(id: string, nodes: Array<Record<string, unknown>>, configNodes: object[] = []): object[] {
  const tab = `tab-${id}`;
  const ids = nodes.map((_, index) => `${id}-${index}`);
  const sink = (name: string): object => ({ id: `${id}-${name}`, z: tab, type: 'test-sink', name: `${id}/${name}`, wires: [[]] });
  return [
    ...placed([
      { id: tab, type: 'tab', label: id },
      { id: `${id}-catch`, z: tab, type: 'catch', scope: ids, uncaught: false, wires: [[`${id}-errors`]] },
      sink('errors'),
      { id: `${id}-status`, z: tab, type: 'status', scope: [ids.at(-1)], wires: [[`${id}-statuses`]] },
      sink('statuses'),
      { id: `${id}-source`, z: tab, type: 'test-source', name: `${id}/in`, wires: [[ids[0]]] },
      ...nodes.map((node, index) => ({ name: '', ...node, id: ids[index], z: tab, wires: [[ids[index + 1] ?? `${id}-out`]] })),
      sink('out'),
    ]),
    ...configNodes,
  ];
}

const mllp = (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'his', type: 'hl7-mllp', name: '', version: 1, host: HOST, port: String(port), tls: false, timeout: 1, charset: 'utf-8', ...extra,
});
const toHl7 = { type: 'health-hl7', configVersion: 1, sendingApplication: 'HB', sendingFacility: 'WARD', receivingApplication: 'LIS', receivingFacility: 'HOSPITAL', patientField: 'patientId', patientAuthority: 'HOSP', version: '2.5.1' };
const send = { type: 'hl7-send', version: 1, connection: 'his' };

const statusTexts = (messages: SinkMessage[]): string[] => messages.map((m) => String(m.msg.status?.text ?? ''));
function assertNoPatient(texts: string[] | string, what: string): void {
  for (const value of PATIENT) assert.ok(![texts].flat().some((text) => text.includes(value)), `${what} holds ${value}`);
}

describe('the hospital nodes in Node-RED, against a real FHIR server and real MLLP servers', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
  });
  after(async function () {
    await nodeRed?.stop();
  });
  beforeEach(async function () {
    await nodeRed.clearMessages();
  });

  it('every format node keeps the reading in msg.reading (health-outbox orders by its patient) and refuses an event with code event', async function () {
    const formats = Object.values(FORMATS);
    await nodeRed.deploy(formats.flatMap((format) => chain(format.nodeType, [{ type: format.nodeType }])));
    for (const format of formats) {
      nodeRed.inject(`${format.nodeType}/in`, { payload: READING });
      nodeRed.inject(`${format.nodeType}/in`, { payload: lezhiEvent() });
      const [out] = await nodeRed.waitForMessages(1, `${format.nodeType}/out`);
      assert.deepEqual(out?.msg.reading, READING, format.nodeType);
      assert.notDeepEqual(out?.msg.payload, READING, format.nodeType);
      assert.equal(out?.msg.topic, 'sinocare/glucose', `${format.nodeType}: a message without a topic gets the reading's`);
      const [caught] = await nodeRed.waitForMessages(1, `${format.nodeType}/errors`);
      assert.equal(caught?.msg.error.code, 'event', format.nodeType);
      assert.equal(caught?.msg.error.source.type, format.nodeType);
    }
  });

  describe('health-fhir → http request → FHIR server', function () {
    let fhir: FhirServer;
    before(async function () {
      fhir = await startFhirServer();
    });
    after(async function () {
      await fhir?.stop();
    });

    const flow = (): object[] =>
      chain('fhir', [
        { type: 'health-fhir', version: 1, output: 'bundle', patientField: 'patientId', patientSystem: 'urn:oid:1.2.156.112604', deviceSystem: '', readingSystem: '' },
        { type: 'http request', method: 'POST', ret: 'obj', paytoqs: 'ignore', url: fhir.baseUrl, tls: '', persist: false, proxy: '', authType: '', senderr: false, headers: [] },
      ]);

    it('a Sinocare reading is stored as Observation, Patient and Device, and sent twice it is stored once', async function () {
      await nodeRed.deploy(flow());
      for (let round = 1; round <= 2; round += 1) {
        nodeRed.inject('fhir/in', { payload: READING, headers: { 'x-trace': 'kept' } });
        const [out] = (await nodeRed.waitForMessages(round, 'fhir/out', 30_000)).slice(-1);
        assert.equal(out?.msg.statusCode, 200, JSON.stringify(out?.msg.payload));
        assert.equal(out?.msg.payload.resourceType, 'Bundle');
        assert.equal(out?.msg.payload.type, 'transaction-response');
        const codes = out?.msg.payload.entry.map((entry: any) => entry.response.status.slice(0, 3));
        assert.deepEqual(codes, round === 1 ? ['201', '201', '201'] : ['200', '200', '200'], 'created, then found by the conditional creates');
      }
      const search = async (type: string, system: string, value: string): Promise<number> =>
        (await fhir.get(`/${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`)).body.entry?.length ?? 0;
      assert.equal(await search('Observation', 'urn:health-bridge:reading', READING.id), 1);
      assert.equal(await search('Patient', 'urn:oid:1.2.156.112604', 'P000981'), 1);
      assert.equal(await search('Device', 'urn:health-bridge:device', String(READING.device!.sn)), 1);
      assert.equal((await nodeRed.settledMessages('fhir/errors')).length, 0);
    });

    it('health-fhir sets content-type application/fhir+json and keeps the other headers, no URL', async function () {
      await nodeRed.deploy(chain('fhirh', [{ type: 'health-fhir', version: 1, output: 'observation' }]));
      nodeRed.inject('fhirh/in', { payload: READING, headers: { 'x-trace': 'kept' } });
      const [out] = await nodeRed.waitForMessages(1, 'fhirh/out');
      assert.deepEqual(out?.msg.headers, { 'x-trace': 'kept', 'content-type': 'application/fhir+json' });
      assert.equal(out?.msg.payload.resourceType, 'Observation');
      assert.equal(out?.msg.url, undefined);
    });

    it('an event reaches the Catch node with msg.payload unchanged and the reason, and nothing is posted', async function () {
      await nodeRed.deploy(flow());
      const event = lezhiEvent();
      nodeRed.inject('fhir/in', { payload: event });
      const [caught] = await nodeRed.waitForMessages(1, 'fhir/errors');
      assert.deepEqual(caught?.msg.payload, event);
      assert.match(caught?.msg.error.message, /lezhi\/\S+ is an event, not a reading.*\(code event\)/);
      assert.equal(caught?.msg.error.source.type, 'health-fhir');
      assert.equal((await nodeRed.settledMessages('fhir/out')).length, 0);
    });
  });

  describe('health-hl7 → hl7-send → MLLP server', function () {
    const servers: Array<Inbound | RawServer> = [];
    afterEach(async function () {
      // stop the flow first, so that no connection waits for a server that is gone
      await nodeRed.deploy([]);
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    it('node-hl7-server answers AA: msg.payload = {code: AA, controlId}, and the status says connected, waiting, connected', async function () {
      const port = await freePort();
      const seen: string[] = [];
      servers.push(await hl7Server(port, async (req, res) => {
        const message = req.getMessage();
        seen.push(`${message.get('MSH.10').toString()} ${message.get('PID.3.1').toString()} ${message.get('OBX.3.1').toString()}`);
        await res.sendResponse('AA');
      }));
      await nodeRed.deploy(chain('h', [toHl7, send], [mllp(port)]));
      nodeRed.inject('h/in', { payload: READING });
      const [out] = await nodeRed.waitForMessages(1, 'h/out');
      assert.equal(out?.msg.payload.code, 'AA');
      assert.match(out?.msg.payload.controlId, /^[0-9a-f]{20}$/);
      assert.equal(seen.length, 1);
      assert.ok(seen[0]!.startsWith(`${out?.msg.payload.controlId} P000981 `), seen[0]);
      const statuses = statusTexts(await nodeRed.settledMessages('h/statuses'));
      assert.ok(statuses.includes(`connected to ${HOST}:${port}`), statuses.join(' | '));
      assert.ok(statuses.includes('waiting for 1 ACK(s)'), statuses.join(' | '));
      assert.equal(statuses.at(-1), `connected to ${HOST}:${port}`);
      assertNoPatient(statuses, 'a status');
    });

    it('a server that answers AE: the Catch node gets the code and the hospital\'s MSA-3 text, msg.payload unchanged', async function () {
      const server = await rawServer((message) => ackOf('AE', controlIdIn(message), 'Unknown patient identifier'));
      servers.push(server);
      await nodeRed.deploy(chain('h', [toHl7, send], [mllp(server.port)]));
      nodeRed.inject('h/in', { payload: 'ignored', hl7: true });
      nodeRed.inject('h/in', { payload: READING });
      const caught = await nodeRed.waitForMessages(2, 'h/errors');
      // the first is health-hl7 refusing text that is no reading
      assert.equal(caught[0]?.msg.error.source.type, 'health-hl7');
      assert.match(caught[0]?.msg.error.message, /not a reading/);
      const ae = caught[1]!.msg;
      assert.equal(ae.error.source.type, 'hl7-send');
      assert.equal(ae.error.code, 'AE');
      const controlId = controlIdIn(server.received[0]!);
      assert.match(ae.error.message, new RegExp(`answered AE \\(application error\\) to control id ${controlId}: Unknown patient identifier`));
      assert.equal(typeof ae.payload, 'string', 'the ORU^R01, as it came to hl7-send');
      assert.equal(controlIdIn(ae.payload), controlId);
      assert.equal((await nodeRed.settledMessages('h/out')).length, 0);
      const statuses = statusTexts(await nodeRed.settledMessages('h/statuses'));
      assert.ok(statuses.includes('failed: AE'), statuses.join(' | '));
      assertNoPatient(statuses, 'a status');
      assertNoPatient(nodeRed.logs, 'the log');
    });

    it('a server that never answers: a timeout error after the connection\'s 1 s', async function () {
      const server = await rawServer(() => undefined);
      servers.push(server);
      await nodeRed.deploy(chain('h', [toHl7, send], [mllp(server.port, { timeout: '1' })]));
      const started = Date.now();
      nodeRed.inject('h/in', { payload: READING });
      const [caught] = await nodeRed.waitForMessages(1, 'h/errors', 5000);
      const elapsed = Date.now() - started;
      assert.equal(caught?.msg.error.code, 'timeout');
      assert.match(caught?.msg.error.message, /no ACK from 127\.0\.0\.1:\d+ within 1 s/);
      assert.ok(elapsed >= 900 && elapsed < 3000, `${elapsed} ms`);
      assert.equal(server.received.length, 1);
    });

    it('the server restarts: the status shows the error, the connection comes back, and the next message succeeds', async function () {
      const port = await freePort();
      const handler = async (_req: unknown, res: { sendResponse(code: string): Promise<void> }): Promise<void> => res.sendResponse('AA');
      const first = await hl7Server(port, handler as never);
      await nodeRed.deploy(chain('h', [toHl7, send], [mllp(port, { timeout: 5 })]));
      nodeRed.inject('h/in', { payload: READING });
      await nodeRed.waitForMessages(1, 'h/out');
      await first.close();
      await nodeRed.waitForMessages(1, 'h/statuses', 5000);
      const down = async (): Promise<boolean> => statusTexts(nodeRed.messages.filter((m) => m.sink === 'h/statuses')).some((t) => t.startsWith(`${HOST}:${port}:`));
      for (let i = 0; i < 50 && !(await down()); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(await down(), 'the lost connection shows as an error');
      servers.push(await hl7Server(port, handler as never));
      nodeRed.inject('h/in', { payload: READING });
      const outs = await nodeRed.waitForMessages(2, 'h/out', 10_000);
      assert.equal(outs[1]?.msg.payload.code, 'AA');
      const statuses = statusTexts(await nodeRed.settledMessages('h/statuses'));
      const error = statuses.findIndex((t) => t.startsWith(`${HOST}:${port}:`));
      assert.ok(error > statuses.indexOf(`connected to ${HOST}:${port}`), statuses.join(' | '));
      assert.ok(statuses.slice(error).includes(`connected to ${HOST}:${port}`), statuses.join(' | '));
      assertNoPatient(statuses, 'a status');
      assert.equal((await nodeRed.settledMessages('h/errors')).length, 0);
    });

    it('two hl7-send nodes on one hl7-mllp share one connection, and both show its status', async function () {
      const server = await rawServer((message) => ackOf('AA', controlIdIn(message)));
      servers.push(server);
      await nodeRed.deploy([...chain('a', [toHl7, send], [mllp(server.port)]), ...chain('b', [toHl7, send])]);
      nodeRed.inject('a/in', { payload: READING });
      nodeRed.inject('b/in', { payload: READING });
      await nodeRed.waitForMessages(1, 'a/out');
      await nodeRed.waitForMessages(1, 'b/out');
      assert.equal(server.connections, 1, 'one socket for both');
      for (const id of ['a', 'b']) {
        assert.ok(statusTexts(await nodeRed.settledMessages(`${id}/statuses`)).includes(`connected to ${HOST}:${server.port}`), id);
      }
    });
  });

  describe('a Sinocare push in ack: flow mode, answered by the hospital', function () {
    let server: RawServer | undefined;
    afterEach(async function () {
      await nodeRed.deploy([]);
      await server?.close();
    });

    function flow(port: number): object[] {
      const tab = 'tab-rx';
      return [
        ...placed([
          { id: tab, type: 'tab', label: 'sinocare to the hospital' },
          { id: 'rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/push', ack: 'flow', ackTimeout: 4, credentials: { key: '', piiKey: '' }, wires: [['rx-hl7'], ['rx-ack']] },
          { id: 'rx-hl7', z: tab, ...toHl7, name: '', wires: [['rx-send']] },
          { id: 'rx-send', z: tab, ...send, name: '', wires: [['rx-ack']] },
          { id: 'rx-catch', z: tab, type: 'catch', scope: ['rx-hl7', 'rx-send'], uncaught: false, wires: [['rx-ack', 'rx-errors']] },
          { id: 'rx-errors', z: tab, type: 'test-sink', name: 'rx/errors', wires: [[]] },
          { id: 'rx-ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
        ]),
        mllp(port),
      ];
    }

    it('the hospital answers AE: Sinocare is answered 500, so the cloud retries', async function () {
      server = await rawServer((message) => ackOf('AE', controlIdIn(message), 'Patient not admitted'));
      await nodeRed.deploy(flow(server.port));
      const response = await postJson(`${nodeRed.url}/push`, bodyFixture('sinocare', 'valid-reading'));
      assert.equal(response.status, 500);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.equal(caught?.msg.error.code, 'AE');
      assert.equal(server.received.length, 1);
    });

    it('the hospital never answers: the Catch node gets the timeout, Sinocare is answered 500, and its retry once the hospital answers AA is answered 200', async function () {
      // the connection waits 1 s for an ACK (mllp(): timeout 1), the receiver 4 s for the flow
      // (ackTimeout 4): the vendor hears the hospital's silence as a failure (500), not as the
      // receiver's own timeout (503)
      let answering = false;
      const acknowledged: string[] = [];
      server = await rawServer((message) => {
        if (!answering) return undefined;
        acknowledged.push(controlIdIn(message));
        return ackOf('AA', controlIdIn(message));
      });
      await nodeRed.deploy(flow(server.port));
      const push = bodyFixture('sinocare', 'valid-reading');
      const failed = await postJson(`${nodeRed.url}/push`, push);
      assert.equal(failed.status, 500, failed.text);
      assert.deepEqual(failed.json, { code: 500, msg: 'receiver failed to store the data' });
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.equal(caught?.msg.error.source.type, 'hl7-send');
      assert.equal(caught?.msg.error.code, 'timeout');
      assert.equal(server.received.length, 1, 'the connection was open and the message sent');
      const unanswered = controlIdIn(server.received[0]!);
      assert.match(caught?.msg.error.message, new RegExp(`no ACK from 127\\.0\\.0\\.1:${server.port} within 1 s \\(control id ${unanswered}, code timeout\\)`));

      // the hospital answers again, and the cloud pushes the same reading again
      answering = true;
      const retried = await postJson(`${nodeRed.url}/push`, push);
      assert.equal(retried.status, 200, retried.text);
      assert.deepEqual(retried.json, { code: 0, msg: '' });
      assert.equal(server.received.length, 2, 'the retry reached the hospital');
      assert.deepEqual(acknowledged, [controlIdIn(server.received[1]!)]);
      assert.notEqual(acknowledged[0], unanswered);
      // acknowledged once: one more copy of the push is a duplicate, answered 200 and not sent
      const duplicate = await postJson(`${nodeRed.url}/push`, push);
      assert.equal(duplicate.status, 200, duplicate.text);
      assert.equal(server.received.length, 2);
      assert.equal(acknowledged.length, 1);
      assert.equal((await nodeRed.settledMessages('rx/errors')).length, 1, 'only the timeout reached the Catch node');
    });

    it('the hospital answers AA: Sinocare is answered 200', async function () {
      server = await rawServer((message) => ackOf('AA', controlIdIn(message)));
      await nodeRed.deploy(flow(server.port));
      const response = await postJson(`${nodeRed.url}/push`, bodyFixture('sinocare', 'valid-reading'));
      assert.equal(response.status, 200);
      assert.deepEqual(response.json, { code: 0, msg: '' });
      assert.equal(server.received.length, 1);
      assert.equal((await nodeRed.settledMessages('rx/errors')).length, 0);
    });
  });
});
