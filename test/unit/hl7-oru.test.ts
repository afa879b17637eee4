import assert from 'node:assert/strict';
import type { Reading } from '../../src/lib/reading';
import { Hl7MappingError, toOruR01, withCharset, type OruOptions } from '../../src/lib/formats/hl7v2';
import { READING_FIXTURES, reading, readingsOf, type FixtureVendor } from './hl7-readings';

// an independent HL7 v2 parser (no types of its own)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simpleHl7: any = require('simple-hl7');

const parse = (message: string): any => new simpleHl7.Parser().parse(message);
/** MSH-n with simple-hl7, whose header fields start at MSH-3. */
const msh = (message: any, n: number, component?: number): string =>
  component ? message.header.getComponent(n - 2, component) : message.header.getField(n - 2);

const FIXED: OruOptions = {
  sendingApplication: 'HEALTH-BRIDGE',
  sendingFacility: 'WARD-3',
  receivingApplication: 'LIS',
  receivingFacility: 'HOSPITAL',
  patientAuthority: 'HOSP',
  // these tests are about the message; who a reading belongs to is test/unit/hl7-oru-patient.test.ts
  requirePatient: false,
  now: () => new Date('2026-12-01T08:09:10.123Z'),
  controlId: () => 'CTRL0001',
};

/** The codes the hospital expects (docs/hospital.md#codes). */
const KIND_LOINC: Record<string, string> = {
  blood_pressure: '85354-9', weight: '29463-7', heart_rate: '8867-4', spo2: '2708-6', temperature: '8310-5',
  ecg: '11524-6', sleep: '93832-4', blood_lipids: '24331-1', body_composition: '41982-0', datapoint: 'datapoint',
};
function glucoseLoinc(r: Reading): string {
  const mass = r.values.glucose?.unit === 'mg/dL';
  if (r.context?.specimen === 'interstitial') return mass ? '99504-3' : '105272-9';
  return mass ? '41653-7' : '14743-9';
}
const VALUE_LOINC: Record<string, string> = {
  systolic: '8480-6', diastolic: '8462-4', meanArterial: '8478-0', pulse: '8867-4', weight: '29463-7', bmi: '39156-5',
  bodyFat: '41982-0', heartRate: '8867-4', spo2: '2708-6', pulseRate: '8889-8', temperature: '8310-5',
  cholesterol: '14647-2', triglycerides: '14927-8', hdl: '14646-4', ldl: '22748-8', impedance: 'impedance',
};
function valueLoinc(r: Reading, name: string): string {
  if (r.kind === 'datapoint') return name;
  if (name === 'glucose') return glucoseLoinc(r);
  if (name === 'duration') return r.kind === 'sleep' ? '93832-4' : 'duration';
  return VALUE_LOINC[name] as string;
}
const kindLoinc = (r: Reading): string => (r.kind === 'glucose' ? glucoseLoinc(r) : (KIND_LOINC[r.kind] as string));

/** "2021-11-02T12:33:33+08:00" → "20211102123333+0800", written independently of the library. */
const hl7TimeOf = (iso: string): string => iso.replace(/[-:T]/g, '');

const PATIENT_FIELD: Record<FixtureVendor, string> = { lezhi: 'userId', sinocare: 'patientId', viatom: 'account_id', expeed: 'patientId' };

