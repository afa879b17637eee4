import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CODE_ROWS, FhirMappingError, toFhir, type Observation, type TransactionBundle } from '../../src/lib/formats/fhir';
import { piiTransform } from '../../src/lib/pii';
import type { PushItem, Reading } from '../../src/lib/reading';
import type { PushProtocol } from '../../src/lib/receiver/protocol';
import { expeedProtocol } from '../../src/lib/vendors/expeed';
import { lezhiProtocol } from '../../src/lib/vendors/lezhi';
import { sinocareProtocol } from '../../src/lib/vendors/sinocare';
import { viatomProtocol } from '../../src/lib/vendors/viatom';
import { startFhirServer, type FhirServer } from '../harness/fhir-server';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies');
const RECEIVED_AT = '2026-11-22T10:00:00.123Z';
const PROTOCOLS: Record<string, PushProtocol<any>> = {
  lezhi: lezhiProtocol,
  sinocare: sinocareProtocol,
  viatom: viatomProtocol,
  expeed: expeedProtocol(),
};

/** What a receiver emits for a fixture body: the vendor's schema, then its normalizer. */
function itemsOf(vendor: string, name: string): PushItem[] {
  const protocol = PROTOCOLS[vendor]!;
  const body = JSON.parse(fs.readFileSync(path.join(FIXTURES, vendor, `${name}.json`), 'utf8'));
  return protocol.normalize(protocol.schema.parse(body), { tz: 'Asia/Shanghai', receivedAt: RECEIVED_AT });
}
const readingsOf = (vendor: string, name: string): Reading[] =>
  itemsOf(vendor, name).filter((item) => item.output === 'reading').map((item) => item.payload as Reading);
const readingOf = (vendor: string, name: string): Reading => readingsOf(vendor, name)[0]!;

/** Every reading fixture of every vendor: together they hold every kind each vendor emits. */
const READING_FIXTURES: Array<[string, string]> = [
  ['lezhi', 'blood-pressure'], ['lezhi', 'blood-pressure-user'], ['lezhi', 'glucose'], ['lezhi', 'glucose-user'],
  ['lezhi', 'weight'], ['lezhi', 'numbers-as-strings'], ['lezhi', 'swapped-keys'],
  ['sinocare', 'valid-reading'], ['sinocare', 'document-example'], ['sinocare', 'result-hi'],
  ['viatom', 'temperature'], ['viatom', 'temperature-coded'], ['viatom', 'spo2'], ['viatom', 'spo2-coded'],
  ['viatom', 'blood-pressure'], ['viatom', 'glucose'], ['viatom', 'glucose-mg-dl'], ['viatom', 'glucose-hi'],
  ['viatom', 'ecg'], ['viatom', 'heart-rate'], ['viatom', 'sleep'], ['viatom', 'blood-lipids'], ['viatom', 'body-fat'],
  ['viatom', 'create-time-only'],
  ['expeed', 'data'], ['expeed', 'data-unmeasured'], ['expeed', 'data-current-point'],
];

/** A reading with a patient, as a hospital deployment has: the vendor fixture plus `subject.patientId`. */
const withPatient = (reading: Reading, patientId = 'P-0042'): Reading => ({ ...reading, subject: { ...reading.subject, patientId } });

const observationIn = (bundle: TransactionBundle): Observation =>
  bundle.entry.find((e) => e.resource.resourceType === 'Observation')!.resource as Observation;

