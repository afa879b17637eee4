// The benchmark's sinocare push; ../pushes.mjs says what each field is for.
import { digits } from '../fixed-width.mjs';

const sinocareBody = {
  reservedCode: '01',
  data: {
    testId: '240119134800245',
    deviceSn: 'SN3C24A0917',
    testResult: '7.35',
    serialNo: 245,
    testTime: '2024-11-19 13:48:00',
    idCard: '430104198807150023',
    visitId: 'ZY20241117008',
    patientName: '李四',
    customerName: '长沙市第一医院',
    patientId: 'P000981',
    inSerialId: 'IN20241117003',
    status: '0',
    cgmDay: 15,
    increMinute: 3,
    low: 3.9,
    high: 10,
    cgmStatus: '2',
  },
};

export default {
  describe: 'a CGM glucose push (`reservedCode` "01") as in the vendor document; identity `testId`',
  body: JSON.stringify(sinocareBody),
  // testId is Sinocare's identity of a reading (docs/receivers.md#duplicates): 15 digits, a new one per reading
  unique: (n) => JSON.stringify({ ...sinocareBody, data: { ...sinocareBody.data, testId: `24${digits(n, 13)}` } }),
  manual: (accepted) => `
const body = msg.payload;
const data = body && body.data;
const valid = body && body.reservedCode === '01' && data && typeof data === 'object' &&
  (typeof data.testId === 'string' || typeof data.testId === 'number') && String(data.testId) !== '' &&
  data.testResult !== '' && data.testResult !== null && Number.isFinite(Number(data.testResult)) &&
  typeof data.testTime === 'string' && /^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$/.test(data.testTime);
if (!valid) {
  msg.statusCode = 400;
  msg.payload = { code: 400, msg: 'invalid body' };
  return [msg, null];
}
let seen = context.get('seen');
if (!seen) {
  seen = new Set();
  context.set('seen', seen);
}
const key = String(data.testId);
const fresh = !seen.has(key);
if (fresh) seen.add(key);
const reading = fresh ? { topic: 'sinocare/glucose', payload: data } : null;
msg.statusCode = 200;
msg.payload = ${JSON.stringify(accepted)};
return [msg, reading];
`,
};
