import assert from 'node:assert/strict';
import type { Inbound } from 'node-hl7-server';
import { CONFIG_VERSION } from '../src/lib/config-version';
import { RECEIVER_TYPES } from '../src/lib/registry';
import { buildMeasurementPush } from '../src/sandbox/viatom-cloud';
import { startFhirServer, type FhirServer } from './harness/fhir-server';
import { bodyFixture, placed } from './harness/flows';
import { postJson } from './harness/http';
import { hl7Server, HOST } from './harness/mllp';
import { freePort, NodeRed } from './harness/node-red';

/**
 * Every reading to its patient, as a user sees it: the four vendors push over HTTP to their
 * receivers in a real Node-RED, and one health-fhir and one health-hl7 left at their defaults
 * (a node added in the editor today: patientField auto, requirePatient) send them to a real FHIR
 * server and a real MLLP server. Each reading is filed under its patient: Sinocare by its
 * patientId, Lezhi by associatedId, Viatom by member_id; an Expeed data point names no one and
 * reaches the Catch node as no-patient, with nothing sent.
 */

const VIATOM_MEMBER = 'OA==|MTI=';

/** Receivers → health-fhir → http request, and → health-hl7 → hl7-send; a Catch on both formats. */
function flow(fhirUrl: string, mllpPort: number): object[] {
  const tab = 'tab-patients';
  const sink = (name: string): object => ({ id: `sink-${name}`, z: tab, type: 'test-sink', name, wires: [[]] });
  const receivers = RECEIVER_TYPES.map((type) => ({
    id: `rx-${type}`, z: tab, type, name: '', path: `/${type}`, ack: 'auto', version: CONFIG_VERSION,
    credentials: { key: '', piiKey: '' }, wires: [['fhir', 'hl7'], []],
  }));
  return [
    ...placed([
      { id: tab, type: 'tab', label: 'patients' },
      { id: 'catch', z: tab, type: 'catch', scope: ['fhir', 'hl7', 'post', 'send'], uncaught: false, wires: [['sink-errors']] },
      sink('errors'),
      ...receivers,
      // as the editor adds them: only the version and what a hospital must name
      { id: 'fhir', z: tab, type: 'health-fhir', name: '', version: CONFIG_VERSION, wires: [['post']] },
      { id: 'post', z: tab, type: 'http request', name: '', method: 'POST', ret: 'obj', paytoqs: 'ignore', url: fhirUrl, tls: '', persist: false, proxy: '', authType: '', senderr: false, headers: [], wires: [['sink-fhir']] },
      sink('fhir'),
      { id: 'hl7', z: tab, type: 'health-hl7', name: '', configVersion: CONFIG_VERSION, patientAuthority: 'HOSP', wires: [['send']] },
      { id: 'send', z: tab, type: 'hl7-send', name: '', version: CONFIG_VERSION, connection: 'his', wires: [['sink-hl7']] },
      sink('hl7'),
    ]),
    { id: 'his', type: 'hl7-mllp', name: '', version: CONFIG_VERSION, host: HOST, port: String(mllpPort), tls: false, timeout: 10, charset: 'utf-8' },
  ];
}

/** PID-3 of an ORU^R01 as [id, CX-4, CX-5], unescaped. */
function pid3(message: string): string[] | undefined {
  const pid = message.split('\r').find((segment) => segment.startsWith('PID|'));
  if (!pid) return undefined;
  const [id = '', , , authority = '', type = ''] = pid.split('|')[3]!.split('^');
  return [id.replace(/\\F\\/g, '|'), authority, type];
}