describe('FHIR R4: readings become Observations a hospital FHIR server accepts', function () {
  this.timeout(90_000);
  let server: FhirServer;
  before(async function () {
    server = await startFhirServer();
  });
  after(async function () {
    await server?.stop();
  });

  it('the fixtures cover every kind of reading but steps, from every vendor', function () {
    const kinds = new Set(READING_FIXTURES.flatMap(([vendor, name]) => readingsOf(vendor, name).map((r) => r.kind)));
    assert.deepEqual([...kinds].sort(), [
      'blood_lipids', 'blood_pressure', 'body_composition', 'datapoint', 'ecg', 'glucose', 'heart_rate', 'sleep', 'spo2', 'temperature', 'weight',
    ]);
  });

  for (const [vendor, name] of READING_FIXTURES) {
    it(`a ${vendor} ${name} reading validates as a transaction Bundle and as an Observation, with and without a patient`, async function () {
      for (const reading of readingsOf(vendor, name)) {
        for (const variant of [withPatient(reading), reading]) {
          for (const output of ['bundle', 'observation'] as const) {
            // requirePatient: false, so that the variant of no patient (an Expeed data point, a Lezhi
            // scale's device push) is still mapped: this test is about what the server accepts
            const resource = toFhir(variant, { output, requirePatient: false });
            const issues = await server.validate(resource);
            assert.deepEqual(issues, [], `${vendor}/${name} ${reading.kind} as ${output}: ${JSON.stringify(issues)}\n${JSON.stringify(resource)}`);
          }
        }
      }
    });
  }

  it('the validator is not a rubber stamp: a heart rate under the wrong LOINC fails its profile', async function () {
    const observation = toFhir(withPatient(readingOf('viatom', 'heart-rate')), { output: 'observation' }) as Observation;
    assert.deepEqual(observation.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/vitalsigns', 'http://hl7.org/fhir/StructureDefinition/heartrate']);
    assert.deepEqual(await server.validate(observation), []);
    const wrong = { ...observation, code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] } };
    assert.ok((await server.validate(wrong)).some((issue) => /heartrate/.test(issue.diagnostics ?? '')));
    // (medplum's validator checks structure, cardinality, invariants and profiles, not value-set bindings)
    const { status: _status, ...withoutStatus } = observation;
    assert.ok((await server.validate(withoutStatus)).some((issue) => (issue.expression ?? []).includes('Observation.status')));
  });

  it('a Sinocare CGM value is an interstitial glucose in mmol/L (LOINC 105272-9), laboratory, with patient and device by identifier', function () {
    const observation = toFhir(readingOf('sinocare', 'valid-reading'), { output: 'observation' }) as Observation;
    assert.equal(observation.code.coding?.[0]?.code, '105272-9');
    assert.equal(observation.category?.[0]?.coding?.[0]?.code, 'laboratory');
    assert.equal(observation.valueQuantity?.system, 'http://unitsofmeasure.org');
    assert.equal(observation.valueQuantity?.code, 'mmol/L');
    assert.deepEqual(observation.identifier, [{ system: 'urn:health-bridge:reading', value: readingOf('sinocare', 'valid-reading').id }]);
    assert.equal(observation.subject?.identifier?.system, 'urn:health-bridge:patient');
    assert.equal(observation.device?.identifier?.system, 'urn:health-bridge:device');
    assert.equal(observation.meta, undefined, 'glucose is laboratory: no vital-signs profile');
  });

  it('an out-of-range CGM "HI" validates, carries interpretation H and the device\'s text', async function () {
    const reading = readingOf('sinocare', 'result-hi');
    assert.equal(reading.values.glucose, undefined);
    const bundle = toFhir(reading, { requirePatient: false }) as TransactionBundle;
    assert.deepEqual(await server.validate(bundle), []);
    const observation = observationIn(bundle);
    assert.equal(observation.interpretation?.[0]?.coding?.[0]?.code, 'H');
    assert.equal(observation.interpretation?.[0]?.coding?.[0]?.system, 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation');
    assert.equal(observation.valueQuantity, undefined);
    assert.match(observation.dataAbsentReason?.text ?? '', /HI/);
    assert.equal(observation.code.coding?.[0]?.code, '105272-9');
  });

  it('a blood pressure ">300"-style reading keeps its comparator, and a Viatom "HI" glucose is H', async function () {
    const reading = readingOf('lezhi', 'blood-pressure');
    const high: Reading = { ...withPatient(reading), values: { diastolic: reading.values.diastolic! }, context: { resultText: '>300', outOfRange: 'high', unmeasured: ['systolic'] } };
    const observation = toFhir(high, { output: 'observation' }) as Observation;
    assert.deepEqual(await server.validate(observation), []);
    const systolic = observation.component!.find((c) => c.code.coding?.[0]?.code === '8480-6')!;
    assert.deepEqual(systolic.valueQuantity, { comparator: '>', value: 300, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
    assert.equal(systolic.interpretation?.[0]?.coding?.[0]?.code, 'H');
    assert.equal(observation.interpretation?.[0]?.coding?.[0]?.code, 'H');
    const viatom = toFhir(readingOf('viatom', 'glucose-hi'), { output: 'observation', requirePatient: false }) as Observation;
    assert.equal(viatom.interpretation?.[0]?.coding?.[0]?.code, 'H');
    assert.equal(viatom.code.coding?.[0]?.code, '14743-9');
  });

  it('blood pressure is the panel 85354-9 with systolic and diastolic components, under the vital-signs profile', function () {
    const observation = toFhir(withPatient(readingOf('viatom', 'blood-pressure')), { output: 'observation' }) as Observation;
    assert.equal(observation.code.coding?.[0]?.code, '85354-9');
    assert.deepEqual(observation.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/vitalsigns']);
    const codes = observation.component!.map((c) => c.code.coding?.[0]?.code);
    assert.ok(codes.includes('8480-6') && codes.includes('8462-4'), String(codes));
    assert.equal(observation.valueQuantity, undefined);
  });

  it('SpO2 carries 2708-6 with 59408-5; an ECG its heart rate and its file as a DocumentReference it is derived from', function () {
    const spo2 = toFhir(withPatient(readingOf('viatom', 'spo2')), { output: 'observation' }) as Observation;
    assert.deepEqual(spo2.code.coding?.map((c) => c.code), ['2708-6', '59408-5']);
    const ecg = toFhir(withPatient(readingOf('viatom', 'ecg')), { output: 'observation' }) as Observation;
    assert.equal(ecg.code.coding?.[0]?.code, '11524-6');
    assert.ok(ecg.component!.some((c) => c.code.coding?.[0]?.code === '8867-4' && c.valueQuantity?.value === 76));
    assert.equal(ecg.contained?.[0]?.content[0]?.attachment.url, 'https://viatom.example/data/ecg/analyze/2024/1119/f894c6c2.txt');
    assert.deepEqual(ecg.derivedFrom?.map((r) => r.reference), ['#recording', '#report']);
    assert.match(ecg.note?.[0]?.text ?? '', /窦性心律/);
  });

  it('an Expeed data point is named by its own names; a value without a unit has no UCUM code, text is valueString', function () {
    const [first, second] = readingsOf('expeed', 'data').map((r) => toFhir(r, { output: 'observation', requirePatient: false }) as Observation);
    assert.equal(first!.code.text, 'value1, value2');
    assert.deepEqual(first!.component?.[0], { code: { text: 'value1' }, valueQuantity: { value: 12 } });
    assert.deepEqual(second!.component?.find((c) => c.code.text === 'mode'), { code: { text: 'mode' }, valueString: 'auto' });
    assert.equal(first!.category, undefined);
  });

  it('the same transaction posted twice stores one Observation per reading, one Patient and one Device', async function () {
    const readings = [readingOf('sinocare', 'valid-reading'), readingOf('sinocare', 'result-hi'), readingOf('viatom', 'ecg')].map((r) =>
      withPatient(r, 'P-REDELIVERY'),
    );
    const devices = new Set(readings.map((r) => String(r.device?.sn)));
    for (let round = 0; round < 2; round += 1) {
      for (const reading of readings) {
        const bundle = toFhir(reading) as TransactionBundle;
        assert.deepEqual(toFhir(reading), bundle, 'the same reading gives the same Bundle');
        const answer = await server.post('/', bundle);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.type, 'transaction-response');
        const statuses = answer.body.entry.map((e: any) => e.response.status);
        if (round === 1) assert.deepEqual(statuses, statuses.map(() => '200'), 'a re-delivery creates nothing');
      }
    }
    for (const reading of readings) {
      const found = await server.get(`/Observation?identifier=${encodeURIComponent(`urn:health-bridge:reading|${reading.id}`)}`);
      assert.equal(found.body.entry?.length, 1, reading.id);
      const observation = found.body.entry[0].resource;
      assert.match(observation.subject.reference, /^Patient\//);
      assert.match(observation.device.reference, /^Device\//);
    }
    const patients = await server.get(`/Patient?identifier=${encodeURIComponent('urn:health-bridge:patient|P-REDELIVERY')}`);
    assert.equal(patients.body.entry?.length, 1);
    for (const sn of devices) {
      const found = await server.get(`/Device?identifier=${encodeURIComponent(`urn:health-bridge:device|${sn}`)}`);
      assert.equal(found.body.entry?.length, 1, sn);
    }
    assert.equal(devices.size, 2, 'two CGM readings of one sensor and one ECG monitor');
  });

  it('a reading id with base64 "+", "/" and "=" is found again by its conditional create', async function () {
    const reading = { ...readingOf('viatom', 'heart-rate'), id: 'viatom:a+b/c==' };
    for (let round = 0; round < 2; round += 1) assert.equal((await server.post('/', toFhir(reading, { requirePatient: false }))).status, 200);
    const found = await server.get(`/Observation?identifier=${encodeURIComponent('urn:health-bridge:reading|viatom:a+b/c==')}`);
    assert.equal(found.body.entry?.length, 1);
  });

  it('after pii: drop there is no patient: no-patient by default; with requirePatient false no Patient and no subject, and the Bundle still validates', async function () {
    const dropped = piiTransform('drop')(withPatient(readingOf('sinocare', 'valid-reading')));
    assert.throws(() => toFhir(dropped), (err: unknown) => err instanceof FhirMappingError && err.code === 'no-patient' && err.retryable === false);
    const bundle = toFhir(dropped, { requirePatient: false }) as TransactionBundle;
    assert.deepEqual(bundle.entry.map((e) => e.resource.resourceType), ['Device', 'Observation']);
    assert.equal(observationIn(bundle).subject, undefined);
    assert.deepEqual(await server.validate(bundle), []);
  });

  it('options name the systems and the patient field (health-fhir properties)', function () {
    const reading = readingOf('sinocare', 'valid-reading');
    const bundle = toFhir(reading, { patientField: 'visitId', patientSystem: 'urn:oid:1.2.3', deviceSystem: 'urn:x:dev', readingSystem: 'urn:x:r' }) as TransactionBundle;
    const patient = bundle.entry[0]!;
    assert.deepEqual(patient.resource, { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3', value: reading.subject!.visitId }], name: [{ text: reading.subject!.name }] });
    assert.equal(patient.request.ifNoneExist, `identifier=urn:oid:1.2.3|${reading.subject!.visitId}`);
    assert.match(patient.fullUrl, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(observationIn(bundle).subject?.reference, patient.fullUrl);
    assert.equal(observationIn(bundle).identifier[0]?.system, 'urn:x:r');
    assert.throws(() => toFhir(reading, { output: 'xml' as never }), (err: unknown) => err instanceof FhirMappingError && err.code === 'options');
  });

  it('events are refused with a clear error', function () {
    for (const [vendor, name] of [['lezhi', 'event'], ['viatom', 'authorized'], ['expeed', 'status-online']] as const) {
      for (const item of itemsOf(vendor, name)) {
        assert.equal(item.output, 'event');
        assert.throws(
          () => toFhir(item.payload),
          (err: unknown) => err instanceof FhirMappingError && err.code === 'event' && /is an event, not a reading/.test(err.message),
        );
      }
    }
    assert.throws(() => toFhir('hello'), (err: unknown) => err instanceof FhirMappingError && err.code === 'not-a-reading');
  });

  it('a glucose in a unit without a LOINC term is refused, not guessed', function () {
    const reading = readingOf('lezhi', 'glucose');
    assert.throws(
      () => toFhir({ ...reading, values: { glucose: { value: 100, unit: 'g/L' } } }),
      (err: unknown) => err instanceof FhirMappingError && err.code === 'unit',
    );
  });

  // The table is written from CODE_ROWS (codeTableMarkdown), so reading CODE_ROWS back out of it
  // proves nothing. What a reader relies on is that the document tells what the node SENDS: each
  // LOINC code in the resources of every fixture reading is in the documented table, in a row of
  // the reading's kind. A code written into the mapping outside the table fails here.
  it('every LOINC code the mapping sends is in the documented code table, in a row of its kind', function () {
    const rows = documentedCodeRows();
    assert.ok(rows.length > 10, 'the code table is found (<!-- codes:start --> in README.md or docs/)');
    let checked = 0;
    for (const [vendor, name] of READING_FIXTURES) {
      for (const reading of readingsOf(vendor, name)) {
        const observation = toFhir(reading, { output: 'observation', requirePatient: false }) as Observation;
        for (const code of loincCodesOf(observation)) {
          const documented = rows.some((row) => (row.kind === reading.kind || row.kind === 'any') && row.loinc.includes(code));
          assert.ok(documented, `${vendor}/${name}: ${reading.kind} is sent with LOINC ${code}, which the code table does not list for it`);
          checked += 1;
        }
      }
    }
    assert.ok(checked > READING_FIXTURES.length, `codes checked: ${checked}`);
  });

  it('every LOINC code of the table names where it comes from', function () {
    for (const row of CODE_ROWS) {
      for (const coding of row.codings) {
        const own = row.source.includes(`https://loinc.org/${coding.code}`) || (row.vitalSign && row.source.includes('observation-vitalsigns'));
        assert.ok(own, `${row.kind ?? 'any'} ${row.value} ${coding.code}: its source names neither its LOINC page nor the vital-signs profile`);
      }
    }
  });
});

/** The rows of the code table as the documentation shows it (README.md, or a page of docs/). */
function documentedCodeRows(): Array<{ kind: string; loinc: string[] }> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const docs = path.join(root, 'docs');
  const files = [path.join(root, 'README.md'), ...(fs.existsSync(docs) ? fs.readdirSync(docs, { recursive: true }).map((file) => path.join(docs, String(file))) : [])];
  for (const file of files.filter((name) => name.endsWith('.md'))) {
    const table = /<!-- codes:start -->\n([\s\S]*?)\n<!-- codes:end -->/.exec(fs.readFileSync(file, 'utf8'))?.[1];
    if (!table) continue;
    return table.split('\n').slice(2).map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      // | kind | value | unit | specimen | LOINC | …: the LOINC cell is "<code> <display>" joined by " + "
      return { kind: cells[1] ?? '', loinc: (cells[5] ?? '').split(' + ').map((coding) => coding.split(' ')[0] ?? '') };
    });
  }
  return [];
}

/** The LOINC codes of an Observation: its code's and its components'. */
function loincCodesOf(observation: Observation): string[] {
  const concepts = [observation.code, ...(observation.component ?? []).map((component) => component.code)];
  return concepts.flatMap((concept) => (concept.coding ?? []).filter((coding) => coding.system === 'http://loinc.org').map((coding) => coding.code ?? ''));
}
