import assert from 'node:assert/strict';
import { startCloudServer, sendJson, type CloudServer } from '../src/sandbox/cloud-server';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, type HttpResponse } from './harness/http';
import { useNodeRed, type SinkMessage } from './harness/node-red';

/**
 * Going live with Sinocare and Lezhi: both clouds push a refused body again and again, so a
 * well-formed push whose value the device could not measure is acknowledged and reaches the flow
 * (docs/messages.md), and a Lezhi change notice is never deduplicated (docs/nodes/lezhi-in.md). The bodies are the
 * examples of the vendor documents (sinocare-cgm-push.md, lezhi-push.md with the data of docs/nodes/lezhi-in.md)
 * with the one value changed. Last, the sandbox re-pushes every answer that is not a success.
 */

/** The example of the Sinocare document (1.2.1) with `testResult` replaced. */
function sinocareDocumentPush(testResult: unknown): { reservedCode: string; data: Record<string, unknown> } {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testResult = testResult;
  return body;
}

/** A Lezhi fixture (the document's envelope, the data docs/nodes/lezhi-in.md shows) with some `data` fields replaced. */
function lezhiPush(name: string, data: Record<string, unknown> = {}): Record<string, any> {
  const body = bodyFixture('lezhi', name);
  body.data = { ...body.data, ...data };
  return body;
}

