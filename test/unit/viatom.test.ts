import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../src/lib/http-client';
import type { PushItem } from '../../src/lib/reading';
import {
  createViatomClient, isViatomTestHost, normalizePhone, ucumUnit, viatomAccountSchema, viatomProtocol, ViatomApiError, ViatomError,
} from '../../src/lib/vendors/viatom';
import { startCloudServer, type CloudServer } from '../../src/sandbox/cloud-server';
import { createViatomCloud, type ViatomCloud } from '../../src/sandbox/viatom-cloud';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies', 'viatom');
const RECEIVED_AT = '2026-11-22T10:00:00.123Z';

function fixture(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

function normalize(body: unknown, tz = 'Asia/Shanghai'): PushItem[] {
  return viatomProtocol.normalize(viatomProtocol.schema.parse(body), { tz, receivedAt: RECEIVED_AT });
}

function payloadOf(body: unknown, tz?: string): any {
  const items = normalize(body, tz);
  assert.equal(items.length, 1);
  return items[0]!.payload;
}

function issuePaths(body: unknown): string[] {
  const result = viatomProtocol.schema.safeParse(body);
  assert.equal(result.success, false, 'the body should fail the schema');
  return result.error!.issues.map((issue) => issue.path.join('.'));
}

const SUBJECT = { account_id: 'MzIwMDA=', member_id: 'bnVsbA==' };

describe('Viatom push protocol', () => {
  describe('type 1: one reading per measurement record, by data_type', () => {
    it('1 temperature: ℃ becomes Cel, the thermometer mode goes to context', () => {
      assert.deepEqual(normalize(fixture('temperature')), [
        {
          output: 'reading',
          topic: 'viatom/temperature',
          dedupKey: 'VEVNUEVSQVRVUkVAMzE3Ng==',
          payload: {
            id: 'viatom:VEVNUEVSQVRVUkVAMzE3Ng==',
            vendor: 'viatom',
            kind: 'temperature',
            time: '2024-11-19T16:10:00+08:00',
            values: { temperature: { value: 36.94, unit: 'Cel' } },
            device: { sn: '2209TH3012' },
            subject: SUBJECT,
            context: { mode: 'adult', modeCode: 1 },
            retry: false,
            receivedAt: RECEIVED_AT,
          },
        },
      ]);
    });

    it('2 SpO2: spo2 and pr as pulseRate, the rest of the record in context', () => {
      const payload = payloadOf(fixture('spo2'));
      assert.equal(payload.kind, 'spo2');
      assert.equal(payload.time, '2024-11-20T00:00:00+08:00');
      assert.deepEqual(payload.values, {
        spo2: { value: 97, unit: '%' },
        pulseRate: { value: 64, unit: '/min' },
        duration: { value: 3928, unit: 's' },
      });
      assert.deepEqual(payload.context, {
        mode: 'continuous',
        modeCode: 2,
        lowestSpo2: { value: 89, unit: '%' },
        below90Duration: { value: 50, unit: 's' },
        drops: 3,
        o2Score: 9.2,
        fileUrl: 'https://viatom.example/data/spo2/2024/1120/758547cb.dat',
      });
      assert.deepEqual(payload.subject, { account_id: 'MzIwMDA=', member_id: 'NDIyNQ==' });
    });

    it('3 blood pressure: sbp, dia, pr as systolic, diastolic, pulse; mmHg becomes mm[Hg]', () => {
      const payload = payloadOf(fixture('blood-pressure'));
      assert.deepEqual(payload, {
        id: 'viatom:QkxPT0RfUFJFU1NVUkVAMjI4NzY=',
        vendor: 'viatom',
        kind: 'blood_pressure',
        time: '2024-11-19T08:05:00+08:00',
        values: {
          systolic: { value: 132, unit: 'mm[Hg]' },
          diastolic: { value: 84, unit: 'mm[Hg]' },
          pulse: { value: 71, unit: '/min' },
          meanArterial: { value: 100, unit: 'mm[Hg]' },
        },
        device: { sn: '2106374387' },
        subject: SUBJECT,
        // the remark (free text) stays in msg.raw only
        context: { pulsePressure: { value: 48, unit: 'mm[Hg]' } },
        retry: false,
        receivedAt: RECEIVED_AT,
      });
    });

    it('4 blood sugar: blood_gucose (sic) as glucose in mmol/L, the meal period by name', () => {
      const payload = payloadOf(fixture('glucose'));
      assert.equal(payload.kind, 'glucose');
      assert.equal(payload.time, '2024-11-19T12:30:00+08:00');
      assert.deepEqual(payload.values, { glucose: { value: 7.8, unit: 'mmol/L' } });
      assert.deepEqual(payload.context, { specimen: 'capillary', mealPeriod: 'after-meal', mealPeriodCode: 2 });
      // device_sn "" is no device
      assert.equal('device' in payload, false);
    });

    it('4 blood sugar in mg/dL keeps the value and says mg/dL', () => {
      const payload = payloadOf(fixture('glucose-mg-dl'));
      assert.deepEqual(payload.values, { glucose: { value: 104, unit: 'mg/dL' } });
      assert.deepEqual(payload.context, { specimen: 'capillary', mealPeriod: 'fasting', mealPeriodCode: 0 });
    });

    it('4 blood sugar under the correctly spelled blood_glucose is read as well', () => {
      const body = fixture('glucose');
      body.data.measure_result = { type: 3, blood_glucose: { value: '6.1', unit: 'mmol/L' } };
      const payload = payloadOf(body);
      assert.deepEqual(payload.values, { glucose: { value: 6.1, unit: 'mmol/L' } });
      // type 3 is "undefined" in the document: the code is kept, no name is guessed
      assert.deepEqual(payload.context, { specimen: 'capillary', mealPeriodCode: 3 });
    });

    it('5 ECG: heart rate and duration as values, file, diagnosis and report in context', () => {
      const payload = payloadOf(fixture('ecg'));
      assert.equal(payload.kind, 'ecg');
      assert.equal(payload.time, '2024-11-19T16:40:00+08:00');
      assert.deepEqual(payload.values, {
        heartRate: { value: 76, unit: '/min' },
        duration: { value: 30, unit: 's' },
      });
      assert.deepEqual(payload.context, {
        fileUrl: 'https://viatom.example/data/ecg/analyze/2024/1119/f894c6c2.txt',
        diagnosis: '窦性心律',
        diagnosisCode: 0,
        reportUrl: 'https://viatom.example/data/ecg/2024/1119/e0dc518e.pdf',
      });
    });

    it('6 heart rate: hr as heartRate', () => {
      const payload = payloadOf(fixture('heart-rate'));
      assert.equal(payload.kind, 'heart_rate');
      assert.equal(payload.time, '2024-11-19T18:32:25+08:00');
      assert.deepEqual(payload.values, { heartRate: { value: 59, unit: '/min' } });
      assert.equal('context' in payload, false);
    });

    it('7 sleep: the duration in seconds, stages and seconds per stage in context', () => {
      const payload = payloadOf(fixture('sleep'));
      assert.equal(payload.kind, 'sleep');
      assert.deepEqual(payload.values, { duration: { value: 33572, unit: 's' } });
      assert.deepEqual(payload.context, {
        stageSeconds: { light: 752, deep: 32820 },
        stages: [
          { stage: 'light', duration: 424 },
          { stage: 'deep', duration: 32820 },
          { stage: 'light', duration: 328 },
        ],
      });
    });

    it('9 blood lipids: chol, trig, hdl as named; a null ldl is left out', () => {
      const payload = payloadOf(fixture('blood-lipids'));
      assert.equal(payload.kind, 'blood_lipids');
      assert.deepEqual(payload.values, {
        cholesterol: { value: 5.2, unit: 'mmol/L' },
        triglycerides: { value: 1.7, unit: 'mmol/L' },
        hdl: { value: 1.1, unit: 'mmol/L' },
      });
      assert.deepEqual(payload.context, { cholesterolHdlRatio: 4.73 });
    });

    it('10 body fat: a body_composition reading; the BMI without unit gets kg/m2', () => {
      const payload = payloadOf(fixture('body-fat'));
      assert.equal(payload.kind, 'body_composition');
      assert.equal(payload.time, '2024-11-20T08:00:00+08:00');
      assert.deepEqual(payload.values, {
        weight: { value: 68.4, unit: 'kg' },
        bodyFat: { value: 22.5, unit: '%' },
        bmi: { value: 23.67, unit: 'kg/m2' },
      });
      assert.deepEqual(payload.device, { sn: 'Lescale Lite D0:4D:00:0E:01:FF' });
      assert.deepEqual(payload.context, { deviceType: 1 });
    });

    it('takes the time from create_time, in the receiver tz, when measure_time is missing', () => {
      assert.equal(payloadOf(fixture('create-time-only')).time, '2024-11-19T21:15:00+08:00');
      assert.equal(payloadOf(fixture('create-time-only'), 'UTC').time, '2024-11-19T21:15:00+00:00');
    });

    it('measure_time is an instant: the receiver tz changes only the offset it is written in', () => {
      assert.equal(payloadOf(fixture('heart-rate'), 'UTC').time, '2024-11-19T10:32:25+00:00');
    });

    it('reads measure_time given as a number, and as epoch seconds', () => {
      const body = fixture('heart-rate');
      body.data.measure_time = 1732012345000;
      assert.equal(payloadOf(body).time, '2024-11-19T18:32:25+08:00');
      body.data.measure_time = '1732012345';
      assert.equal(payloadOf(body).time, '2024-11-19T18:32:25+08:00');
    });

    it('reads the newer user_id (account|member) as subject.userId', () => {
      const body = fixture('heart-rate');
      delete body.account_id;
      delete body.member_id;
      body.user_id = 'MzIwMDA=|bnVsbA==';
      assert.deepEqual(payloadOf(body).subject, { userId: 'MzIwMDA=|bnVsbA==' });
    });

    it('converts the vendor units it knows to UCUM and passes others on', () => {
      assert.equal(ucumUnit('mmHg', ''), 'mm[Hg]');
      assert.equal(ucumUnit('bpm', ''), '/min');
      assert.equal(ucumUnit('℃', ''), 'Cel');
      assert.equal(ucumUnit('°F', ''), '[degF]');
      assert.equal(ucumUnit('mmol/l', ''), 'mmol/L');
      assert.equal(ucumUnit('MG/DL', ''), 'mg/dL');
      assert.equal(ucumUnit('', 'kg/m2'), 'kg/m2');
      assert.equal(ucumUnit(null, 'Cel'), 'Cel');
      assert.equal(ucumUnit('mEq/L', ''), 'mEq/L');
    });
  });

  describe('authorization pushes (the document examples)', () => {
    it('type 2 is a viatom/authorized event with the phone in data and the ids as subject', () => {
      assert.deepEqual(normalize(fixture('authorized')), [
        {
          output: 'event',
          topic: 'viatom/authorized',
          dedupKey: '7a4569155dc60bcb36189490bf90dcfc',
          payload: {
            vendor: 'viatom',
            event: 'authorized',
            time: '2022-12-29T16:33:40+08:00',
            subject: { account_id: 'OA==|MTEx', member_id: 'OA==|LTE=' },
            data: { phone: '15312345678' },
          },
        },
      ]);
    });

    it('type 3 is a viatom/deauthorized event', () => {
      assert.deepEqual(normalize(fixture('deauthorized')), [
        {
          output: 'event',
          topic: 'viatom/deauthorized',
          dedupKey: 'a4569155dc60bcb36189490bf90dcfca',
          payload: {
            vendor: 'viatom',
            event: 'deauthorized',
            time: '2022-12-29T16:33:40+08:00',
            subject: { account_id: 'OA==|MTEx', member_id: 'OA==|LTE=' },
            data: { phone: '15312345678' },
          },
        },
      ]);
    });

    it('an authorization push without a readable create_time is still an event, without time', () => {
      const body = fixture('authorized');
      body.create_time = 'yesterday';
      assert.equal('time' in payloadOf(body), false);
    });
  });

  describe('what is passed on as viatom/unrecognized', () => {
    it('a data_type we do not map (15, fetal heart rate)', () => {
      const body = fixture('fetal-heart');
      assert.deepEqual(normalize(body), [
        {
          output: 'event',
          topic: 'viatom/unrecognized',
          dedupKey: 'RkVUQUxfSEVBUlRAODU0',
          payload: {
            vendor: 'viatom',
            event: 'unrecognized',
            time: '2024-11-19T16:40:30+08:00',
            subject: SUBJECT,
            data: { type: 1, data: body.data },
          },
        },
      ]);
    });

    it('a push type we do not know', () => {
      const body = { type: 9, data_tag: 'x-9', data: { anything: true } };
      assert.deepEqual(normalize(body), [
        {
          output: 'event',
          topic: 'viatom/unrecognized',
          dedupKey: 'x-9',
          payload: { vendor: 'viatom', event: 'unrecognized', data: { type: 9, data: { anything: true } } },
        },
      ]);
    });
  });

  describe('codes as {value, unit} (bare or like every value)', () => {
    it('a temperature whose type is {value: 1, unit: ""} is read as mode 1', () => {
      const payload = payloadOf(fixture('temperature-coded'));
      assert.deepEqual(payload.values, { temperature: { value: 37.42, unit: 'Cel' } });
      assert.deepEqual(payload.context, { mode: 'adult', modeCode: 1 });
      assert.equal(payload.time, '2024-11-19T17:10:00+08:00');
    });

    it('an SpO2 record whose type and duration are {value, unit}', () => {
      const payload = payloadOf(fixture('spo2-coded'));
      assert.deepEqual(payload.values, {
        spo2: { value: 96, unit: '%' }, pulseRate: { value: 72, unit: '/min' }, duration: { value: 62, unit: 's' },
      });
      assert.equal(payload.context.mode, 'spot-check');
      assert.equal(payload.context.modeCode, 1);
    });

    it('device_type, the diagnosis code and sleep_type as {value, unit}, a numeric-text code, a blank code', () => {
      const bodyFat = fixture('body-fat');
      bodyFat.data.measure_result.device_type = { value: '1', unit: '' };
      assert.equal(payloadOf(bodyFat).context.deviceType, 1);
      const ecg = fixture('ecg');
      ecg.data.measure_result.ai_diagnose.code = { value: 0, unit: '' };
      assert.equal(payloadOf(ecg).context.diagnosisCode, 0);
      const sleep = fixture('sleep');
      sleep.data.measure_result.sleep = [{ sleep_type: { value: 0, unit: '' }, duration: { value: 600, unit: 's' } }];
      assert.deepEqual(payloadOf(sleep).context.stages, [{ stage: 'deep', duration: 600 }]);
      const glucose = fixture('glucose');
      glucose.data.measure_result.type = { value: '', unit: '' };
      assert.deepEqual(payloadOf(glucose).context, { specimen: 'capillary' });
    });

    it('a code that is not a number is passed on as sent, never a refusal', () => {
      const temperature = fixture('temperature');
      temperature.data.measure_result.type = { value: 'ear', unit: '' };
      assert.deepEqual(payloadOf(temperature).context, { modeCode: 'ear' });
    });
  });

  describe('values the device could not measure: still a reading', () => {
    it('a glucose of HI: no glucose value, resultText HI, outOfRange high', () => {
      const payload = payloadOf(fixture('glucose-hi'));
      assert.equal(payload.kind, 'glucose');
      assert.deepEqual(payload.values, {});
      assert.deepEqual(payload.context, {
        specimen: 'capillary', mealPeriod: 'after-meal', mealPeriodCode: 2, resultText: 'HI', outOfRange: 'high',
      });
      assert.equal(payload.id, 'viatom:QkxPT0RfU1VHQVJAMjQ1OQ==');
    });

    const texts: Array<[string, Record<string, unknown>]> = [
      ['LO', { resultText: 'LO', outOfRange: 'low' }],
      ['>33.3', { resultText: '>33.3', outOfRange: 'high' }],
      ['<1.1', { resultText: '<1.1', outOfRange: 'low' }],
      ['', { resultText: '' }],
    ];
    for (const [sent, context] of texts) {
      it(`a glucose of ${JSON.stringify(sent)}`, () => {
        const body = fixture('glucose-hi');
        body.data.measure_result.blood_gucose.value = sent;
        const payload = payloadOf(body);
        assert.deepEqual(payload.values, {});
        assert.deepEqual(payload.context, { specimen: 'capillary', mealPeriod: 'after-meal', mealPeriodCode: 2, ...context });
      });
    }

    it('a blood pressure with sbp HI keeps diastolic and pulse and names systolic unmeasured', () => {
      const body = fixture('blood-pressure');
      body.data.measure_result.sbp = { value: 'HI', unit: 'mmHg' };
      const payload = payloadOf(body);
      assert.deepEqual(Object.keys(payload.values).sort(), ['diastolic', 'meanArterial', 'pulse']);
      assert.equal(payload.context.resultText, 'HI');
      assert.equal(payload.context.outOfRange, 'high');
      assert.deepEqual(payload.context.unmeasured, ['systolic']);
    });

    it('a temperature of "Lo" on a thermometer', () => {
      const body = fixture('temperature-coded');
      body.data.measure_result.temperature = { value: 'Lo', unit: '℃' };
      assert.deepEqual(payloadOf(body).context, { mode: 'adult', modeCode: 1, resultText: 'Lo', outOfRange: 'low' });
    });

    it('numeric text is a number', () => {
      const body = fixture('glucose-hi');
      body.data.measure_result.blood_gucose.value = '6.1';
      assert.deepEqual(payloadOf(body).values, { glucose: { value: 6.1, unit: 'mmol/L' } });
    });
  });

  describe('refusals (400), with paths from the body root', () => {
    it('a blood pressure without dia (a "high" sbp alone is a reading)', () => {
      assert.deepEqual(issuePaths(fixture('invalid-blood-pressure')), ['data.measure_result.dia']);
    });

    it('a value without value at all', () => {
      const body = fixture('glucose');
      body.data.measure_result.blood_gucose = { unit: 'mmol/L' };
      assert.deepEqual(issuePaths(body), ['data.measure_result.blood_gucose.value']);
    });

    it('a push without data_tag or type', () => {
      const body = fixture('heart-rate');
      delete body.data_tag;
      assert.deepEqual(issuePaths(body), ['data_tag']);
      assert.deepEqual(issuePaths({ data_tag: 'x', data: {} }), ['type']);
    });

    it('a measurement without any time', () => {
      const body = fixture('create-time-only');
      delete body.create_time;
      assert.deepEqual(issuePaths(body), ['data.measure_time']);
    });

    it('a measurement with an unreadable measure_time', () => {
      const body = fixture('heart-rate');
      body.data.measure_time = 'soon';
      assert.deepEqual(issuePaths(body), ['data.measure_time']);
    });

    it('a measurement without data_type, an authorization without data', () => {
      const body = fixture('heart-rate');
      delete body.data.data_type;
      assert.deepEqual(issuePaths(body), ['data.data_type']);
      const authorization = fixture('authorized');
      authorization.data = 'phone';
      assert.deepEqual(issuePaths(authorization), ['data']);
    });

    it('a lipid record without any value, a sleep record without duration or stages', () => {
      const lipids = fixture('blood-lipids');
      lipids.data.measure_result = { chol: { value: null, unit: 'mmol/L' } };
      assert.deepEqual(issuePaths(lipids), ['data.measure_result.chol']);
      const sleep = fixture('sleep');
      sleep.data.measure_result = { sleep: [] };
      assert.deepEqual(issuePaths(sleep), ['data.measure_result.duration']);
      sleep.data.measure_result = { duration: 600, sleep: [{ duration: 600 }] };
      assert.deepEqual(issuePaths(sleep), ['data.measure_result.sleep.0.sleep_type']);
    });
  });

  it('answers in the whole envelope of its API: code, message, reason, data', () => {
    assert.deepEqual(viatomProtocol.acceptedBody, { code: 0, message: 'ok', reason: '', data: {} });
    assert.deepEqual(viatomProtocol.rejectedBody(400, 'invalid body'), { code: 400, message: 'invalid body', reason: 'invalid body', data: null });
  });
});

describe('Viatom phone numbers', () => {
  const cases: Array<[unknown, string]> = [
    ['15312345678', '15312345678'],
    ['+86 153 1234 5678', '15312345678'],
    ['86-153-1234-5678', '15312345678'],
    ['8615312345678', '15312345678'],
    ['0086 19912345678', '19912345678'],
    [13812345678, '13812345678'],
    // international, E.164: + and 6–15 digits, sent with the +
    ['+1 415 555 0100', '+14155550100'],
    ['+49 151-2345-6789', '+4915123456789'],
    ['+852 9123 4567', '+85291234567'],
    ['+123456', '+123456'],
    ['+123456789012345', '+123456789012345'],
    // +86 that is not a mainland mobile is still a valid E.164 number
    ['+86 10 1234 5678', '+861012345678'],
  ];
  for (const [input, phone] of cases) {
    it(`accepts ${JSON.stringify(input)} as ${phone}`, () => {
      assert.deepEqual(normalizePhone(input), { ok: true, phone });
    });
  }
  for (const input of [undefined, null, '', '   ']) {
    it(`calls ${JSON.stringify(input)} missing`, () => {
      assert.deepEqual(normalizePhone(input), { ok: false, problem: 'phone-missing' });
    });
  }
  for (const input of [
    '1531234567', '153123456789', '25312345678', '12012345678', '153l2345678', { phone: '15312345678' },
    '+12345', '+1234567890123456', '+0123456789', '++4915123456789', '004915123456789', '4915123456789', '+49 151 2345 678x', '+',
  ]) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.deepEqual(normalizePhone(input), { ok: false, problem: 'phone-malformed' });
    });
  }
});

