import assert from 'node:assert/strict';
import { FhirMappingError, toFhir, type Observation, type TransactionBundle } from '../../src/lib/formats/fhir';
import { piiTransform } from '../../src/lib/pii';
import type { Reading } from '../../src/lib/reading';
import { buildMeasurementPush } from '../../src/sandbox/viatom-cloud';
import { viatomProtocol } from '../../src/lib/vendors/viatom';
import { startFhirServer, type FhirServer } from '../harness/fhir-server';
import { reading } from './hl7-readings';

/** Who a reading belongs to in FHIR: patientField auto, requirePatient, patient: create | reference. */

const observationIn = (bundle: TransactionBundle): Observation =>
  bundle.entry.find((e) => e.resource.resourceType === 'Observation')!.resource as Observation;
const patientIn = (bundle: TransactionBundle) => bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource;

/** A Viatom measurement as the cloud pushes it (member_id `<account>|<member>`, base64 each). */
function viatomReading(memberId = 'OA==|MTI='): Reading {
  const push = buildMeasurementPush(1, { memberId });
  const items = viatomProtocol.normalize(viatomProtocol.schema.parse(push), { tz: 'Asia/Shanghai', receivedAt: '2026-12-07T00:00:00Z' });
  return items.find((item) => item.output === 'reading')!.payload as Reading;
}

const lezhi = reading('lezhi', 'glucose-user');
const lezhiUserOnly: Reading = { ...lezhi, subject: { userId: lezhi.subject!.userId! } };