describe('going live with Sinocare and Lezhi', function () {
  this.timeout(60_000);
  const nodeRed = useNodeRed();

  const push = (body: unknown): Promise<HttpResponse> => postJson(`${nodeRed.url}/push`, body);
  const readings = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/readings');

  describe('a Sinocare CGM value the sensor cannot measure', function () {
    beforeEach(async function () {
      await nodeRed.deploy(receiverFlow({ type: 'sinocare-in' }));
    });

    async function acknowledgedReading(testResult: unknown): Promise<Record<string, any>> {
      const response = await push(sinocareDocumentPush(testResult));
      assert.deepEqual([response.status, response.json], [200, { code: 0, msg: '' }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'sinocare/glucose');
      assert.equal((await nodeRed.settledMessages('rx/errors')).length, 0, 'nothing reported as an error');
      return reading!.msg;
    }

    it('a CGM reading of HI is acknowledged and reaches the flow flagged high', async function () {
      const msg = await acknowledgedReading('HI');
      assert.equal(msg.payload.id, 'sinocare:23434335345');
      assert.equal(msg.payload.time, '2021-11-02T12:33:33+08:00');
      assert.deepEqual(msg.payload.values, {});
      assert.deepEqual(msg.payload.context, { pii: 'keep',
        specimen: 'interstitial', serialNo: 1, intervalMinutes: 3, valid: false, sensorState: 'uploading', sensorDays: 8,
        resultText: 'HI', outOfRange: 'high',
      });
      assert.equal(msg.payload.subject.patientId, '12');
      assert.equal(msg.raw.data.testResult, 'HI');
    });

    it('a CGM reading of LO is acknowledged and reaches the flow flagged low', async function () {
      const msg = await acknowledgedReading('LO');
      assert.deepEqual(msg.payload.values, {});
      assert.equal(msg.payload.context.resultText, 'LO');
      assert.equal(msg.payload.context.outOfRange, 'low');
    });

    it('a CGM reading of >22.2 is acknowledged and reaches the flow flagged high', async function () {
      const msg = await acknowledgedReading('>22.2');
      assert.deepEqual(msg.payload.values, {});
      assert.equal(msg.payload.context.resultText, '>22.2');
      assert.equal(msg.payload.context.outOfRange, 'high');
    });

    it('an empty testResult reaches the flow with its text and no value', async function () {
      const msg = await acknowledgedReading('');
      assert.deepEqual(msg.payload.values, {});
      assert.equal(msg.payload.context.resultText, '');
      assert.equal('outOfRange' in msg.payload.context, false);
    });

    it('a null testResult reaches the flow as an empty text and no value', async function () {
      const msg = await acknowledgedReading(null);
      assert.deepEqual(msg.payload.values, {});
      assert.equal(msg.payload.context.resultText, '');
    });

    it('the cloud\'s re-push of an HI reading is acknowledged and not emitted twice', async function () {
      await acknowledgedReading('HI');
      const again = await push(sinocareDocumentPush('HI'));
      assert.deepEqual([again.status, again.json], [200, { code: 0, msg: '' }]);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('a push without testResult is still refused with 400, and the Catch node keeps it', async function () {
      const body = sinocareDocumentPush(undefined);
      delete body.data.testResult;
      const response = await push(body);
      assert.equal(response.status, 400);
      assert.notEqual((response.json as any).code, 0);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /data\.testResult/);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);
    });
  });

  describe('Lezhi', function () {
    beforeEach(async function () {
      await nodeRed.deploy(receiverFlow({ type: 'lezhi-in' }));
    });

    it('two identical Lezhi change notices both reach the flow', async function () {
      const notice = bodyFixture('lezhi', 'event');
      for (let i = 0; i < 2; i++) {
        const response = await push(notice);
        assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      }
      const events = await nodeRed.waitForMessages(2, 'rx/events');
      assert.deepEqual(events.map((e) => e.msg.topic), ['lezhi/uBp', 'lezhi/uBp']);
      assert.deepEqual(events[0]?.msg.payload, events[1]?.msg.payload);
      assert.deepEqual(events[1]?.msg.payload.data, notice.data);
    });

    it('a Lezhi push without pushStatus is a first delivery', async function () {
      const { pushStatus: _status, ...body } = bodyFixture('lezhi', 'blood-pressure');
      const response = await push(body);
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.retry, false);
      assert.deepEqual(reading?.msg.payload.values.systolic, { value: 128, unit: 'mm[Hg]' });
    });

    it('a Lezhi push with a null pushStatus is a first delivery, and its pushStatus 2 copy a duplicate', async function () {
      const response = await push({ ...bodyFixture('lezhi', 'glucose'), pushStatus: null });
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.retry, false);
      const retry = await push({ ...bodyFixture('lezhi', 'glucose'), pushStatus: 2 });
      assert.deepEqual([retry.status, retry.json], [200, { code: 200 }]);
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('a Lezhi retry (pushStatus 2) of a push that never arrived reaches the flow marked retry', async function () {
      await push({ ...bodyFixture('lezhi', 'glucose-user'), pushStatus: 2 });
      const [reading] = await readings();
      assert.equal(reading?.msg.payload.retry, true);
    });

    it('a blood pressure the monitor shows as HI is acknowledged and reaches the flow with the pulse it measured', async function () {
      const response = await push(lezhiPush('blood-pressure', { sys: 'HI', dia: 'HI' }));
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'lezhi/blood_pressure');
      assert.deepEqual(reading?.msg.payload.values, { pulse: { value: 71, unit: '/min' } });
      assert.deepEqual(reading?.msg.payload.context, { pii: 'keep',
        irregularHeartbeat: false, movementError: false, resultText: 'HI', outOfRange: 'high', unmeasured: ['systolic', 'diastolic'],
      });
    });

    it('a finger-stick glucose of LO is acknowledged and reaches the flow flagged low', async function () {
      const response = await push(lezhiPush('glucose', { glu: 'LO' }));
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.deepEqual(reading?.msg.payload.values, {});
      assert.deepEqual(reading?.msg.payload.context, { pii: 'keep',
        specimen: 'capillary', mealPeriod: 'after-lunch', mealPeriodCode: 3, resultText: 'LO', outOfRange: 'low',
      });
    });

    it('a weigh-in the scale could not read (empty weight) reaches the flow with its text and no weight', async function () {
      const response = await push(lezhiPush('weight', { weight: '' }));
      assert.deepEqual([response.status, response.json], [200, { code: 200 }]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'lezhi/weight');
      assert.equal('weight' in reading!.msg.payload.values, false);
      assert.deepEqual(reading?.msg.payload.context, { pii: 'keep', resultText: '' });
    });

    it('a mapped push that lacks a required value is still refused with 400', async function () {
      const { glu: _glu, ...data } = bodyFixture('lezhi', 'glucose').data;
      const response = await push({ ...bodyFixture('lezhi', 'glucose'), data });
      assert.equal(response.status, 400);
      assert.equal((response.json as any).code, 400);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.match(caught?.msg.error.message, /data\.glu/);
    });
  });

  describe('the sandbox pushes a refused body again, as the clouds do', function () {
    let sandbox: Sandbox | undefined;
    afterEach(async function () {
      await sandbox?.stop();
      sandbox = undefined;
    });

    const RETRIES = 3;
    const PERSONAL = ['王小明', '110101199001010011', 'P0000001', 'ZY2026110001', 'IN2026110001', '23341064', 'sandbox-user-0001'];

    for (const vendor of ['sinocare', 'lezhi'] as const) {
      it(`a ${vendor}-in that refuses (a key the cloud does not send) sees the same push ${RETRIES} more times, then no more`, async function () {
        await nodeRed.deploy(receiverFlow({ type: `${vendor}-in`, properties: { credentials: { key: 'only-the-real-cloud-knows-this' } } }));
        const lines: string[] = [];
        sandbox = await startSandbox({
          nodeRedUrl: nodeRed.url,
          targets: { [vendor]: [`${nodeRed.url}/push`] },
          vendors: [vendor],
          port: 0,
          count: 1,
          duplicateEvery: 0,
          retryDelayMs: 20,
          maxRetries: RETRIES,
          log: (line) => lines.push(line),
        });
        await sandbox.finished;

        // What the receiver saw: the first push and every retry, each refused and kept by the Catch node.
        const refused = await nodeRed.waitForMessages(1 + RETRIES, 'rx/errors', 15_000);
        assert.equal((await nodeRed.settledMessages('rx/errors')).length, 1 + RETRIES, 'bounded: no push after the last retry');
        assert.deepEqual(refused.map((m) => m.msg.statusCode), Array(1 + RETRIES).fill(401));
        const planned = sandbox.deliveries[0]!.push;
        assert.deepEqual(refused[0]?.msg.raw, planned.body);
        for (const retry of refused.slice(1)) assert.deepEqual(retry.msg.raw, planned.retryBody);
        if (vendor === 'lezhi') assert.equal(refused[1]?.msg.raw.pushStatus, 2, 'Lezhi marks its retries');
        else assert.deepEqual(planned.retryBody, planned.body, 'Sinocare re-pushes the same body');
        assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);

        assert.deepEqual(sandbox.deliveries.map((d) => [d.attempt, d.status, d.acknowledged]), [
          [0, 401, false], [1, 401, false], [2, 401, false], [3, 401, false],
        ]);
        assert.ok(lines.some((line) => line.includes(`retry ${RETRIES} of ${RETRIES}`)));
        assert.ok(lines.some((line) => line.includes('gave up after 3 retries')));
        const output = lines.join('\n');
        for (const personal of PERSONAL) assert.ok(!output.includes(personal), `no ${personal} in the sandbox output`);
      });
    }

    it('a 200 whose body is not the success code is pushed again until the answer is {"code":0}', async function () {
      // A receiver of the user's own making, that fails once in the body only.
      const bodies: unknown[] = [];
      const receiver: CloudServer = await startCloudServer((request, res) => {
        if (request.method !== 'POST') return false;
        bodies.push(request.body);
        sendJson(res, 200, bodies.length === 1 ? { code: 1, msg: 'database busy' } : { code: 0, msg: '' });
        return true;
      });
      try {
        sandbox = await startSandbox({
          nodeRedUrl: receiver.url,
          targets: { sinocare: [`${receiver.url}/sinocare`] },
          vendors: ['sinocare'],
          port: 0,
          count: 1,
          duplicateEvery: 0,
          retryDelayMs: 20,
          log: () => undefined,
        });
        await sandbox.finished;
        assert.equal(bodies.length, 2);
        assert.deepEqual(bodies[1], bodies[0]);
        assert.deepEqual(sandbox.deliveries.map((d) => [d.attempt, d.status, d.acknowledged]), [[0, 200, false], [1, 200, true]]);
      } finally {
        await sandbox?.stop();
        sandbox = undefined;
        await receiver.close();
      }
    });
  });
});