describe('Viatom account settings', () => {
  it("knows Viatom's test host, however it is written, and nothing else as it", () => {
    for (const host of ['https://open.viatomtech.com.cn', 'https://OPEN.viatomtech.com.cn/', 'http://open.viatomtech.com.cn:8080/x']) {
      assert.equal(isViatomTestHost(host), true, host);
    }
    for (const host of ['https://api.viatomtech.com.cn', 'https://open.viatomtech.com.cn.example', 'not a url', '']) {
      assert.equal(isViatomTestHost(host), false, host);
    }
  });

  it('fills blanks with the defaults', () => {
    assert.deepEqual(viatomAccountSchema.parse({ host: '', language: '', timeout: '' }), {
      host: 'https://open.viatomtech.com.cn',
      language: 'zh-CN',
      timeoutMs: 10_000,
    });
  });
  it('refuses a host that is not a URL, a language it does not know and a zero timeout', () => {
    assert.equal(viatomAccountSchema.safeParse({ host: 'open.viatomtech.com.cn' }).success, false);
    assert.equal(viatomAccountSchema.safeParse({ language: 'de-DE' }).success, false);
    assert.equal(viatomAccountSchema.safeParse({ timeout: 0 }).success, false);
  });
});

describe('Viatom open API client against the emulator', () => {
  const SECRET = 'unit-secret-7d1f';
  const TOKEN = 'unit-token-93ab';
  let cloud: ViatomCloud;
  let server: CloudServer;

  beforeEach(async () => {
    cloud = createViatomCloud({ secret: SECRET, accessToken: TOKEN, authorizedPhones: ['15312345678'] });
    server = await startCloudServer(cloud.handler);
  });
  afterEach(async () => {
    await server.close();
  });

  const client = (overrides: Partial<Parameters<typeof createViatomClient>[0]> = {}) =>
    createViatomClient({ host: server.url, language: 'en-US', secret: SECRET, accessToken: TOKEN, timeoutMs: 2000, ...overrides });

  it('sends the three headers and gets the authorization URL', async () => {
    const { url } = await client().authorizeUrl();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/auth\/#\/\?sign=/);
    assert.equal(cloud.requests.length, 1);
    const headers = cloud.requests[0]!.headers;
    assert.deepEqual([headers.secret, headers['access-token'], headers.language], [SECRET, TOKEN, 'en-US']);
  });

  it('cancels with the normalized phone number', async () => {
    assert.deepEqual(await client().cancelAuthorization('+86 153-1234-5678'), { cancelled: true });
    assert.deepEqual(cloud.requests[0]!.body, { phone: '15312345678' });
  });

  it('sends an international number in E.164 form, and keeps it out of the error text', async () => {
    const error: any = await client().cancelAuthorization('+49 151 2345 6789').catch((e: unknown) => e);
    assert.deepEqual(cloud.requests[0]!.body, { phone: '+4915123456789' });
    // not authorized at the emulator: Viatom's error, without the number
    assert.ok(error instanceof ViatomApiError);
    assert.doesNotMatch(error.message, /4915123456789|2345 6789/);
  });

  it('a wrong secret is a ViatomApiError with the vendor code, message and reason, and no secret', async () => {
    const error = await client({ secret: 'wrong-secret-value' }).authorizeUrl().then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ViatomApiError);
    assert.equal(error.code, 109997);
    assert.equal(error.vendorMessage, 'Secret key error.');
    assert.equal(error.reason, 'API secret error');
    assert.match(error.message, /Secret key error\./);
    assert.doesNotMatch(error.message, /wrong-secret-value|unit-token/);
  });

  it('a user who has not authorized: the vendor message in the account language', async () => {
    const error: any = await client({ language: 'zh-CN' }).cancelAuthorization('13900001111').catch((e: unknown) => e);
    assert.ok(error instanceof ViatomApiError);
    assert.equal(error.code, 101009);
    assert.equal(error.vendorMessage, '授权用户不存在');
  });

  it('a missing or malformed phone fails before any request', async () => {
    for (const phone of [undefined, '12345']) {
      const error: any = await client().cancelAuthorization(phone).catch((e: unknown) => e);
      assert.ok(error instanceof ViatomError);
      assert.match(error.code, /^phone-(missing|malformed)$/);
    }
    assert.equal(cloud.requests.length, 0);
  });

  it('an account without credentials fails before any request', async () => {
    const error: any = await client({ accessToken: '' }).authorizeUrl().catch((e: unknown) => e);
    assert.ok(error instanceof ViatomError);
    assert.equal(error.code, 'credentials-missing');
    assert.equal(cloud.requests.length, 0);
  });

  it('an answer that is not JSON is an ApiError not-json', async () => {
    cloud.mode = 'not-json';
    const error: any = await client().authorizeUrl().catch((e: unknown) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.kind, 'not-json');
    assert.match(error.message, /not JSON/);
  });

  it('no answer is an ApiError timeout after the configured time, not retried', async () => {
    cloud.mode = 'silent';
    const started = Date.now();
    const error: any = await client({ timeoutMs: 300 }).authorizeUrl().catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof ApiError);
    assert.equal(error.kind, 'timeout');
    assert.ok(elapsed >= 290 && elapsed < 1500, `after ${elapsed} ms`);
    assert.equal(cloud.requests.length, 1);
  });
});