describe('health-hl7: a reading becomes an ORU^R01 an independent parser reads back', function () {
  for (const [vendor, names] of Object.entries(READING_FIXTURES) as Array<[FixtureVendor, readonly string[]]>) {
    for (const name of names) {
      for (const r of readingsOf(vendor, name)) {
        it(`${/^[aeiou]/.test(vendor) ? "an" : "a"} ${vendor} ${r.kind} reading (${name}) keeps its patient, codes, values, units, times and device`, function () {
          const text = toOruR01(r, { ...FIXED, patientField: PATIENT_FIELD[vendor] });
          assert.ok(!text.includes('\n'), 'segments are joined by \\r');
          const m = parse(text);
          assert.equal(msh(m, 3), 'HEALTH-BRIDGE');
          assert.equal(msh(m, 6), 'HOSPITAL');
          assert.equal(msh(m, 7), '20261201080910.123+0000');
          assert.equal(msh(m, 9), 'ORU^R01^ORU_R01');
          assert.equal(msh(m, 10), 'CTRL0001');
          assert.equal(msh(m, 12), '2.5.1');

          const patientId = r.subject?.[PATIENT_FIELD[vendor]];
          const pid = m.getSegment('PID');
          if (patientId === undefined) assert.equal(pid, undefined, 'no patient, no PID');
          else {
            assert.equal(pid.getComponent(3, 1), String(patientId));
            assert.equal(pid.getComponent(3, 4), 'HOSP');
          }

          const obr = m.getSegment('OBR');
          assert.equal(obr.getField(3), r.id);
          assert.equal(obr.getComponent(4, 1), kindLoinc(r));
          assert.equal(obr.getField(7), hl7TimeOf(r.time));

          const obx: any[] = m.getSegments('OBX');
          const status = r.context?.valid === false ? 'P' : 'F';
          const sn = r.device?.sn ?? r.device?.id;
          for (const [valueName, quantity] of Object.entries(r.values)) {
            const code = valueLoinc(r, valueName);
            const segment = obx.find((s) => s.getComponent(3, 1) === code && s.getField(2) === 'NM');
            assert.ok(segment, `an NM OBX for ${valueName} (${code})`);
            assert.equal(segment.getComponent(3, 3), code.includes('-') ? 'LN' : 'L');
            assert.equal(Number(segment.getField(5)), quantity.value);
            assert.equal(segment.getComponent(6, 1), quantity.unit);
            assert.equal(segment.getComponent(6, 3), quantity.unit ? 'UCUM' : '');
            assert.equal(segment.getField(11), status);
            assert.equal(segment.getField(14), hl7TimeOf(r.time));
            assert.equal(segment.getField(18), sn === undefined ? '' : String(sn));
          }
          const unmeasured = obx.filter((s) => s.getField(2) === 'ST');
          assert.equal(obx.length, Object.keys(r.values).length + unmeasured.length);
          assert.equal(unmeasured.length > 0, typeof r.context?.resultText === 'string');
          obx.forEach((s, index) => assert.equal(s.getField(1), String(index + 1), 'OBX-1 counts from 1'));
        });
      }
    }
  }

  it('a value the sensor could not measure ("HI") is an ST OBX with its text and the flag H', function () {
    const r = reading('sinocare', 'result-hi');
    const obx = parse(toOruR01(r, FIXED)).getSegments('OBX');
    assert.equal(obx.length, 1);
    assert.deepEqual(
      [obx[0].getField(2), obx[0].getComponent(3, 1), obx[0].getField(5), obx[0].getField(6), obx[0].getField(8), obx[0].getField(11)],
      ['ST', '105272-9', 'HI', '', 'H', 'F'],
    );
  });

  it('a meter below its range ("LO") is flagged L; a value the device sent empty is X (no result)', function () {
    const r = reading('sinocare', 'result-hi');
    const low = { ...r, context: { ...r.context, resultText: '<2.2', outOfRange: 'low' } };
    const obx = parse(toOruR01(low, FIXED)).getSegment('OBX');
    assert.equal(obx.getField(5), '<2.2');
    assert.equal(obx.getField(8), 'L');
    const [expeed] = readingsOf('expeed', 'data-unmeasured');
    const segments = parse(toOruR01(expeed!, FIXED)).getSegments('OBX');
    const byName = Object.fromEntries(segments.map((s: any) => [s.getComponent(3, 1), s]));
    assert.deepEqual([byName.value1.getField(2), byName.value1.getField(5), byName.value1.getField(8)], ['ST', 'HI', 'H']);
    assert.deepEqual([byName.value2.getField(2), byName.value2.getField(5), byName.value2.getField(11)], ['ST', '', 'X']);
    assert.deepEqual([byName.value3.getField(2), byName.value3.getField(5)], ['NM', '5.2']);
  });

  it('blood pressure sends systolic and diastolic under the panel 85354-9', function () {
    const m = parse(toOruR01(reading('lezhi', 'blood-pressure'), FIXED));
    assert.equal(m.getSegment('OBR').getComponent(4, 1), '85354-9');
    assert.deepEqual(m.getSegments('OBX').map((s: any) => s.getComponent(3, 1)), ['8480-6', '8462-4', '8867-4']);
  });

  it('SpO2 is coded 2708-6 with 59408-5 as the alternate code', function () {
    const obx = parse(toOruR01(reading('viatom', 'spo2'), FIXED)).getSegment('OBX');
    assert.deepEqual([1, 3, 4, 6].map((c) => obx.getComponent(3, c)), ['2708-6', 'LN', '59408-5', 'LN']);
  });

  it('the patient name goes to PID-5 only when the reading carries one', function () {
    const withName = reading('sinocare', 'document-example');
    assert.equal(withName.subject?.name, '张三');
    assert.equal(parse(toOruR01(withName, FIXED)).getSegment('PID').getComponent(5, 1), '张三');
    const { name: _name, ...masked } = withName.subject!;
    const pid = parse(toOruR01({ ...withName, subject: masked }, FIXED)).getSegment('PID');
    assert.equal(pid.getComponent(3, 1), '12');
    assert.equal(pid.getField(5), '');
    const text = toOruR01({ ...withName, subject: masked }, FIXED);
    assert.ok(!text.includes('张三'));
    // pii: drop removes identifiers too: no patient at all
    const dropped = { ...withName };
    delete dropped.subject;
    assert.equal(parse(toOruR01(dropped, FIXED)).getSegment('PID'), undefined);
  });

  it('a name or text with | ^ ~ \\ & is escaped, so the independent parser sees the fields where they were', function () {
    const tricky = 'O|Brien^Jr~A\\B&C';
    const r = reading('sinocare', 'result-hi');
    const text = toOruR01({ ...r, subject: { patientId: 'P|1^x', name: tricky }, context: { ...r.context, resultText: '>22.2^|' } }, FIXED);
    const m = parse(text);
    const pid = m.getSegment('PID');
    assert.equal(pid.fields.length, 5, 'no field split off');
    assert.equal(pid.getField(5), 'O\\F\\Brien\\S\\Jr\\R\\A\\E\\B\\T\\C');
    assert.equal(pid.fields[4].value[0].length, 1, 'PID-5 stays one component');
    assert.equal(pid.getComponent(3, 1), 'P\\F\\1\\S\\x');
    assert.equal(pid.getComponent(3, 4), 'HOSP');
    const obx = m.getSegment('OBX');
    assert.equal(obx.getField(5), '>22.2\\S\\\\F\\');
    assert.equal(obx.getField(8), 'H');
    // the facility names in MSH are escaped too
    const header = parse(toOruR01(r, { ...FIXED, sendingFacility: 'A|B' }));
    assert.equal(msh(header, 4), 'A\\F\\B');
    assert.equal(msh(header, 5), 'LIS');
  });

  it('version 2.3.1 writes MSH-9 ORU^R01 and MSH-12 2.3.1; 2.5.1 is the default', function () {
    const r = reading('viatom', 'temperature');
    const old = parse(toOruR01(r, { ...FIXED, version: '2.3.1' }));
    assert.equal(msh(old, 9), 'ORU^R01');
    assert.equal(msh(old, 12), '2.3.1');
    const current = parse(toOruR01(r, FIXED));
    assert.equal(msh(current, 9), 'ORU^R01^ORU_R01');
    assert.equal(msh(current, 12), '2.5.1');
    assert.throws(() => toOruR01(r, { version: '2.4' as never }), Hl7MappingError);
  });

  it('MSH-10 is unique per message, and fits the 20 characters of the field', function () {
    const r = reading('viatom', 'temperature');
    const ids = new Set(Array.from({ length: 200 }, () => msh(parse(toOruR01(r, { requirePatient: false })), 10)));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.ok(id.length > 0 && id.length <= 20);
  });

  it('MSH-18 names the charset only where the message is not ASCII, and hl7-send sets it to its own', function () {
    const ascii = toOruR01(reading('viatom', 'temperature'), FIXED);
    assert.equal(msh(parse(ascii), 18), '');
    const chinese = toOruR01(reading('sinocare', 'document-example'), FIXED);
    assert.equal(msh(parse(chinese), 18), 'UNICODE UTF-8');
    assert.equal(msh(parse(toOruR01(reading('sinocare', 'document-example'), { ...FIXED, charset: 'gb18030' })), 18), 'GB 18030-2000');
    assert.equal(msh(parse(withCharset(chinese, 'gb18030')), 18), 'GB 18030-2000');
    assert.equal(withCharset(ascii, 'gb18030'), ascii);
    const facility = toOruR01(reading('viatom', 'temperature'), { ...FIXED, receivingFacility: '测试医院' });
    assert.equal(msh(parse(facility), 18), 'UNICODE UTF-8');
  });

  it('an event is refused with a clear error, and nothing of it is in the message', function () {
    const event = { vendor: 'viatom', event: 'authorized', subject: { name: '张三' }, data: { phone: '15300001111' } };
    assert.throws(() => toOruR01(event as never, FIXED), (error: Error) => {
      assert.ok(error instanceof Hl7MappingError && error.code === 'event');
      // the same sentence as health-fhir's: one check of "is this a reading?" (src/lib/reading.ts)
      assert.match(error.message, /viatom\/authorized is an event, not a reading/);
      assert.ok(!error.message.includes('张三') && !error.message.includes('1530000'));
      return true;
    });
    assert.throws(() => toOruR01({ id: 'x' } as never), /not a reading/);
  });
});