describe('health-fhir: every reading to its patient', function () {
  it('Sinocare: the hospital\'s patientId under patientSystem', function () {
    const sinocare = reading('sinocare', 'valid-reading');
    const bundle = toFhir(sinocare) as TransactionBundle;
    assert.deepEqual(patientIn(bundle)?.identifier, [{ system: 'urn:health-bridge:patient', value: 'P000981' }]);
    assert.equal(observationIn(bundle).subject?.reference, bundle.entry[0]!.fullUrl);
    const custom = toFhir(sinocare, { patientSystem: 'urn:oid:1.2.156.1' }) as TransactionBundle;
    assert.deepEqual(patientIn(custom)?.identifier, [{ system: 'urn:oid:1.2.156.1', value: 'P000981' }]);
  });

  it('Lezhi: associatedId under urn:health-bridge:lezhi:associatedId, else userId under its own system', function () {
    assert.deepEqual(patientIn(toFhir(lezhi) as TransactionBundle)?.identifier, [{ system: 'urn:health-bridge:lezhi:associatedId', value: 'hb-patient-0042' }]);
    assert.deepEqual(patientIn(toFhir(lezhiUserOnly) as TransactionBundle)?.identifier, [{ system: 'urn:health-bridge:lezhi:userId', value: '30518827' }]);
    // a vendor id never takes the hospital's system, whatever patientSystem says
    assert.equal(patientIn(toFhir(lezhi, { patientSystem: 'urn:oid:1.2.3' }) as TransactionBundle)?.identifier[0]?.system, 'urn:health-bridge:lezhi:associatedId');
  });

  it('Viatom: member_id under urn:health-bridge:viatom:member_id; a member_id that says "null" names no one', function () {
    const viatom = viatomReading();
    assert.deepEqual(patientIn(toFhir(viatom) as TransactionBundle)?.identifier, [{ system: 'urn:health-bridge:viatom:member_id', value: 'OA==|MTI=' }]);
    assert.throws(() => toFhir(viatomReading('bnVsbA==')), (err: unknown) => err instanceof FhirMappingError && err.code === 'no-patient');
  });

  it('Expeed: a data point names no one: no-patient, not retryable; with requirePatient false an Observation without subject', function () {
    const expeed = reading('expeed', 'data');
    assert.throws(() => toFhir(expeed), (err: unknown) => err instanceof FhirMappingError && err.code === 'no-patient' && err.retryable === false);
    assert.throws(() => toFhir(expeed, { output: 'observation' }), (err: unknown) => err instanceof FhirMappingError && err.code === 'no-patient');
    const bundle = toFhir(expeed, { requirePatient: false }) as TransactionBundle;
    assert.equal(patientIn(bundle), undefined);
    assert.equal(observationIn(bundle).subject, undefined);
  });

  it('a reading of a hospital\'s patient id set upstream wins over the vendor\'s own id', function () {
    const assigned: Reading = { ...lezhi, subject: { ...lezhi.subject, patientId: 'MRN-7' } };
    assert.deepEqual(patientIn(toFhir(assigned) as TransactionBundle)?.identifier, [{ system: 'urn:health-bridge:patient', value: 'MRN-7' }]);
  });

  it('a pseudonym is never taken for the hospital\'s id: it goes under the vendor\'s system with -pseudonym', function () {
    const sinocare = reading('sinocare', 'valid-reading');
    const pseudonymized: Reading = { ...sinocare, subject: piiTransform('pseudonymize', 'k')(sinocare.subject), context: { ...sinocare.context, pii: 'pseudonymize' } };
    const identifier = patientIn(toFhir(pseudonymized) as TransactionBundle)?.identifier[0];
    assert.equal(identifier?.system, 'urn:health-bridge:sinocare:patientId-pseudonym');
    assert.match(String(identifier?.value), /^[0-9a-f]{64}$/);
    // an explicit patientField too
    assert.equal(patientIn(toFhir(pseudonymized, { patientField: 'patientId' }) as TransactionBundle)?.identifier[0]?.system, 'urn:health-bridge:sinocare:patientId-pseudonym');
    const lezhiPseudonym: Reading = { ...lezhi, subject: piiTransform('pseudonymize', 'k')(lezhi.subject), context: { ...lezhi.context, pii: 'pseudonymize' } };
    assert.equal(patientIn(toFhir(lezhiPseudonym) as TransactionBundle)?.identifier[0]?.system, 'urn:health-bridge:lezhi:associatedId-pseudonym');
  });

  it('an explicit patientField reads that field as the hospital\'s id, as before', function () {
    const bundle = toFhir(lezhi, { patientField: 'userId' }) as TransactionBundle;
    assert.deepEqual(patientIn(bundle)?.identifier, [{ system: 'urn:health-bridge:patient', value: '30518827' }]);
    assert.throws(() => toFhir(lezhi, { patientField: 'patientId' }), (err: unknown) => err instanceof FhirMappingError && err.code === 'no-patient');
  });

  it('a kind no format maps and a unit without a LOINC code are not retryable either', function () {
    const sinocare = reading('sinocare', 'valid-reading');
    assert.throws(() => toFhir({ ...sinocare, kind: 'mood' }), (err: unknown) => err instanceof FhirMappingError && err.code === 'unknown-kind' && err.retryable === false);
    assert.throws(() => toFhir({ ...sinocare, values: { glucose: { value: 1, unit: 'g/L' } } }), (err: unknown) => err instanceof FhirMappingError && err.code === 'unit' && err.retryable === false);
    assert.throws(() => toFhir({ vendor: 'lezhi', event: 'x', data: {} }), (err: unknown) => err instanceof FhirMappingError && err.code === 'event' && err.retryable === true);
  });

  describe('patient: reference, against a FHIR server', function () {
    this.timeout(90_000);
    let server: FhirServer;
    before(async function () {
      server = await startFhirServer();
    });
    after(async function () {
      await server?.stop();
    });

    it('adds no Patient: the Observation points at Patient?identifier=system|value', function () {
      const bundle = toFhir(lezhi, { patient: 'reference' }) as TransactionBundle;
      assert.deepEqual(bundle.entry.map((e) => e.resource.resourceType), ['Observation']);
      assert.deepEqual(observationIn(bundle).subject, { reference: 'Patient?identifier=urn:health-bridge:lezhi:associatedId|hb-patient-0042', type: 'Patient' });
      const observation = toFhir(lezhi, { patient: 'reference', output: 'observation' }) as Observation;
      assert.equal(observation.subject?.reference, 'Patient?identifier=urn:health-bridge:lezhi:associatedId|hb-patient-0042');
    });

    it('the server files the Observation under the Patient it has, and refuses one whose Patient it does not have', async function () {
      const sinocare = reading('sinocare', 'valid-reading');
      const known: Reading = { ...sinocare, id: 'sinocare:ref-known', subject: { patientId: 'MRN-REF-1' } };
      const unknown: Reading = { ...sinocare, id: 'sinocare:ref-unknown', subject: { patientId: 'MRN-REF-NOBODY' } };
      const created = await server.post('/Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:health-bridge:patient', value: 'MRN-REF-1' }] });
      assert.equal(created.status, 201);

      const stored = await server.post('/', toFhir(known, { patient: 'reference' }));
      assert.equal(stored.status, 200, JSON.stringify(stored.body));
      const found = await server.get(`/Observation?identifier=${encodeURIComponent('urn:health-bridge:reading|sinocare:ref-known')}`);
      assert.equal(found.body.entry?.[0]?.resource.subject.reference, `Patient/${created.body.id}`);

      const refused = await server.post('/', toFhir(unknown, { patient: 'reference' }));
      assert.ok(refused.status >= 400, `refused: ${refused.status}`);
      const none = await server.get(`/Observation?identifier=${encodeURIComponent('urn:health-bridge:reading|sinocare:ref-unknown')}`);
      assert.equal(none.body.entry?.length ?? 0, 0, 'nothing stored');
      const patients = await server.get(`/Patient?identifier=${encodeURIComponent('urn:health-bridge:patient|MRN-REF-NOBODY')}`);
      assert.equal(patients.body.entry?.length ?? 0, 0, 'no stub patient created');
    });
  });
});
