// The benchmark's viatom push; ../pushes.mjs says what each field is for.
import { digits } from '../fixed-width.mjs';

// Viatom type-1 push (a blood pressure record, as test/fixtures/bodies/viatom/blood-pressure.json).
// data_tag is base64 of "<KIND>@<record number>" in Viatom's examples; a bench tag keeps that
// shape with 10 digits, the fixed push starting with 0 and the counted ones with 1, so they never meet.

const viatomTag = (text) => Buffer.from(text).toString('base64');
const viatomBody = {
  type: 1,
  data_tag: viatomTag('BLOOD_PRESSURE@0000022876'),
  account_id: 'MzIwMDA=',
  member_id: 'bnVsbA==',
  device_sn: '2106374387',
  data: {
    data_type: 3,
    measure_time: '1731974700000',
    measure_result: {
      sbp: { value: 132, unit: 'mmHg' },
      dia: { value: 84, unit: 'mmHg' },
      pr: { value: 71, unit: 'bpm' },
      pulse_pressure: { value: 48, unit: 'mmHg' },
      map: { value: 100, unit: 'mmHg' },
    },
    remark: '',
  },
  user_info: {},
  create_time: '2024-11-19 08:05:12',
  update_time: '2024-11-19 08:05:12',
};

export default {
  describe: 'a `type 1` blood-pressure record (`data_type` 3) as in test/fixtures; identity `data_tag`',
  body: JSON.stringify(viatomBody),
  // data_tag is Viatom's identity of a record (docs/receivers.md#duplicates); a new record also has a new measure_time
  unique: (n) =>
    JSON.stringify({
      ...viatomBody,
      data_tag: viatomTag(`BLOOD_PRESSURE@1${digits(n, 9)}`),
      data: { ...viatomBody.data, measure_time: String(1731974700000 + 60_000 * (n % 100_000_000)) },
    }),
  manual: (accepted) => `
const body = msg.payload;
const data = body && body.data;
const result = data && data.measure_result;
const number = (q) => q && typeof q === 'object' && q.value !== '' && q.value !== null && Number.isFinite(Number(q.value));
// the main values of each record type (Viatom's Query-Data API)
const required = { 1: ['temperature'], 2: ['spo2'], 3: ['sbp', 'dia'], 4: ['blood_gucose'], 6: ['hr'] };
const time = (t) => (typeof t === 'string' || typeof t === 'number') && (/^\\d{10,13}$/.test(String(t)) || /^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$/.test(String(t)));
const valid = body && [1, 2, 3].includes(Number(body.type)) && typeof body.data_tag === 'string' && body.data_tag !== '' &&
  data && typeof data === 'object' &&
  (Number(body.type) !== 1 || (Number.isFinite(Number(data.data_type)) && result && typeof result === 'object' &&
    (time(data.measure_time) || time(body.create_time)) &&
    (required[data.data_type] || []).every((field) => number(result[field]))));
if (!valid) {
  msg.statusCode = 400;
  msg.payload = { code: 400, message: 'invalid body' };
  return [msg, null];
}
let seen = context.get('seen');
if (!seen) {
  seen = new Set();
  context.set('seen', seen);
}
const key = body.data_tag;
const fresh = !seen.has(key);
if (fresh) seen.add(key);
const reading = fresh ? { topic: 'viatom/' + data.data_type, payload: body } : null;
msg.statusCode = 200;
msg.payload = ${JSON.stringify(accepted)};
return [msg, reading];
`,
};
