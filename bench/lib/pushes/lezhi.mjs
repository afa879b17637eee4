// The benchmark's lezhi push; ../pushes.mjs says what each field is for.
const lezhiBody = {
  userId: 23341064,
  associatedId: '66104c5623342apsasad',
  dataTypeKey: 'BS',
  eventKey: 'dataPush',
  pushStatus: 1,
  data: {
    measurementDate: 1731990600000,
    glu: 6.8,
    mealPeriod: 3,
  },
};

export default {
  describe: 'a `BS` (blood sugar) `dataPush`; identity the SHA-256 of the body without `pushStatus`',
  body: JSON.stringify(lezhiBody),
  // Lezhi sends no id: its identity is the content without pushStatus, so a new measurement
  // time makes a new reading (a meter read once a minute)
  unique: (n) => JSON.stringify({ ...lezhiBody, data: { ...lezhiBody.data, measurementDate: 1731990600000 + 60_000 * (n % 100_000_000) } }),
  manual: (accepted) => `
const body = msg.payload;
const data = body && body.data;
const number = (v) => v !== '' && v !== null && v !== undefined && Number.isFinite(Number(v));
const required = { BS: ['measurementDate', 'glu'], uBs: ['measurementDate', 'glu'], BP: ['measurementDate', 'sys', 'dia'],
  uBp: ['measurementDate', 'sys', 'dia'], dWeight: ['measureEpochMilli', 'weight'] };
const valid = body && (body.eventKey === 'dataPush' || body.eventKey === 'eventPush') &&
  typeof body.dataTypeKey === 'string' && body.dataTypeKey !== '' && data && typeof data === 'object' &&
  (body.eventKey !== 'dataPush' || !required[body.dataTypeKey] || required[body.dataTypeKey].every((field) => number(data[field])));
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
// no id from Lezhi: the push without its retry marker is the key
const { pushStatus, ...identity } = body;
const key = JSON.stringify(identity);
const fresh = !seen.has(key);
if (fresh) seen.add(key);
const reading = fresh ? { topic: 'lezhi/' + body.dataTypeKey, payload: body } : null;
msg.statusCode = 200;
msg.payload = ${JSON.stringify(accepted)};
return [msg, reading];
`,
};
