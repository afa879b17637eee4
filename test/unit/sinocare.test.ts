import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ZodError } from 'zod';
import type { PushItem } from '../../src/lib/reading';
import { sinocareProtocol } from '../../src/lib/vendors/sinocare';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies', 'sinocare');
const RECEIVED_AT = '2026-11-22T10:00:00.123Z';

type Body = { reservedCode: unknown; data: Record<string, unknown> };

function fixture(name: string): Body {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

/** The fixture with some `data` fields replaced (undefined removes one). */
function withData(name: string, changes: Record<string, unknown>): Body {
  const body = fixture(name);
  body.data = Object.fromEntries(
    Object.entries({ ...body.data, ...changes }).filter(([, value]) => value !== undefined),
  );
  return body;
}

function normalize(body: unknown, tz = 'Asia/Shanghai'): PushItem[] {
  return sinocareProtocol.normalize(sinocareProtocol.schema.parse(body), { tz, receivedAt: RECEIVED_AT });
}

function payloadOf(body: unknown, tz?: string): Record<string, unknown> {
  const items = normalize(body, tz);
  assert.equal(items.length, 1);
  return items[0]!.payload as unknown as Record<string, unknown>;
}

function issuePaths(body: unknown): string[] {
  const result = sinocareProtocol.schema.safeParse(body);
  assert.equal(result.success, false, 'the body should fail the schema');
  return result.error!.issues.map((issue) => issue.path.join('.'));
}

const DOCUMENT_READING = {
  id: 'sinocare:23434335345',
  vendor: 'sinocare',
  kind: 'glucose',
  time: '2021-11-02T12:33:33+08:00',
  values: { glucose: { value: 5.6, unit: 'mmol/L' } },
  device: { sn: '23xxdrt33' },
  subject: {
    patientId: '12',
    visitId: '1234321',
    inSerialId: '12343211',
    name: '张三',
    idCard: '430424',
    organization: '测试医院',
  },
  context: {
    specimen: 'interstitial',
    serialNo: 1,
    intervalMinutes: 3,
    valid: false,
    sensorState: 'uploading',
    sensorDays: 8,
  },
  retry: false,
  receivedAt: RECEIVED_AT,
};

describe('Sinocare push protocol', () => {
  describe('reservedCode 01 (CGM reading)', () => {
    it('turns the document example into one interstitial glucose reading keyed by testId', () => {
      assert.deepEqual(normalize(fixture('document-example')), [
        { output: 'reading', topic: 'sinocare/glucose', payload: DOCUMENT_READING, dedupKey: '23434335345' },
      ]);
    });

    it('reads the zone-less testTime in the configured zone', () => {
      assert.equal(payloadOf(fixture('document-example'), 'UTC').time, '2021-11-02T12:33:33+00:00');
      assert.equal(payloadOf(fixture('document-example'), 'America/New_York').time, '2021-11-02T12:33:33-04:00');
      // New York leaves daylight saving time on 2021-11-07
      assert.equal(
        payloadOf(withData('document-example', { testTime: '2021-11-08 12:33:33' }), 'America/New_York').time,
        '2021-11-08T12:33:33-05:00',
      );
    });

    it('emits a valid reading with its thresholds', () => {
      assert.deepEqual(normalize(fixture('valid-reading')), [
        {
          output: 'reading',
          topic: 'sinocare/glucose',
          payload: {
            id: 'sinocare:240119134800245',
            vendor: 'sinocare',
            kind: 'glucose',
            time: '2024-11-19T13:48:00+08:00',
            values: { glucose: { value: 7.35, unit: 'mmol/L' } },
            device: { sn: 'SN3C24A0917' },
            subject: {
              patientId: 'P000981',
              visitId: 'ZY20241117008',
              inSerialId: 'IN20241117003',
              name: '李四',
              idCard: '430104198807150023',
              organization: '长沙市第一医院',
            },
            context: {
              specimen: 'interstitial',
              serialNo: 245,
              intervalMinutes: 3,
              valid: true,
              sensorState: 'uploading',
              sensorDays: 15,
              lowThreshold: 3.9,
              highThreshold: 10,
            },
            retry: false,
            receivedAt: RECEIVED_AT,
          },
          dedupKey: '240119134800245',
        },
      ]);
    });

    it('maps every documented cgmStatus and leaves an unknown or missing one out', () => {
      const states: Record<string, string> = { 0: 'waiting', 1: 'initializing', 2: 'uploading', 4: 'finished' };
      for (const [code, state] of Object.entries(states)) {
        const context = payloadOf(withData('valid-reading', { cgmStatus: code })).context as Record<string, unknown>;
        assert.equal(context.sensorState, state, `cgmStatus ${code}`);
      }
      for (const cgmStatus of ['3', undefined, null]) {
        const context = payloadOf(withData('valid-reading', { cgmStatus })).context as Record<string, unknown>;
        assert.equal('sensorState' in context, false, `cgmStatus ${String(cgmStatus)}`);
      }
    });

    it('counts a reading without status as valid and leaves an undocumented status out', () => {
      const missing = payloadOf(withData('valid-reading', { status: undefined })).context as Record<string, unknown>;
      assert.equal(missing.valid, true);
      const unknown = payloadOf(withData('valid-reading', { status: '3' })).context as Record<string, unknown>;
      assert.equal('valid' in unknown, false);
    });

    it('leaves out context fields the push does not carry', () => {
      const body = withData('document-example', {
        serialNo: undefined, increMinute: undefined, cgmDay: undefined, cgmStatus: undefined, status: undefined,
      });
      assert.deepEqual(payloadOf(body).context, { specimen: 'interstitial', valid: true });
    });

    it('accepts numbers sent as strings and strings sent as numbers', () => {
      const body = withData('document-example', {
        testId: 23434335345, testResult: 5.6, serialNo: '1', increMinute: '3', cgmDay: '8', status: 1, cgmStatus: 2,
        patientId: 12,
      });
      assert.deepEqual(normalize(body), [
        { output: 'reading', topic: 'sinocare/glucose', payload: DOCUMENT_READING, dedupKey: '23434335345' },
      ]);
    });

    it('puts only the personal fields that carry a value into subject, and none elsewhere', () => {
      const body = withData('document-example', { patientName: '', idCard: null, inSerialId: undefined });
      const payload = payloadOf(body);
      assert.deepEqual(payload.subject, { patientId: '12', visitId: '1234321', organization: '测试医院' });
      const { subject: _subject, ...rest } = payloadOf(fixture('document-example'));
      assert.doesNotMatch(JSON.stringify(rest), /张三|430424|1234321|12343211|测试医院|"12"/);
    });

    it('has neither device nor subject when the push names none', () => {
      const payload = payloadOf({
        reservedCode: '01',
        data: { testId: 'a-1', testResult: '4.2', testTime: '2024-11-19 13:48:00' },
      });
      assert.deepEqual(payload, {
        id: 'sinocare:a-1',
        vendor: 'sinocare',
        kind: 'glucose',
        time: '2024-11-19T13:48:00+08:00',
        values: { glucose: { value: 4.2, unit: 'mmol/L' } },
        context: { specimen: 'interstitial', valid: true },
        retry: false,
        receivedAt: RECEIVED_AT,
      });
    });

    it('reads a numeric reservedCode 1 as "01": the reading, not an unrecognized event', () => {
      const body = { ...fixture('document-example'), reservedCode: 1 };
      assert.deepEqual(normalize(body), [
        { output: 'reading', topic: 'sinocare/glucose', payload: DOCUMENT_READING, dedupKey: '23434335345' },
      ]);
    });
  });

  describe('another reservedCode', () => {
    it('becomes an unrecognized event with the data as sent and no dedup key', () => {
      assert.deepEqual(normalize(fixture('unrecognized')), [
        {
          output: 'event',
          topic: 'sinocare/unrecognized',
          payload: {
            vendor: 'sinocare',
            event: 'unrecognized',
            data: { deviceSn: 'SN3C24A0917', cgmStatus: '4', changeTime: '2024-12-04 09:12:00' },
          },
          dedupKey: undefined,
        },
      ]);
    });

    it('does not hold its data to the CGM schema', () => {
      const body = { reservedCode: '1', data: { testResult: 'HI' } };
      assert.deepEqual(normalize(body)[0]!.payload, {
        vendor: 'sinocare', event: 'unrecognized', data: { testResult: 'HI' },
      });
    });
  });

  describe('a value the sensor cannot measure', () => {
    const contextOf = (testResult: unknown): Record<string, unknown> => {
      const payload = payloadOf(withData('valid-reading', { testResult }));
      assert.deepEqual(payload.values, {}, `no glucose value for ${JSON.stringify(testResult)}`);
      return payload.context as Record<string, unknown>;
    };
    const SENSOR_CONTEXT = {
      specimen: 'interstitial', serialNo: 245, intervalMinutes: 3, valid: true, sensorState: 'uploading',
      sensorDays: 15, lowThreshold: 3.9, highThreshold: 10,
    };

    it('keeps "HI" as the text of a reading flagged high, with the testId as its key', () => {
      const [item] = normalize(fixture('result-hi'));
      assert.equal(item!.dedupKey, '240119135100246');
      assert.equal(item!.topic, 'sinocare/glucose');
      const payload = item!.payload as unknown as Record<string, unknown>;
      assert.deepEqual(payload.values, {});
      assert.deepEqual(payload.context, {
        specimen: 'interstitial', serialNo: 246, intervalMinutes: 3, valid: true, sensorState: 'uploading', sensorDays: 15,
        resultText: 'HI', outOfRange: 'high',
      });
    });

    it('flags "LO" low and ">22.2" high, keeping the text and the rest of the context', () => {
      assert.deepEqual(contextOf('LO'), { ...SENSOR_CONTEXT, resultText: 'LO', outOfRange: 'low' });
      assert.deepEqual(contextOf('>22.2'), { ...SENSOR_CONTEXT, resultText: '>22.2', outOfRange: 'high' });
      assert.deepEqual(contextOf('<2.2'), { ...SENSOR_CONTEXT, resultText: '<2.2', outOfRange: 'low' });
    });

    it('keeps an empty or null testResult as an empty text, not flagged', () => {
      assert.deepEqual(contextOf(''), { ...SENSOR_CONTEXT, resultText: '' });
      assert.deepEqual(contextOf(null), { ...SENSOR_CONTEXT, resultText: '' });
    });

    it('keeps the reading when a context number is blank or text, leaving that field out', () => {
      const body = withData('document-example', { serialNo: '', low: '--', high: 'n/a', cgmDay: null, increMinute: '3' });
      const context = payloadOf(body).context as Record<string, unknown>;
      assert.equal(context.intervalMinutes, 3);
      for (const left of ['serialNo', 'lowThreshold', 'highThreshold', 'sensorDays']) assert.equal(left in context, false, left);
    });

    it('still refuses a reading without testResult', () => {
      assert.deepEqual(issuePaths(withData('document-example', { testResult: undefined })), ['data.testResult']);
    });
  });

  describe('schema failures', () => {

    it('rejects a testTime that is not yyyy-MM-dd HH:mm:ss', () => {
      assert.deepEqual(issuePaths(fixture('invalid-time')), ['data.testTime']);
      assert.deepEqual(issuePaths(withData('document-example', { testTime: '2021-13-02 12:33:33' })), ['data.testTime']);
    });

    it('rejects a reading without testId', () => {
      assert.deepEqual(issuePaths(withData('document-example', { testId: undefined })), ['data.testId']);
      assert.deepEqual(issuePaths(withData('document-example', { testId: '' })), ['data.testId']);
    });

    it('rejects an envelope without reservedCode or data object', () => {
      assert.deepEqual(issuePaths({ data: fixture('document-example').data }), ['reservedCode']);
      assert.deepEqual(issuePaths({ reservedCode: '01' }), ['data']);
      assert.deepEqual(issuePaths({ reservedCode: '02', data: [1, 2] }), ['data']);
      assert.deepEqual(issuePaths('01'), ['']);
    });

    it('raises a ZodError from parse and keeps personal data out of it', () => {
      const body = withData('document-example', { testId: '', testTime: 'soon' });
      assert.throws(() => sinocareProtocol.schema.parse(body), ZodError);
      const result = sinocareProtocol.schema.safeParse(body);
      assert.doesNotMatch(JSON.stringify(result.error!.issues), /张三|430424|测试医院/);
    });
  });

  it('answers in the vendor envelope', () => {
    assert.deepEqual(sinocareProtocol.acceptedBody, { code: 0, msg: '' });
    assert.deepEqual(sinocareProtocol.rejectedBody(400, 'invalid body'), { code: 400, msg: 'invalid body' });
    assert.equal(sinocareProtocol.vendor, 'sinocare');
  });
});
