import assert from 'node:assert/strict';
import type { NodeTypeOf } from '../src/lib/registry';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, type HttpResponse } from './harness/http';
import { useNodeRed, type SinkMessage } from './harness/node-red';

/**
 * What a hospital's flow receives for each push the vendors document, over real HTTP: the
 * normalized reading or event, written out here by hand from the vendor documents and docs/vendors.md.
 */

describe('vendor pushes as the flow receives them', function () {
  const nodeRed = useNodeRed();
  let startedAt: number;
  beforeEach(async function () {
    startedAt = Date.now();
  });

  async function deploy(type: NodeTypeOf<'receiver'>, properties: Record<string, unknown> = {}): Promise<void> {
    await nodeRed.deploy(receiverFlow({ type, properties }));
  }
  const push = (body: unknown): Promise<HttpResponse> => postJson(`${nodeRed.url}/push`, body);
  const readings = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/readings');
  const events = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/events');

  /** The reading minus `receivedAt`, after checking that it is the time the push arrived. */
  function withoutReceivedAt(payload: Record<string, unknown>): Record<string, unknown> {
    const { receivedAt, ...rest } = payload;
    const received = Date.parse(String(receivedAt));
    assert.ok(received >= startedAt - 1000 && received <= Date.now() + 1000, `receivedAt ${receivedAt}`);
    return rest;
  }

  describe('sinocare-in', function () {
    beforeEach(async function () {
      await deploy('sinocare-in');
    });

    it('turns the example of the Sinocare document into one interstitial glucose reading', async function () {
      const response = await push(bodyFixture('sinocare', 'document-example'));
      assert.equal(response.status, 200);
      assert.deepEqual(response.json, { code: 0, msg: '' });
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'sinocare/glucose');
      assert.deepEqual(withoutReceivedAt(reading?.msg.payload), {
        id: 'sinocare:23434335345',
        vendor: 'sinocare',
        kind: 'glucose',
        time: '2021-11-02T12:33:33+08:00',
        values: { glucose: { value: 5.6, unit: 'mmol/L' } },
        device: { sn: '23xxdrt33' },
        subject: {
          patientId: '12', visitId: '1234321', inSerialId: '12343211', name: '张三', idCard: '430424', organization: '测试医院',
        },
        // The example has status "1": a value from the sensor's initialization, emitted but invalid.
        context: { specimen: 'interstitial', serialNo: 1, intervalMinutes: 3, valid: false, sensorState: 'uploading', sensorDays: 8, pii: 'keep' },
        retry: false,
      });
    });

    it('keeps the thresholds and marks a reading of a running sensor valid', async function () {
      await push(bodyFixture('sinocare', 'valid-reading'));
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.time, '2024-11-19T13:48:00+08:00');
      assert.deepEqual(reading?.msg.payload.values, { glucose: { value: 7.35, unit: 'mmol/L' } });
      assert.deepEqual(reading?.msg.payload.context, { pii: 'keep',
        specimen: 'interstitial', serialNo: 245, intervalMinutes: 3, valid: true, sensorState: 'uploading',
        sensorDays: 15, lowThreshold: 3.9, highThreshold: 10,
      });
    });

    it('reads the zone-less testTime in the receiver tz', async function () {
      await deploy('sinocare-in', { tz: 'UTC' });
      await push(bodyFixture('sinocare', 'document-example'));
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.time, '2021-11-02T12:33:33+00:00');
    });

    it('acknowledges a second push of the same testId without emitting it', async function () {
      const body = bodyFixture('sinocare', 'valid-reading');
      assert.equal((await push(body)).status, 200);
      const again = await push(body);
      assert.deepEqual([again.status, again.json], [200, { code: 0, msg: '' }]);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('passes a command it does not know to the events output as sinocare/unrecognized', async function () {
      const body = bodyFixture('sinocare', 'unrecognized');
      assert.equal((await push(body)).status, 200);
      const [event] = await events();
      assert.equal(event?.msg.topic, 'sinocare/unrecognized');
      assert.deepEqual(event?.msg.payload, { vendor: 'sinocare', event: 'unrecognized', data: body.data });
    });

    it('refuses a testTime that is not yyyy-MM-dd HH:mm:ss with 400 in the Sinocare envelope', async function () {
      const response = await push(bodyFixture('sinocare', 'invalid-time'));
      assert.equal(response.status, 400);
      assert.equal((response.json as any).code, 400);
      assert.notEqual((response.json as any).msg, '');
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /data\.testTime/);
    });

    it('acknowledges a CGM value of "HI" and emits it flagged high, without a value', async function () {
      const response = await push(bodyFixture('sinocare', 'result-hi'));
      assert.deepEqual([response.status, response.json], [200, { code: 0, msg: '' }]);
      const [reading] = await readings();
      assert.deepEqual(reading?.msg.payload.values, {});
      assert.equal(reading?.msg.payload.context.resultText, 'HI');
      assert.equal(reading?.msg.payload.context.outOfRange, 'high');
    });
  });

  describe('lezhi-in', function () {
    beforeEach(async function () {
      await deploy('lezhi-in');
    });

    it('turns a scale push (dWeight) into a weight reading with impedance and heart rate', async function () {
      const response = await push(bodyFixture('lezhi', 'weight'));
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'lezhi/weight');
      const payload = withoutReceivedAt(reading?.msg.payload);
      assert.match(String(payload.id), /^lezhi:[0-9a-f]{32}$/);
      delete payload.id;
      assert.deepEqual(payload, {
        vendor: 'lezhi',
        kind: 'weight',
        time: '2024-11-19T11:53:33+08:00',
        values: {
          weight: { value: 68.35, unit: 'kg' },
          impedance: { value: 486.2, unit: 'Ohm' },
          heartRate: { value: 72, unit: '/min' },
        },
        device: { id: 'a1f3c2e47b9d', sn: 'LS202B2311000231', mac: 'C8:47:8C:21:5A:3E' },
        // the pii policy the receiver applied
        context: { pii: 'keep' },
        retry: false,
      });
    });

    it('refuses the envelope example of the Lezhi document, whose BP data is left empty, naming the missing values', async function () {
      // The document's example: "data" is a placeholder ("根据具体业务确定", by business type).
      const example = {
        userId: 23341064, associatedId: '66104c5623342apsasad', dataTypeKey: 'BP', eventKey: 'dataPush', pushStatus: 1, data: {},
      };
      const response = await push(example);
      assert.equal(response.status, 400);
      assert.equal((response.json as any).code, 400);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.deepEqual(caught?.msg.raw, example);
      assert.match(caught?.msg.error.message, /data\.measurementDate/);
      assert.match(caught?.msg.error.message, /data\.sys/);
    });

    it('acknowledges the vendor retry (pushStatus 2) of a push it has, without emitting it', async function () {
      await push(bodyFixture('lezhi', 'weight'));
      const retry = await push(bodyFixture('lezhi', 'retry'));
      assert.deepEqual([retry.status, retry.json], [200, { code: 200 }]);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('emits a retry whose original never arrived, marked retry: true, with the same id', async function () {
      await push(bodyFixture('lezhi', 'retry'));
      const [fromRetry] = await readings();
      assert.equal(fromRetry?.msg.payload.retry, true);
      await deploy('lezhi-in');
      await nodeRed.clearMessages();
      await push(bodyFixture('lezhi', 'weight'));
      const [original] = await readings();
      assert.equal(original?.msg.payload.id, fromRetry?.msg.payload.id);
    });

    it('turns BP and uBp into blood pressure readings with the irregular heartbeat flag', async function () {
      await push(bodyFixture('lezhi', 'blood-pressure'));
      await push(bodyFixture('lezhi', 'blood-pressure-user'));
      const [device, user] = await readings(2);
      assert.equal(device?.msg.topic, 'lezhi/blood_pressure');
      assert.equal(device?.msg.payload.time, '2024-11-19T08:05:00+08:00');
      assert.deepEqual(device?.msg.payload.values, {
        systolic: { value: 128, unit: 'mm[Hg]' }, diastolic: { value: 82, unit: 'mm[Hg]' }, pulse: { value: 71, unit: '/min' },
      });
      assert.deepEqual(device?.msg.payload.context, { pii: 'keep', irregularHeartbeat: false, movementError: false });
      assert.deepEqual(device?.msg.payload.subject, { userId: 23341064, associatedId: '66104c5623342apsasad' });
      assert.equal(user?.msg.payload.time, '2024-11-19T16:10:00+08:00');
      assert.deepEqual(user?.msg.payload.context, { pii: 'keep', irregularHeartbeat: true, movementError: true });
      assert.deepEqual(user?.msg.payload.values.systolic, { value: 146, unit: 'mm[Hg]' });
    });

    it('treats the same push with numbers sent as strings as a duplicate', async function () {
      await push(bodyFixture('lezhi', 'blood-pressure'));
      const asStrings = await push(bodyFixture('lezhi', 'numbers-as-strings'));
      assert.equal(asStrings.status, 200);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('turns BS and uBs into capillary glucose readings with the meal period', async function () {
      await push(bodyFixture('lezhi', 'glucose'));
      await push(bodyFixture('lezhi', 'glucose-user'));
      const [afterLunch, fasting] = await readings(2);
      assert.equal(afterLunch?.msg.topic, 'lezhi/glucose');
      assert.equal(afterLunch?.msg.payload.time, '2024-11-19T12:30:00+08:00');
      assert.deepEqual(afterLunch?.msg.payload.values, { glucose: { value: 6.8, unit: 'mmol/L' } });
      assert.deepEqual(afterLunch?.msg.payload.context, { pii: 'keep', specimen: 'capillary', mealPeriod: 'after-lunch', mealPeriodCode: 3 });
      assert.equal(fasting?.msg.payload.time, '2024-11-19T07:00:00+08:00');
      assert.deepEqual(fasting?.msg.payload.context, { pii: 'keep', specimen: 'capillary', mealPeriod: 'fasting', mealPeriodCode: 0 });
    });

    it('reads a push whose eventKey and dataTypeKey are swapped', async function () {
      assert.equal((await push(bodyFixture('lezhi', 'swapped-keys'))).status, 200);
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.kind, 'glucose');
      assert.equal(reading?.msg.payload.time, '2024-11-19T19:30:00+08:00');
      assert.equal(reading?.msg.payload.context.mealPeriod, '2h-after-meal');
    });

    it('sends an eventPush to the events output as lezhi/<dataTypeKey>', async function () {
      const body = bodyFixture('lezhi', 'event');
      assert.equal((await push(body)).status, 200);
      const [event] = await events();
      assert.equal(event?.msg.topic, 'lezhi/uBp');
      assert.deepEqual(event?.msg.payload, {
        vendor: 'lezhi', event: 'uBp', subject: { userId: 23341064, associatedId: '66104c5623342apsasad' }, data: body.data,
      });
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);
    });

    it('passes a data type it does not map to the events output as lezhi/unrecognized', async function () {
      const body = bodyFixture('lezhi', 'unknown-type');
      assert.equal((await push(body)).status, 200);
      const [event] = await events();
      assert.equal(event?.msg.topic, 'lezhi/unrecognized');
      assert.deepEqual(event?.msg.payload.data, { dataTypeKey: 'uSleep', data: body.data });
    });

    it('refuses mapped data without a time or a required value with 400, naming the fields but not their values', async function () {
      const response = await push(bodyFixture('lezhi', 'invalid-data'));
      assert.equal(response.status, 400);
      assert.equal((response.json as any).code, 400);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /data\.measurementDate/);
      assert.match(caught?.msg.error.message, /data\.dia/);
      assert.doesNotMatch(caught?.msg.error.message, /yesterday/);
    });
  });
});
