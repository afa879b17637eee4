// One valid push per receiver type, as the vendor's cloud sends it, and what the benchmark needs
// around it:
//   body          the push (a duplicate-heavy load sends exactly this every time)
//   unique(n)     the n-th distinct reading: the same push with the vendor's dedup key changed
//                 and the same length in bytes as `body`, so every load carries bodies of one size
//   accepted      what the receiver answers a valid push (checked before loading)
//   manual        the body of a `function` node written the way an integrator would handle this
//                 vendor without our nodes: check the fields the vendor documents as required,
//                 drop what a context Set has seen by the vendor's key, answer in the vendor's
//                 envelope on output 1 (to `http response`), a new reading on output 2
//   describe      what the push is, for RESULTS.md
//   readings      readings one push carries (1 unless said; an Expeed data push carries 2)
//   properties    receiver properties beyond the editor's defaults (expeed-in: its account)
//   configNodes   config nodes the receiver needs in the flow (expeed-in: an expeed-account)
//
// A receiver type in package.json without an entry here is skipped with a line in RESULTS.md.

/** `width` digits of `n`, so a counter never changes a body's length. */
const digits = (n, width) => {
  const text = String(n);
  if (text.length > width) throw new Error(`counter ${n} does not fit ${width} digits`);
  return text.padStart(width, '0');
};

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

// Expeed data push (msg_type 2) as the platform document's example: two data points sharing a
// timestamp (test/fixtures/bodies/expeed/data.json), so every push is two readings.
const EXPEED_BASE = Date.UTC(2024, 10, 19, 4, 0, 0); // 2024-11-19 12:00 in Asia/Shanghai
const expeedTime = (epochMs) => {
  const d = new Date(epochMs + 8 * 3_600_000); // the platform's wall clock, UTC+8
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}-${p(d.getUTCMilliseconds(), 3)}`;
};
const expeedPush = (timestamp) => ({
  device_id: 'dev-001',
  device_key: 'k-dev-001-bench',
  msg_type: '2',
  data: [
    { timestamp, value1: 12, value2: '3.5' },
    { timestamp, value1: 13, mode: 'auto' },
  ],
});
const EXPEED_ACCOUNT = 'bench-expeed-account';

export const PUSHES = {
  'sinocare-in': {
    vendor: 'sinocare',
    describe: 'a CGM glucose push (`reservedCode` "01") as in the vendor document; identity `testId`',
    body: JSON.stringify(sinocareBody),
    // testId is Sinocare's identity of a reading (SPEC §5): 15 digits, a new one per reading
    unique: (n) => JSON.stringify({ ...sinocareBody, data: { ...sinocareBody.data, testId: `24${digits(n, 13)}` } }),
    accepted: { status: 200, body: { code: 0, msg: '' } },
    manual: `
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
msg.payload = { code: 0, msg: '' };
return [msg, reading];
`,
  },
  'lezhi-in': {
    vendor: 'lezhi',
    describe: 'a `BS` (blood sugar) `dataPush`; identity the SHA-256 of the body without `pushStatus`',
    body: JSON.stringify(lezhiBody),
    // Lezhi sends no id: its identity is the content without pushStatus, so a new measurement
    // time makes a new reading (a meter read once a minute)
    unique: (n) => JSON.stringify({ ...lezhiBody, data: { ...lezhiBody.data, measurementDate: 1731990600000 + 60_000 * (n % 100_000_000) } }),
    accepted: { status: 200, body: { code: 200 } },
    manual: `
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
msg.payload = { code: 200 };
return [msg, reading];
`,
  },
  'viatom-in': {
    vendor: 'viatom',
    describe: 'a `type 1` blood-pressure record (`data_type` 3) as in test/fixtures; identity `data_tag`',
    body: JSON.stringify(viatomBody),
    // data_tag is Viatom's identity of a record (SPEC §5); a new record also has a new measure_time
    unique: (n) =>
      JSON.stringify({
        ...viatomBody,
        data_tag: viatomTag(`BLOOD_PRESSURE@1${digits(n, 9)}`),
        data: { ...viatomBody.data, measure_time: String(1731974700000 + 60_000 * (n % 100_000_000)) },
      }),
    accepted: { status: 200, body: { code: 0, message: 'ok' } },
    manual: `
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
msg.payload = { code: 0, message: 'ok' };
return [msg, reading];
`,
  },
  'expeed-in': {
    vendor: 'expeed',
    describe:
      'a `msg_type` "2" data push with two points sharing a timestamp, as in the vendor document; identity per point (device, ' +
      'timestamp, content), so each push is two readings; the receiver has an `expeed-account` (its handshake token), as deployed',
    readings: 2,
    properties: { account: EXPEED_ACCOUNT },
    configNodes: [
      {
        id: EXPEED_ACCOUNT, type: 'expeed-account', name: 'bench', apiBase: 'http://127.0.0.1:9', platformKey: 'pk-bench',
        dailyTokenCap: 150, tz: 'Asia/Shanghai', onlineValue: 0, timeout: 10,
        credentials: { secretKey: 'sk-bench', handshakeToken: 'url-token-bench' },
      },
    ],
    body: JSON.stringify(expeedPush(expeedTime(EXPEED_BASE))),
    // a data point's identity is device + timestamp + content (SPEC §5): a new minute makes two
    // new readings (the counted ones start a year after the fixed push)
    unique: (n) => JSON.stringify(expeedPush(expeedTime(EXPEED_BASE + 365 * 86_400_000 + 60_000 * (n % 100_000_000)))),
    accepted: { status: 200, body: { result_code: 0, result_message: 'ok' } },
    manual: `
const body = msg.payload;
const type = body && String(body.msg_type).trim();
const stamp = /^\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}$/;
const id = (v) => (typeof v === 'string' && v !== '') || typeof v === 'number';
const valid = body && typeof body === 'object' && (
  (type === '1' && id(body.device_id) && Number.isFinite(Number(body.device_status))) ||
  (type === '2' && id(body.device_id) && Array.isArray(body.data) &&
    body.data.every((point) => point && typeof point === 'object' && typeof point.timestamp === 'string' && stamp.test(point.timestamp))) ||
  (type === '3' && id(body.message_id) && Number.isFinite(Number(body.set_result))));
if (!valid) {
  msg.statusCode = 400;
  msg.payload = { result_code: 400, result_message: 'invalid body' };
  return [msg, null];
}
let seen = context.get('seen');
if (!seen) {
  seen = new Set();
  context.set('seen', seen);
}
const out = [];
if (type === '2') {
  // two points may share a timestamp: the point's content is part of its identity
  for (const point of body.data) {
    const key = body.device_id + '|' + JSON.stringify(point);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ topic: 'expeed/datapoint', payload: { device_id: body.device_id, point } });
  }
} else if (type === '3') {
  const key = 'message_id|' + body.message_id;
  if (!seen.has(key)) {
    seen.add(key);
    out.push({ topic: 'expeed/setting-result', payload: body });
  }
} else {
  out.push({ topic: 'expeed/status', payload: body });
}
msg.statusCode = 200;
msg.payload = { result_code: 0, result_message: 'ok' };
return [msg, out];
`,
  },
};

for (const [type, push] of Object.entries(PUSHES)) {
  const length = Buffer.byteLength(push.body);
  for (const n of [0, 1, 99_999_999]) {
    if (Buffer.byteLength(push.unique(n)) !== length) throw new Error(`${type}: unique(${n}) is not ${length} bytes long`);
  }
}
