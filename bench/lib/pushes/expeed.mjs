// The benchmark's expeed push; ../pushes.mjs says what each field is for.
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

export default {
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
  // a data point's identity is device + timestamp + content (docs/receivers.md#duplicates): a new minute makes two
  // new readings (the counted ones start a year after the fixed push)
  unique: (n) => JSON.stringify(expeedPush(expeedTime(EXPEED_BASE + 365 * 86_400_000 + 60_000 * (n % 100_000_000)))),
  manual: (accepted) => `
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
msg.payload = ${JSON.stringify(accepted)};
return [msg, out];
`,
};
