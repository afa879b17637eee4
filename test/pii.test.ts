import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { useNodeRed } from './harness/node-red';

/**
 * The `pii` policy as a hospital's data-protection officer would check it: what the flow sees of
 * a patient in each mode, in readings, in rejected bodies, and that the log never shows it.
 */

const PATIENT = {
  patientName: '张三丰',
  idCard: '430424199001011234',
  patientId: 'P-000123',
  visitId: 'V-2026-0042',
  inSerialId: 'IS-77001',
};
const PII_KEY = 'hospital-pseudonym-secret';
const hmac = (value: string): string => createHmac('sha256', PII_KEY).update(value).digest('hex');

function sinocarePush(testId: string): any {
  const body = bodyFixture('sinocare', 'document-example');
  Object.assign(body.data, PATIENT, { testId });
  return body;
}

describe('pii policy', function () {
  const nodeRed = useNodeRed();

  async function receive(pii: string, body: unknown, type = 'sinocare-in'): Promise<Record<string, any>> {
    await nodeRed.deploy(receiverFlow({ type, properties: { pii, credentials: { piiKey: PII_KEY } } }));
    const response = await postJson(`${nodeRed.url}/push`, body);
    assert.equal(response.status, 200, response.text);
    const [reading] = await nodeRed.waitForMessages(1, 'rx/readings');
    return reading?.msg ?? {};
  }

  it('keep: the flow sees the patient as the vendor sent it', async function () {
    const msg = await receive('keep', sinocarePush('pii-keep'));
    assert.deepEqual(msg.payload.subject, {
      name: '张三丰', idCard: '430424199001011234', patientId: 'P-000123', visitId: 'V-2026-0042',
      inSerialId: 'IS-77001', organization: '测试医院',
    });
    assert.equal(msg.raw.data.patientName, '张三丰');
  });

  it('mask: personal fields keep their shape, identifiers stay', async function () {
    const msg = await receive('mask', sinocarePush('pii-mask'));
    assert.deepEqual(msg.payload.subject, {
      name: '张**', idCard: '430424********1234', patientId: 'P-000123', visitId: 'V-2026-0042',
      inSerialId: 'IS-77001', organization: '测试医院',
    });
    assert.equal(msg.raw.data.patientName, '张**');
    assert.equal(msg.raw.data.idCard, '430424********1234');
    assert.equal(msg.raw.data.patientId, 'P-000123');
  });

  it('mask: a short ID number is hidden completely', async function () {
    const body = sinocarePush('pii-mask-short');
    body.data.idCard = '430424';
    const msg = await receive('mask', body);
    assert.equal(msg.payload.subject.idCard, '******');
    assert.equal(msg.raw.data.idCard, '******');
  });

  it('pseudonymize: the same person maps to the same HMAC-SHA256 under piiKey', async function () {
    const msg = await receive('pseudonymize', sinocarePush('pii-pseudo'));
    assert.deepEqual(msg.payload.subject, {
      name: hmac('张三丰'), idCard: hmac('430424199001011234'), patientId: hmac('P-000123'),
      visitId: hmac('V-2026-0042'), inSerialId: hmac('IS-77001'), organization: '测试医院',
    });
    assert.equal(msg.raw.data.patientId, hmac('P-000123'));
  });

  for (const mode of ['keep', 'mask']) {
    it(`${mode}: Lezhi user identifiers stay as sent`, async function () {
      const body = bodyFixture('lezhi', 'blood-pressure-user');
      const msg = await receive(mode, body, 'lezhi-in');
      assert.deepEqual(msg.payload.subject, { userId: 30518827, associatedId: 'hb-patient-0042' });
      assert.equal(msg.raw.userId, 30518827);
    });
  }

  it('pseudonymize: Lezhi user identifiers become HMACs too', async function () {
    const body = bodyFixture('lezhi', 'blood-pressure-user');
    const msg = await receive('pseudonymize', body, 'lezhi-in');
    assert.equal(msg.payload.subject.userId, hmac(String(body.userId)));
    assert.equal(msg.payload.subject.associatedId, hmac(String(body.associatedId)));
    assert.equal(msg.raw.userId, hmac(String(body.userId)));
  });

  it('drop: personal fields and identifiers are removed', async function () {
    const msg = await receive('drop', sinocarePush('pii-drop'));
    assert.deepEqual(msg.payload.subject, { organization: '测试医院' });
    for (const field of Object.keys(PATIENT)) assert.equal(field in msg.raw.data, false, field);
  });

  it('drop: a Lezhi reading keeps no subject at all', async function () {
    const msg = await receive('drop', bodyFixture('lezhi', 'blood-pressure-user'), 'lezhi-in');
    assert.equal('subject' in msg.payload, false);
    assert.equal('userId' in msg.raw, false);
  });

  it('applies to rejected bodies that reach a Catch node', async function () {
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', properties: { pii: 'mask' } }));
    const body = sinocarePush('pii-rejected');
    body.data.testTime = 'not a time';
    assert.equal((await postJson(`${nodeRed.url}/push`, body)).status, 400);
    const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
    assert.equal(caught?.msg.raw.data.patientName, '张**');
    assert.equal(caught?.msg.payload.data.idCard, '430424********1234');
  });

  it('never shows a patient identifier or a secret in the log, the status or the exported flow', async function () {
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', properties: { pii: 'keep', credentials: { key: 'vendor-key-5e1', piiKey: PII_KEY } } }));
    const body = sinocarePush('pii-log');
    const url = `${nodeRed.url}/push`;
    await postJson(`${url}?key=vendor-key-5e1`, body);
    await postJson(url, body, { headers: { 'x-health-bridge-key': 'wrong-key-value' } });
    const invalid = sinocarePush('pii-log-invalid');
    invalid.data.testTime = 'yesterday';
    await postJson(`${url}?key=vendor-key-5e1`, invalid);
    await nodeRed.waitForMessages(2, 'rx/errors');
    const statuses = JSON.stringify((await nodeRed.settledMessages('rx/statuses')).map((m) => m.msg.status));
    const exported = (await request(`${nodeRed.url}/flows`)).text;
    assert.match(exported, /sinocare-in/);
    for (const secret of [...Object.values(PATIENT), 'vendor-key-5e1', 'wrong-key-value', PII_KEY]) {
      assert.equal(nodeRed.logs.includes(secret), false, `log shows ${secret}`);
      assert.equal(statuses.includes(secret), false, `status shows ${secret}`);
      assert.equal(exported.includes(secret), false, `exported flow shows ${secret}`);
    }
  });
});