describe('every reading to its patient: four vendors through health-fhir and health-hl7 at their defaults', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;
  let fhir: FhirServer;
  let his: Inbound;
  const received: string[] = [];

  before(async function () {
    [nodeRed, fhir] = await Promise.all([NodeRed.start({ settings: { lang: 'en-US' } }), startFhirServer()]);
    const port = await freePort();
    his = await hl7Server(port, async (req, res) => {
      received.push(req.getMessage().toString());
      await res.sendResponse('AA');
    });
    await nodeRed.deploy(flow(fhir.baseUrl, port));
  });
  after(async function () {
    await Promise.all([nodeRed?.stop(), fhir?.stop(), his?.close()]);
  });

  const cases = [
    { vendor: 'sinocare', body: bodyFixture('sinocare', 'valid-reading'), system: 'urn:health-bridge:patient', value: 'P000981', authority: 'HOSP', type: 'PI' },
    { vendor: 'lezhi', body: bodyFixture('lezhi', 'glucose-user'), system: 'urn:health-bridge:lezhi:associatedId', value: 'hb-patient-0042', authority: 'HOSP-LEZHI-ASSOCIATEDID', type: 'PT' },
    { vendor: 'viatom', body: buildMeasurementPush(3, { memberId: VIATOM_MEMBER }), system: 'urn:health-bridge:viatom:member_id', value: VIATOM_MEMBER, authority: 'HOSP-VIATOM-MEMBER_ID', type: 'PT' },
  ];

  it('the FHIR server stores each Observation under a Patient with the expected identifier, and the HIS gets PID-3 with it', async function () {
    for (const [index, c] of cases.entries()) {
      const answer = await postJson(`${nodeRed.url}/${c.vendor}-in`, c.body);
      assert.equal(answer.status, 200, `${c.vendor}: ${answer.text}`);
      const stored = await nodeRed.waitForMessages(index + 1, 'fhir', 30_000);
      assert.equal(stored.at(-1)?.msg.statusCode, 200, JSON.stringify(stored.at(-1)?.msg.payload));
      const readingId = stored.at(-1)?.msg.reading.id as string;
      const found = await fhir.get(`/Observation?identifier=${encodeURIComponent(`urn:health-bridge:reading|${readingId}`)}`);
      const observation = found.body.entry?.[0]?.resource;
      assert.match(String(observation?.subject?.reference), /^Patient\//, `${c.vendor}: the Observation has a subject`);
      const patient = await fhir.get(`/${observation.subject.reference}`);
      assert.deepEqual(patient.body.identifier, [{ system: c.system, value: c.value }], `${c.vendor}: whose Patient`);

      await nodeRed.waitForMessages(index + 1, 'hl7', 30_000);
      const message = received.find((m) => m.includes(`|${readingId}|`) || m.includes(`|${readingId.replace(/\|/g, '\\F\\')}|`));
      assert.ok(message, `${c.vendor}: the HIS got the reading (OBR-3 ${readingId})`);
      assert.deepEqual(pid3(message), [c.value, c.authority, c.type], `${c.vendor}: PID-3`);
    }
    assert.equal((await nodeRed.settledMessages('errors')).length, 0);
  });

  it('an Expeed data point names no patient: no-patient at the Catch node from both, nothing sent', async function () {
    await nodeRed.clearMessages();
    const fhirBefore = nodeRed.messages.filter((m) => m.sink === 'fhir').length;
    const hisBefore = received.length;
    const answer = await postJson(`${nodeRed.url}/expeed-in`, bodyFixture('expeed', 'data'));
    assert.equal(answer.status, 200);
    // two data points in the push, each refused by both formats
    const errors = await nodeRed.waitForMessages(4, 'errors', 15_000);
    for (const error of errors) {
      assert.equal(error.msg.error.code, 'no-patient', JSON.stringify(error.msg.error));
      assert.equal(error.msg.payload.vendor, 'expeed', 'msg.payload unchanged: the reading');
      assert.match(error.msg.error.message, /no patient/);
    }
    assert.deepEqual(errors.map((e) => e.msg.error.source.id).sort(), ['fhir', 'fhir', 'hl7', 'hl7']);
    await nodeRed.settledMessages(undefined, 1000);
    assert.equal(nodeRed.messages.filter((m) => m.sink === 'fhir' || m.sink === 'hl7').length, fhirBefore, 'nothing posted or sent');
    assert.equal(received.length, hisBefore, 'the HIS got nothing');
  });
});
