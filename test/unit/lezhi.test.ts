import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ZodError } from 'zod';
import type { PushItem } from '../../src/lib/reading';
import { lezhiProtocol } from '../../src/lib/vendors/lezhi';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies', 'lezhi');
const RECEIVED_AT = '2026-11-22T10:00:00.123Z';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

function normalize(body: unknown, tz = 'Asia/Shanghai'): PushItem[] {
  return lezhiProtocol.normalize(lezhiProtocol.schema.parse(body), { tz, receivedAt: RECEIVED_AT });
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Canonical JSON of each fixture without pushStatus, written out by hand. */
const WEIGHT_KEY = sha256(
  '{"data":{"deviceId":"a1f3c2e47b9d","heartRate":72,"mac":"C8:47:8C:21:5A:3E","measureEpochMilli":1731988413000,' +
    '"resistance50k":486.2,"sn":"LS202B2311000231","timeZone":"GMT+08:00","weight":68.35},' +
    '"dataTypeKey":"dWeight","deviceId":"a1f3c2e47b9d","eventKey":"dataPush"}',
);
const BP_KEY = sha256(
  '{"associatedId":"66104c5623342apsasad","data":{"dia":82,"ihb":0,"measurementDate":1731974700000,' +
    '"movementError":0,"pul":71,"sys":128},"dataTypeKey":"BP","eventKey":"dataPush","userId":23341064}',
);
const BP_USER_KEY = sha256(
  '{"associatedId":"hb-patient-0042","data":{"dia":94,"ihb":1,"measurementDate":1732003800000,' +
    '"movementError":1,"pul":88,"sys":146},"dataTypeKey":"uBp","eventKey":"dataPush","userId":30518827}',
);
const GLUCOSE_KEY = sha256(
  '{"associatedId":"66104c5623342apsasad","data":{"glu":6.8,"mealPeriod":3,"measurementDate":1731990600000},' +
    '"dataTypeKey":"BS","eventKey":"dataPush","userId":23341064}',
);
const GLUCOSE_USER_KEY = sha256(
  '{"associatedId":"hb-patient-0042","data":{"glu":5.4,"mealPeriod":0,"measurementDate":1731970800000},' +
    '"dataTypeKey":"uBs","eventKey":"dataPush","userId":30518827}',
);
const SWAPPED_KEY = sha256(
  '{"associatedId":"hb-patient-0042","data":{"glu":9.2,"mealPeriod":13,"measurementDate":1732015800000},' +
    '"dataTypeKey":"uBs","eventKey":"dataPush","userId":30518827}',
);
const UNKNOWN_KEY = sha256(
  '{"associatedId":"66104c5623342apsasad","data":{"awakeMinutes":50,"deepSleepMinutes":96,' +
    '"lightSleepMinutes":274,"sleepEnd":1731967200000,"sleepStart":1731942000000},' +
    '"dataTypeKey":"uSleep","eventKey":"dataPush","userId":23341064}',
);

const WEIGHT_READING = {
  id: `lezhi:${WEIGHT_KEY.slice(0, 32)}`,
  vendor: 'lezhi',
  kind: 'weight',
  time: '2024-11-19T11:53:33+08:00',
  values: {
    weight: { value: 68.35, unit: 'kg' },
    impedance: { value: 486.2, unit: 'Ohm' },
    heartRate: { value: 72, unit: '/min' },
  },
  device: { id: 'a1f3c2e47b9d', sn: 'LS202B2311000231', mac: 'C8:47:8C:21:5A:3E' },
  retry: false,
  receivedAt: RECEIVED_AT,
};

const BP_READING = {
  id: `lezhi:${BP_KEY.slice(0, 32)}`,
  vendor: 'lezhi',
  kind: 'blood_pressure',
  time: '2024-11-19T08:05:00+08:00',
  values: {
    systolic: { value: 128, unit: 'mm[Hg]' },
    diastolic: { value: 82, unit: 'mm[Hg]' },
    pulse: { value: 71, unit: '/min' },
  },
  subject: { userId: 23341064, associatedId: '66104c5623342apsasad' },
  context: { irregularHeartbeat: false, movementError: false },
  retry: false,
  receivedAt: RECEIVED_AT,
};

function issuePaths(body: unknown): string[] {
  const result = lezhiProtocol.schema.safeParse(body);
  assert.equal(result.success, false, 'the body should fail the schema');
  return result.error!.issues.map((issue) => issue.path.join('.'));
}

describe('Lezhi push protocol', () => {
  describe('dWeight (scale device push)', () => {
    it('becomes one weight reading with impedance, heart rate and the device, keyed by the content hash', () => {
      assert.deepEqual(normalize(fixture('weight')), [
        { output: 'reading', topic: 'lezhi/weight', payload: WEIGHT_READING, dedupKey: WEIGHT_KEY },
      ]);
    });

    it('leaves out impedance and heart rate the scale reports as 0', () => {
      const body = fixture('weight');
      body.data = { ...(body.data as object), resistance50k: 0, heartRate: 0 };
      const key = sha256(
        '{"data":{"deviceId":"a1f3c2e47b9d","heartRate":0,"mac":"C8:47:8C:21:5A:3E","measureEpochMilli":1731988413000,' +
          '"resistance50k":0,"sn":"LS202B2311000231","timeZone":"GMT+08:00","weight":68.35},' +
          '"dataTypeKey":"dWeight","deviceId":"a1f3c2e47b9d","eventKey":"dataPush"}',
      );
      assert.deepEqual(normalize(body), [
        {
          output: 'reading',
          topic: 'lezhi/weight',
          payload: { ...WEIGHT_READING, id: `lezhi:${key.slice(0, 32)}`, values: { weight: { value: 68.35, unit: 'kg' } } },
          dedupKey: key,
        },
      ]);
    });

    it('takes the device id from the top level when data has none', () => {
      const body = fixture('weight');
      const { deviceId: _inData, ...data } = body.data as Record<string, unknown>;
      body.data = data;
      body.deviceId = 'b7e0019c44aa';
      const [item] = normalize(body);
      assert.deepEqual((item!.payload as { device: unknown }).device, {
        id: 'b7e0019c44aa', sn: 'LS202B2311000231', mac: 'C8:47:8C:21:5A:3E',
      });
    });

    it('writes the time in the configured zone', () => {
      const [item] = normalize(fixture('weight'), 'UTC');
      assert.equal((item!.payload as { time: string }).time, '2024-11-19T03:53:33+00:00');
    });
  });

  describe('retries', () => {
    it('marks a pushStatus 2 reading as a retry with the same id and dedup key as the first push', () => {
      assert.deepEqual(normalize(fixture('retry')), [
        { output: 'reading', topic: 'lezhi/weight', payload: { ...WEIGHT_READING, retry: true }, dedupKey: WEIGHT_KEY },
      ]);
      assert.equal((normalize({ ...fixture('retry'), pushStatus: '2' })[0]!.payload as { retry: boolean }).retry, true);
    });

    it('reads a missing or null pushStatus as 1: a first delivery with the same id and dedup key', () => {
      const { pushStatus: _status, ...missing } = fixture('weight');
      for (const body of [missing, { ...fixture('weight'), pushStatus: null }]) {
        assert.deepEqual(normalize(body), [
          { output: 'reading', topic: 'lezhi/weight', payload: WEIGHT_READING, dedupKey: WEIGHT_KEY },
        ]);
      }
    });
  });

  describe('BP / uBp', () => {
    it('BP becomes a blood pressure reading in mm[Hg] and /min with the user as subject', () => {
      assert.deepEqual(normalize(fixture('blood-pressure')), [
        { output: 'reading', topic: 'lezhi/blood_pressure', payload: BP_READING, dedupKey: BP_KEY },
      ]);
    });

    it('uBp reports irregular heartbeat and movement error as true', () => {
      assert.deepEqual(normalize(fixture('blood-pressure-user')), [
        {
          output: 'reading',
          topic: 'lezhi/blood_pressure',
          payload: {
            id: `lezhi:${BP_USER_KEY.slice(0, 32)}`,
            vendor: 'lezhi',
            kind: 'blood_pressure',
            time: '2024-11-19T16:10:00+08:00',
            values: {
              systolic: { value: 146, unit: 'mm[Hg]' },
              diastolic: { value: 94, unit: 'mm[Hg]' },
              pulse: { value: 88, unit: '/min' },
            },
            subject: { userId: 30518827, associatedId: 'hb-patient-0042' },
            context: { irregularHeartbeat: true, movementError: true },
            retry: false,
            receivedAt: RECEIVED_AT,
          },
          dedupKey: BP_USER_KEY,
        },
      ]);
    });

    it('leaves out the pulse and the flags when the monitor sends none', () => {
      const body = fixture('blood-pressure');
      body.data = { measurementDate: 1731974700000, sys: 128, dia: 82 };
      const [item] = normalize(body);
      const { values, context } = item!.payload as { values: unknown; context?: unknown };
      assert.deepEqual(values, { systolic: { value: 128, unit: 'mm[Hg]' }, diastolic: { value: 82, unit: 'mm[Hg]' } });
      assert.equal(context, undefined);
    });
  });

  describe('numbers sent as strings', () => {
    it('reads the same values and gets the same id and dedup key as the numeric push', () => {
      assert.deepEqual(normalize(fixture('numbers-as-strings')), [
        {
          output: 'reading',
          topic: 'lezhi/blood_pressure',
          // the subject keeps userId as the vendor sent it
          payload: { ...BP_READING, subject: { userId: '23341064', associatedId: '66104c5623342apsasad' } },
          dedupKey: BP_KEY,
        },
      ]);
    });

    it('gives a reordered copy of a push the same dedup key', () => {
      const reordered = JSON.parse(
        '{"pushStatus":2,"data":{"movementError":0,"pul":71,"dia":82,"sys":128,"ihb":0,' +
          '"measurementDate":1731974700000},"eventKey":"dataPush","dataTypeKey":"BP",' +
          '"associatedId":"66104c5623342apsasad","userId":23341064}',
      );
      assert.equal(normalize(reordered)[0]!.dedupKey, BP_KEY);
    });
  });

  describe('BS / uBs', () => {
    it('BS becomes a capillary glucose reading with the meal period label and code', () => {
      assert.deepEqual(normalize(fixture('glucose')), [
        {
          output: 'reading',
          topic: 'lezhi/glucose',
          payload: {
            id: `lezhi:${GLUCOSE_KEY.slice(0, 32)}`,
            vendor: 'lezhi',
            kind: 'glucose',
            time: '2024-11-19T12:30:00+08:00',
            values: { glucose: { value: 6.8, unit: 'mmol/L' } },
            subject: { userId: 23341064, associatedId: '66104c5623342apsasad' },
            context: { specimen: 'capillary', mealPeriod: 'after-lunch', mealPeriodCode: 3 },
            retry: false,
            receivedAt: RECEIVED_AT,
          },
          dedupKey: GLUCOSE_KEY,
        },
      ]);
    });

    it('uBs with meal period 0 is fasting, on the local day of the configured zone', () => {
      const expected = {
        id: `lezhi:${GLUCOSE_USER_KEY.slice(0, 32)}`,
        vendor: 'lezhi',
        kind: 'glucose',
        time: '2024-11-19T07:00:00+08:00',
        values: { glucose: { value: 5.4, unit: 'mmol/L' } },
        subject: { userId: 30518827, associatedId: 'hb-patient-0042' },
        context: { specimen: 'capillary', mealPeriod: 'fasting', mealPeriodCode: 0 },
        retry: false,
        receivedAt: RECEIVED_AT,
      };
      assert.deepEqual(normalize(fixture('glucose-user')), [
        { output: 'reading', topic: 'lezhi/glucose', payload: expected, dedupKey: GLUCOSE_USER_KEY },
      ]);
      assert.deepEqual(normalize(fixture('glucose-user'), 'UTC'), [
        {
          output: 'reading',
          topic: 'lezhi/glucose',
          payload: { ...expected, time: '2024-11-18T23:00:00+00:00' },
          dedupKey: GLUCOSE_USER_KEY,
        },
      ]);
    });

    it('labels every documented meal period', () => {
      const labels: Record<number, string> = {
        0: 'fasting', 1: 'after-breakfast', 2: 'before-lunch', 3: 'after-lunch', 4: 'before-dinner',
        5: 'after-dinner', 6: 'bedtime', 11: 'early-morning', 12: 'before-meal', 13: '2h-after-meal',
        14: 'before-exercise', 15: 'after-exercise', 16: 'random',
      };
      for (const [code, label] of Object.entries(labels)) {
        const body = fixture('glucose');
        body.data = { ...(body.data as object), mealPeriod: Number(code) };
        const [item] = normalize(body);
        assert.deepEqual(
          (item!.payload as { context: unknown }).context,
          { specimen: 'capillary', mealPeriod: label, mealPeriodCode: Number(code) },
          `meal period ${code}`,
        );
      }
    });

    it('keeps an unknown meal period code without a label, and leaves both out when there is none', () => {
      const unknown = fixture('glucose');
      unknown.data = { ...(unknown.data as object), mealPeriod: 9 };
      assert.deepEqual((normalize(unknown)[0]!.payload as { context: unknown }).context, {
        specimen: 'capillary', mealPeriodCode: 9,
      });
      const none = fixture('glucose');
      none.data = { measurementDate: 1731990600000, glu: 6.8 };
      assert.deepEqual((normalize(none)[0]!.payload as { context: unknown }).context, { specimen: 'capillary' });
    });
  });

  describe('a value the device cannot measure', () => {
    const withData = (name: string, changes: Record<string, unknown>): Record<string, unknown> => {
      const body = fixture(name);
      body.data = { ...(body.data as object), ...changes };
      return body;
    };
    const payloadOf = (body: unknown): { values: unknown; context?: unknown } => {
      const items = normalize(body);
      assert.equal(items.length, 1);
      assert.equal(items[0]!.output, 'reading');
      return items[0]!.payload as unknown as { values: unknown; context?: unknown };
    };

    it('a glucose of "HI", "LO" or null is a reading with its text, flagged where the text says so', () => {
      const context = (glu: unknown): unknown => {
        const payload = payloadOf(withData('glucose', { glu }));
        assert.deepEqual(payload.values, {});
        return payload.context;
      };
      const meal = { specimen: 'capillary', mealPeriod: 'after-lunch', mealPeriodCode: 3 };
      assert.deepEqual(context('HI'), { ...meal, resultText: 'HI', outOfRange: 'high' });
      assert.deepEqual(context('LO'), { ...meal, resultText: 'LO', outOfRange: 'low' });
      assert.deepEqual(context('>33.3'), { ...meal, resultText: '>33.3', outOfRange: 'high' });
      assert.deepEqual(context(null), { ...meal, resultText: '' });
    });

    it('a blood pressure keeps the values it has and names the ones it could not measure', () => {
      const payload = payloadOf(withData('blood-pressure', { sys: 'HI', dia: 'HI' }));
      assert.deepEqual(payload.values, { pulse: { value: 71, unit: '/min' } });
      assert.deepEqual(payload.context, {
        irregularHeartbeat: false, movementError: false, resultText: 'HI', outOfRange: 'high', unmeasured: ['systolic', 'diastolic'],
      });
      const noPulse = payloadOf(withData('blood-pressure', { pul: '' }));
      assert.deepEqual(noPulse.values, { systolic: { value: 128, unit: 'mm[Hg]' }, diastolic: { value: 82, unit: 'mm[Hg]' } });
      assert.deepEqual(noPulse.context, { irregularHeartbeat: false, movementError: false, resultText: '', unmeasured: ['pulse'] });
    });

    it('a blood pressure whose pulse is null has no pulse and nothing unmeasured', () => {
      const payload = payloadOf(withData('blood-pressure', { pul: null }));
      assert.deepEqual(payload.values, { systolic: { value: 128, unit: 'mm[Hg]' }, diastolic: { value: 82, unit: 'mm[Hg]' } });
      assert.deepEqual(payload.context, { irregularHeartbeat: false, movementError: false });
    });

    it('a weigh-in over the scale\'s range keeps impedance and heart rate; an unreadable extra is left out', () => {
      const over = payloadOf(withData('weight', { weight: 'HI' }));
      assert.deepEqual(over.values, { impedance: { value: 486.2, unit: 'Ohm' }, heartRate: { value: 72, unit: '/min' } });
      assert.deepEqual(over.context, { resultText: 'HI', outOfRange: 'high' });
      const noHeartRate = payloadOf(withData('weight', { heartRate: '--' }));
      assert.deepEqual(noHeartRate.values, { weight: { value: 68.35, unit: 'kg' }, impedance: { value: 486.2, unit: 'Ohm' } });
      assert.equal(noHeartRate.context, undefined);
    });

    it('still refuses a push that lacks the value', () => {
      const { glu: _glu, ...data } = fixture('glucose').data as Record<string, unknown>;
      assert.deepEqual(issuePaths({ ...fixture('glucose'), data }), ['data.glu']);
    });
  });

  describe('swapped eventKey and dataTypeKey', () => {
    it('swaps them back and hashes the corrected body', () => {
      assert.deepEqual(normalize(fixture('swapped-keys')), [
        {
          output: 'reading',
          topic: 'lezhi/glucose',
          payload: {
            id: `lezhi:${SWAPPED_KEY.slice(0, 32)}`,
            vendor: 'lezhi',
            kind: 'glucose',
            time: '2024-11-19T19:30:00+08:00',
            values: { glucose: { value: 9.2, unit: 'mmol/L' } },
            subject: { userId: 30518827, associatedId: 'hb-patient-0042' },
            context: { specimen: 'capillary', mealPeriod: '2h-after-meal', mealPeriodCode: 13 },
            retry: false,
            receivedAt: RECEIVED_AT,
          },
          dedupKey: SWAPPED_KEY,
        },
      ]);
    });

    it('gives the swapped and the correct copy of a push the same dedup key', () => {
      const swapped = { ...fixture('blood-pressure'), eventKey: 'BP', dataTypeKey: 'dataPush' };
      assert.equal(normalize(swapped)[0]!.dedupKey, BP_KEY);
    });
  });

  describe('eventPush', () => {
    it('becomes an event named after the dataTypeKey, without a dedup key (a change notice is never deduplicated)', () => {
      assert.deepEqual(normalize(fixture('event')), [
        {
          output: 'event',
          topic: 'lezhi/uBp',
          payload: {
            vendor: 'lezhi',
            event: 'uBp',
            subject: { userId: 23341064, associatedId: '66104c5623342apsasad' },
            data: { changeType: 'delete', ids: ['6f1c2a9e0b7d4e5fa1c3b2d4e6f80a11'], updateTime: 1732010400000 },
          },
          dedupKey: undefined,
        },
      ]);
    });

    it('does not hold its data to the schema of a measurement with the same key', () => {
      const body = { ...fixture('blood-pressure'), eventKey: 'eventPush', data: { changed: true } };
      const [item] = normalize(body);
      assert.equal(item!.topic, 'lezhi/BP');
      assert.deepEqual(item!.payload, {
        vendor: 'lezhi', event: 'BP', subject: { userId: 23341064, associatedId: '66104c5623342apsasad' },
        data: { changed: true },
      });
    });
  });

  describe('a dataPush of a type we do not map', () => {
    it('becomes an unrecognized event with the data and its dataTypeKey', () => {
      assert.deepEqual(normalize(fixture('unknown-type')), [
        {
          output: 'event',
          topic: 'lezhi/unrecognized',
          payload: {
            vendor: 'lezhi',
            event: 'unrecognized',
            subject: { userId: 23341064, associatedId: '66104c5623342apsasad' },
            data: {
              dataTypeKey: 'uSleep',
              data: {
                sleepStart: 1731942000000,
                sleepEnd: 1731967200000,
                deepSleepMinutes: 96,
                lightSleepMinutes: 274,
                awakeMinutes: 50,
              },
            },
          },
          dedupKey: UNKNOWN_KEY,
        },
      ]);
    });

    it('has no subject when the push names no user', () => {
      const body = { eventKey: 'dataPush', dataTypeKey: 'dTemperature', pushStatus: 1, data: { temp: 36.6 } };
      assert.deepEqual(normalize(body)[0]!.payload, {
        vendor: 'lezhi', event: 'unrecognized', data: { dataTypeKey: 'dTemperature', data: { temp: 36.6 } },
      });
    });
  });

  describe('schema failures', () => {
    it('rejects a mapped dataPush whose data does not fit, naming the field', () => {
      assert.deepEqual(issuePaths(fixture('invalid-data')), ['data.measurementDate', 'data.dia']);
    });

    it('rejects a weight without a weight or with a time that is not one', () => {
      const noWeight = fixture('weight');
      const { weight: _weight, ...data } = noWeight.data as Record<string, unknown>;
      noWeight.data = data;
      assert.deepEqual(issuePaths(noWeight), ['data.weight']);

      const badTime = fixture('weight');
      badTime.data = { ...(badTime.data as object), measureEpochMilli: 'yesterday' };
      assert.deepEqual(issuePaths(badTime), ['data.measureEpochMilli']);

      const outOfRange = fixture('weight');
      outOfRange.data = { ...(outOfRange.data as object), measureEpochMilli: 1e20 };
      assert.deepEqual(issuePaths(outOfRange), ['data.measureEpochMilli']);
    });

    it('rejects an envelope without the keys that say what it is', () => {
      const { eventKey: _eventKey, ...noEventKey } = fixture('weight');
      assert.deepEqual(issuePaths(noEventKey), ['eventKey']);
      assert.deepEqual(issuePaths({ ...fixture('weight'), eventKey: 'statusPush' }), ['eventKey']);
      assert.deepEqual(issuePaths({ ...fixture('weight'), dataTypeKey: '' }), ['dataTypeKey']);
      assert.deepEqual(issuePaths({ ...fixture('event'), data: 'changed' }), ['data']);
      assert.deepEqual(issuePaths([fixture('weight')]), ['']);
    });

    it('reports a failing push as a ZodError from parse, which the receiver turns into a 400', () => {
      assert.throws(() => lezhiProtocol.schema.parse(fixture('invalid-data')), ZodError);
    });

    it('keeps personal data out of the issues', () => {
      const result = lezhiProtocol.schema.safeParse({ ...fixture('invalid-data'), userId: { name: '张三' } });
      assert.equal(result.success, false);
      assert.doesNotMatch(JSON.stringify(result.error!.issues), /张三|66104c5623342apsasad|23341064/);
    });
  });

  it('accepts fields the vendor adds later and counts them in the dedup key', () => {
    const key = sha256(
      '{"associatedId":"66104c5623342apsasad","data":{"dia":82,"ihb":0,"measurementDate":1731974700000,' +
        '"movementError":0,"pul":71,"sys":128},"dataTypeKey":"BP","eventKey":"dataPush","traceId":"c0ffee",' +
        '"userId":23341064}',
    );
    assert.deepEqual(normalize({ ...fixture('blood-pressure'), traceId: 'c0ffee' }), [
      {
        output: 'reading',
        topic: 'lezhi/blood_pressure',
        payload: { ...BP_READING, id: `lezhi:${key.slice(0, 32)}` },
        dedupKey: key,
      },
    ]);
  });

  it('answers in the vendor envelope', () => {
    assert.deepEqual(lezhiProtocol.acceptedBody, { code: 200 });
    assert.deepEqual(lezhiProtocol.rejectedBody(400, 'invalid body'), { code: 400, message: 'invalid body' });
    assert.equal(lezhiProtocol.vendor, 'lezhi');
  });
});
