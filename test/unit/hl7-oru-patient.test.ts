import assert from 'node:assert/strict';
import { Hl7MappingError, toOruR01, type OruOptions } from '../../src/lib/formats/hl7v2';
import { piiTransform } from '../../src/lib/pii';
import type { Reading } from '../../src/lib/reading';
import { viatomProtocol } from '../../src/lib/vendors/viatom';
import { buildMeasurementPush } from '../../src/sandbox/viatom-cloud';
import { reading } from './hl7-readings';

/** Who a reading belongs to in an ORU^R01: PID-3 by patientField auto, requirePatient. */

// an independent HL7 v2 parser (no types of its own)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simpleHl7: any = require('simple-hl7');

const FIXED: OruOptions = { sendingApplication: 'HB', receivingApplication: 'LIS', controlId: () => 'C1', now: () => new Date('2026-12-07T00:00:00Z') };

/** PID-3 as [id, CX-4, CX-5], read back by simple-hl7; undefined without a PID. */
function pid3(r: Reading, options: OruOptions = {}): string[] | undefined {
  const pid = new simpleHl7.Parser().parse(toOruR01(r, { ...FIXED, ...options })).getSegment('PID');
  return pid ? [pid.getComponent(3, 1), pid.getComponent(3, 4), pid.getComponent(3, 5)] : undefined;
}

function viatomReading(memberId: string): Reading {
  const push = buildMeasurementPush(3, { memberId });
  const items = viatomProtocol.normalize(viatomProtocol.schema.parse(push), { tz: 'Asia/Shanghai', receivedAt: '2026-12-07T00:00:00Z' });
  return items.find((item) => item.output === 'reading')!.payload as Reading;
}

const lezhi = reading('lezhi', 'glucose-user');

describe('health-hl7: PID-3 names the patient of every reading', function () {
  it('Sinocare: the hospital\'s patientId with patientAuthority (CX-4) and patientIdType (CX-5, default PI)', function () {
    const sinocare = reading('sinocare', 'valid-reading');
    assert.deepEqual(pid3(sinocare, { patientAuthority: 'HOSP' }), ['P000981', 'HOSP', 'PI']);
    assert.deepEqual(pid3(sinocare, { patientAuthority: 'HOSP', patientIdType: 'MR' }), ['P000981', 'HOSP', 'MR']);
    assert.deepEqual(pid3(sinocare), ['P000981', '', 'PI']);
  });

  it('Lezhi: associatedId, else userId, under <authority or HB>-LEZHI-<FIELD>', function () {
    assert.deepEqual(pid3(lezhi, { patientAuthority: 'HOSP' }), ['hb-patient-0042', 'HOSP-LEZHI-ASSOCIATEDID', 'PT']);
    assert.deepEqual(pid3(lezhi), ['hb-patient-0042', 'HB-LEZHI-ASSOCIATEDID', 'PT']);
    assert.deepEqual(pid3({ ...lezhi, subject: { userId: 30518827 } }), ['30518827', 'HB-LEZHI-USERID', 'PT']);
  });

  it('Viatom: member_id under HB-VIATOM-MEMBER_ID', function () {
    // Viatom's `|` is HL7's field separator: escaped as \F\ (simple-hl7 hands the escape back as sent)
    assert.deepEqual(pid3(viatomReading('OA==|MTI=')), ['OA==\\F\\MTI=', 'HB-VIATOM-MEMBER_ID', 'PT']);
    assert.throws(() => pid3(viatomReading('bnVsbA==')), (err: unknown) => err instanceof Hl7MappingError && err.code === 'no-patient');
  });

  it('Expeed: no-patient, not retryable; with requirePatient false no PID, as before', function () {
    const expeed = reading('expeed', 'data');
    assert.throws(() => toOruR01(expeed, FIXED), (err: unknown) => err instanceof Hl7MappingError && err.code === 'no-patient' && err.retryable === false);
    assert.equal(pid3(expeed, { requirePatient: false }), undefined);
  });

  it('after pii: drop there is no patient: no-patient; a pseudonym goes under -PSEUDONYM, never the hospital\'s authority', function () {
    const sinocare = reading('sinocare', 'valid-reading');
    assert.throws(() => toOruR01({ ...sinocare, subject: piiTransform('drop')(sinocare.subject) }, FIXED), /no patient/);
    const pseudonymized: Reading = { ...sinocare, subject: piiTransform('pseudonymize', 'k')(sinocare.subject), context: { ...sinocare.context, pii: 'pseudonymize' } };
    const [id, authority, type] = pid3(pseudonymized, { patientAuthority: 'HOSP' })!;
    assert.match(id!, /^[0-9a-f]{64}$/);
    assert.deepEqual([authority, type], ['HOSP-SINOCARE-PATIENTID-PSEUDONYM', 'PT']);
  });

  it('a kind with no mapping is unknown-kind, not retryable', function () {
    assert.throws(() => toOruR01({ ...lezhi, kind: 'mood' as never }, FIXED), (err: unknown) => err instanceof Hl7MappingError && err.code === 'unknown-kind' && err.retryable === false);
  });
});
