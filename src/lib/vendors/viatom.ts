import { z } from 'zod';
import { ApiError, endpointName, requestJson } from '../http-client';
import { looseNumber, looseString } from '../loose';
import { measuredValue, measuredValues, type Measured } from '../measured';
import {
  eventItem, present, readingItem,
  type HealthEvent, type Kind, type NormalizeContext, type PushItem, type Quantity, type Reading, type Subject,
} from '../reading';
import type { PushProtocol } from '../receiver/protocol';
import { isoInZone, parseWallClock, wallClockToEpoch, type WallClock } from '../time';

/**
 * Viatom (乐普) open platform, both directions:
 *
 * - the push protocol (`viatomProtocol`): one envelope `{type, data_tag, account_id, member_id,
 *   device_sn, data, user_info, create_time, update_time}` per push. `type 1` carries one
 *   measurement record as the "ViHealth Query-Data API" describes it (`data = {data_type,
 *   measure_time, measure_result, remark}`, values as `{value, unit}`), `type 2` tells that a user
 *   authorized us, `type 3` that the authorization was cancelled (SPEC §5);
 * - the open API client (`createViatomClient`): the authorization page URL and the cancellation,
 *   with the headers `secret`, `access-token` and `language` on every call.
 */

// ---------------------------------------------------------------------------------------------
// Push protocol
// ---------------------------------------------------------------------------------------------

export const VIATOM_PUSH_TYPES = { measurement: 1, authorized: 2, deauthorized: 3 } as const;

/** Epoch milliseconds (10-digit epoch seconds are read as seconds), or a zone-less wall clock. */
export type PushTime = { epochMs: number } | { wall: WallClock };

const EARLIEST_MILLIS = 1e11; // 1973-03-03 in ms; anything smaller is epoch seconds

/** `measure_time` / `create_time`: "1694676339000", 1694676339000 or "2022-12-29 16:33:40". */
const pushTime = z.union([looseNumber, z.string()]).transform((value, ctx): PushTime => {
  if (typeof value === 'number') {
    const epochMs = value > 0 && value < EARLIEST_MILLIS ? value * 1000 : value;
    if (value <= 0 || Number.isNaN(new Date(epochMs).getTime())) {
      ctx.addIssue({ code: 'custom', message: 'not a time' });
      return z.NEVER;
    }
    return { epochMs };
  }
  const wall = parseWallClock(value);
  if (!wall) {
    ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or yyyy-MM-dd HH:mm:ss' });
    return z.NEVER;
  }
  return { wall };
});

const blankIsAbsent = (value: unknown): unknown => (value === '' || value === null ? undefined : value);
const optionalTime = z.preprocess(blankIsAbsent, pushTime.optional());

/**
 * A value the record must have: `{value, unit}`. The value is a number, or the text a device shows
 * when it cannot measure (`HI`, `LO`, `>33.3`, ""): SPEC §3, such a record is still a reading.
 */
const requiredQuantity = z.looseObject({ value: measuredValue, unit: looseString.nullish() });
/**
 * A value the record may have; `{value: null}` (the vendor's examples have them) or no `value`
 * means none, a text is what the device showed (as in `requiredQuantity`).
 */
const optionalQuantity = z
  .looseObject({
    value: z.preprocess((sent) => (sent === null ? undefined : sent), measuredValue.optional()),
    unit: looseString.nullish(),
  })
  .nullish();
type VendorQuantity = z.infer<typeof optionalQuantity>;

/** `duration` is a bare number of seconds in the document; a `{value, unit}` is accepted too. */
const duration = z.union([looseNumber, z.looseObject({ value: looseNumber.nullish(), unit: looseString.nullish() })]).nullish();
type VendorDuration = z.infer<typeof duration>;

/** `{value, unit}` → its `value`; anything else as it is. Codes come either way (SPEC §5). */
const unwrapValue = (sent: unknown): unknown =>
  typeof sent === 'object' && sent !== null && !Array.isArray(sent) ? (sent as { value?: unknown }).value : sent;
/** A code's value: a number (or numeric text); other text as it came; blank or null is none. */
const codeValue = z
  .union([looseNumber, z.string(), z.null()])
  .transform((sent) => (sent === null || (typeof sent === 'string' && sent.trim() === '') ? undefined : sent));
/**
 * A code inside `measure_result` (`type`, `device_type`, a diagnosis `code`, `sleep_type`): bare
 * (`"type": 1`) or, like every value, `{value, unit}` (`"type": {"value": 1, "unit": ""}`). A
 * code is never a reason to refuse a measurement: text we cannot read as a number is passed on.
 */
const code = z.preprocess(unwrapValue, codeValue.optional());
const text = looseString.nullish();

/**
 * Field names vary between Viatom's documents and device generations: where a record carries one
 * of these aliases and not the documented name, the alias is read as the documented name.
 */
function withAliases(aliases: Record<string, string[]>) {
  return (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const out: Record<string, unknown> = { ...value };
    for (const [name, others] of Object.entries(aliases)) {
      if (out[name] !== undefined && out[name] !== null) continue;
      const alias = others.find((other) => out[other] !== undefined && out[other] !== null);
      if (alias !== undefined) out[name] = out[alias];
    }
    return out;
  };
}

const temperatureResult = z.preprocess(
  withAliases({ temperature: ['temp', 'body_temperature'] }),
  z.looseObject({ type: code, temperature: requiredQuantity }),
);
const spo2Result = z.preprocess(
  withAliases({ spo2: ['SpO2', 'oxygen'], pr: ['pulse_rate', 'pulse'] }),
  z.looseObject({
    type: code,
    duration,
    spo2: requiredQuantity,
    pr: optionalQuantity,
    '90_duration': optionalQuantity,
    drops: optionalQuantity,
    spo2_min: optionalQuantity,
    o2_score: optionalQuantity,
    file_url: text,
  }),
);
const bloodPressureResult = z.preprocess(
  withAliases({ sbp: ['sys', 'systolic'], dia: ['dbp', 'diastolic'], pr: ['pulse', 'pulse_rate', 'hr'] }),
  z.looseObject({
    sbp: requiredQuantity,
    dia: requiredQuantity,
    pr: optionalQuantity,
    pulse_pressure: optionalQuantity,
    map: optionalQuantity,
  }),
);
const glucoseResult = z.preprocess(
  withAliases({ blood_gucose: ['blood_glucose', 'glucose', 'glu'] }),
  z.looseObject({ type: code, blood_gucose: requiredQuantity }),
);
const ecgResult = z.preprocess(
  withAliases({ hr: ['heart_rate'] }),
  z.looseObject({
    duration,
    file_url: text,
    hr: optionalQuantity,
    ai_diagnose: z
      .looseObject({ code, diagnose_info: text, report_file_url: text })
      .nullish(),
  }),
);
const heartRateResult = z.preprocess(
  withAliases({ hr: ['heart_rate', 'pr'] }),
  z.looseObject({ type: code, hr: requiredQuantity }),
);
const sleepStage = z.looseObject({
  // a stage without a type is not a stage: required, bare or {value, unit}
  sleep_type: z.preprocess(unwrapValue, codeValue),
  duration: z.union([looseNumber, z.looseObject({ value: looseNumber, unit: looseString.nullish() })]),
});
const sleepResult = z
  .looseObject({ duration, sleep: z.array(sleepStage).nullish() })
  .refine((result) => durationSeconds(result.duration) !== undefined || (result.sleep?.length ?? 0) > 0, {
    message: 'a sleep record needs a duration or sleep stages',
    path: ['duration'],
  });
const lipidsResult = z
  .preprocess(
    withAliases({ chol: ['tc', 'cholesterol'], trig: ['tg', 'triglycerides'], hdl: ['hdl_c'], ldl: ['ldl_c'] }),
    z.looseObject({
      chol: optionalQuantity,
      trig: optionalQuantity,
      hdl: optionalQuantity,
      ldl: optionalQuantity,
      chol_hdl: optionalQuantity,
    }),
  )
  .refine((r) => [r.chol, r.trig, r.hdl, r.ldl].some(hasValue), {
    message: 'a lipid record needs one of chol, trig, hdl, ldl',
    path: ['chol'],
  });
const bodyFatResult = z
  .preprocess(
    withAliases({ bfp: ['body_fat', 'fat_rate'] }),
    z.looseObject({ device_type: code, weight: optionalQuantity, bfp: optionalQuantity, bmi: optionalQuantity }),
  )
  .refine((r) => [r.weight, r.bfp, r.bmi].some(hasValue), {
    message: 'a body fat record needs one of weight, bfp, bmi',
    path: ['weight'],
  });

/** `data_type` → the schema of its `measure_result`. 8 and 15 (fetal heart rate) are not mapped. */
const MEASURE_RESULTS = {
  1: temperatureResult,
  2: spo2Result,
  3: bloodPressureResult,
  4: glucoseResult,
  5: ecgResult,
  6: heartRateResult,
  7: sleepResult,
  9: lipidsResult,
  10: bodyFatResult,
} as const;
type MeasuredType = keyof typeof MEASURE_RESULTS;
const isMeasuredType = (dataType: number): dataType is MeasuredType => Object.hasOwn(MEASURE_RESULTS, dataType);

/** One measurement record; read from the body root so that issues carry paths like `data.measure_result.sbp.value`. */
function measurementSchema<T extends MeasuredType>(dataType: T) {
  return z.object({
    data: z.looseObject({
      data_type: looseNumber,
      measure_time: optionalTime,
      measure_result: MEASURE_RESULTS[dataType],
      remark: z.unknown().optional(),
    }),
    create_time: optionalTime,
  });
}
type MeasurementOf<T extends MeasuredType> = z.infer<ReturnType<typeof measurementSchema<T>>>;
type Measurement = { [T in MeasuredType]: { dataType: T; record: MeasurementOf<T> } }[MeasuredType];

// Built once: zod compiles a schema's parser on its first use, so a schema made per push would
// cost a compile per push (half the receiver's throughput in bench/).
const MEASUREMENT_SCHEMAS = Object.fromEntries(
  Object.keys(MEASURE_RESULTS).map((dataType) => [dataType, measurementSchema(Number(dataType) as MeasuredType)]),
) as { [T in MeasuredType]: ReturnType<typeof measurementSchema<T>> };
const measurementHead = z.object({ data: z.looseObject({ data_type: looseNumber }) });

const authorizationSchema = z.object({ data: z.looseObject({ phone: looseString.nullish() }) });

/** The envelope every push shares; what is not mapped passes on as it came. */
const envelope = z.looseObject({
  type: looseNumber.pipe(z.number().int()),
  data_tag: looseString.pipe(z.string().trim().min(1)),
  account_id: looseString.nullish(),
  member_id: looseString.nullish(),
  /** The newer query API joins both ids as `account_id|member_id`. */
  user_id: looseString.nullish(),
  device_sn: looseString.nullish(),
  data: z.unknown(),
  user_info: z.unknown().optional(),
  create_time: z.unknown().optional(),
  update_time: z.unknown().optional(),
});
type Envelope = z.infer<typeof envelope>;

/** Copies the issues of a nested parse onto the outer context (their paths are from the root). */
function forward(ctx: z.RefinementCtx, error: z.ZodError): never {
  for (const issue of error.issues) ctx.addIssue({ ...issue });
  return z.NEVER as never;
}

const viatomBody = envelope.transform((push, ctx) => {
  if (push.type === VIATOM_PUSH_TYPES.authorized || push.type === VIATOM_PUSH_TYPES.deauthorized) {
    const parsed = authorizationSchema.safeParse(push);
    if (!parsed.success) return forward(ctx, parsed.error);
    return { push };
  }
  if (push.type !== VIATOM_PUSH_TYPES.measurement) return { push };
  const head = measurementHead.safeParse(push);
  if (!head.success) return forward(ctx, head.error);
  const dataType = head.data.data.data_type;
  // a measurement of a type we do not map is passed on, never refused
  if (!isMeasuredType(dataType)) return { push };
  const parsed = MEASUREMENT_SCHEMAS[dataType].safeParse(push);
  if (!parsed.success) return forward(ctx, parsed.error);
  if (!parsed.data.data.measure_time && !parsed.data.create_time) {
    ctx.addIssue({ code: 'custom', message: 'a measurement needs measure_time or create_time', path: ['data', 'measure_time'] });
    return z.NEVER;
  }
  return { push, measurement: { dataType, record: parsed.data } as Measurement };
});
type ViatomBody = z.infer<typeof viatomBody>;

// --- units ------------------------------------------------------------------------------------

/** Viatom's unit spellings → UCUM. A unit not listed here is passed on as Viatom wrote it. */
const UCUM_UNITS = new Map<string, string>([
  ['mmhg', 'mm[Hg]'],
  ['mm[hg]', 'mm[Hg]'],
  ['kpa', 'kPa'],
  ['bpm', '/min'],
  ['/min', '/min'],
  ['1/min', '/min'],
  ['次/分', '/min'],
  ['次/分钟', '/min'],
  ['beats/min', '/min'],
  ['cel', 'Cel'],
  ['℃', 'Cel'],
  ['°c', 'Cel'],
  ['c', 'Cel'],
  ['℉', '[degF]'],
  ['°f', '[degF]'],
  ['f', '[degF]'],
  ['[degf]', '[degF]'],
  ['%', '%'],
  ['mmol/l', 'mmol/L'],
  ['mg/dl', 'mg/dL'],
  ['kg', 'kg'],
  ['lb', '[lb_av]'],
  ['lbs', '[lb_av]'],
  ['kg/m2', 'kg/m2'],
  ['kg/m²', 'kg/m2'],
  ['kg/m^2', 'kg/m2'],
  ['s', 's'],
  ['sec', 's'],
  ['秒', 's'],
  ['min', 'min'],
]);

/** The UCUM unit of a vendor unit; `fallback` when the vendor gave none. */
export function ucumUnit(unit: string | null | undefined, fallback: string): string {
  const trimmed = (unit ?? '').trim();
  if (trimmed === '') return fallback;
  return UCUM_UNITS.get(trimmed.toLowerCase()) ?? trimmed;
}

function hasValue(quantity: VendorQuantity): boolean {
  return quantity?.value !== undefined;
}

/** One entry for `measuredValues`: what the device sent for `quantity`, in UCUM. */
function entry(quantity: VendorQuantity, fallbackUnit: string): { measured: Measured | undefined; unit: string } {
  return { measured: quantity?.value, unit: ucumUnit(quantity?.unit, fallbackUnit) };
}

/**
 * The reading's `values` from the record's measured values (`name → [quantity, fallback unit]`),
 * and the `resultText` / `outOfRange` / `unmeasured` context of those the device could not measure
 * (SPEC §3, src/lib/measured.ts).
 */
function measured(quantities: Record<string, [VendorQuantity, string]>): { values: Record<string, Quantity>; context: Record<string, unknown> } {
  const entries = Object.fromEntries(Object.entries(quantities).map(([name, [quantity, unit]]) => [name, entry(quantity, unit)]));
  const result = measuredValues(entries);
  return { values: result.values, context: { ...result.context } };
}

/**
 * A secondary value for `context`: a quantity when it has a unit, a plain number when it has none,
 * the device's text when it is not a number.
 */
function extra(quantity: VendorQuantity, fallbackUnit = ''): Quantity | number | string | undefined {
  const sent = quantity?.value;
  if (!sent) return undefined;
  if (!('value' in sent)) return sent.text === '' ? undefined : sent.text;
  const unit = ucumUnit(quantity?.unit, fallbackUnit);
  return unit === '' ? sent.value : { value: sent.value, unit };
}

function durationSeconds(field: VendorDuration): number | undefined {
  if (field === null || field === undefined) return undefined;
  if (typeof field === 'number') return field;
  if (field.value === null || field.value === undefined) return undefined;
  const unit = ucumUnit(field.unit, 's');
  if (unit === 'min') return field.value * 60;
  return field.value;
}

function durationValue(field: VendorDuration): Record<string, Quantity> {
  const seconds = durationSeconds(field);
  return seconds === undefined ? {} : { duration: { value: seconds, unit: 's' } };
}

// --- codes ------------------------------------------------------------------------------------

const TEMPERATURE_MODES = new Map([[1, 'adult'], [2, 'child'], [3, 'ear'], [4, 'object']]);
const SPO2_MODES = new Map([[1, 'spot-check'], [2, 'continuous']]);
const MEAL_PERIODS = new Map([[0, 'fasting'], [1, 'before-meal'], [2, 'after-meal']]);
const SLEEP_STAGES = new Map([[0, 'deep'], [1, 'light'], [2, 'rem'], [3, 'awake']]);

type Code = number | string | undefined;
const named = (names: Map<number, string>, sent: Code): string | undefined =>
  typeof sent === 'number' ? names.get(sent) : undefined;

// --- normalization ----------------------------------------------------------------------------

type ReadingCore = { kind: Kind; values: Record<string, Quantity>; context?: Record<string, unknown> };

/** A reading's values and context: the record's own context first, then what `measured` adds. */
function withContext(
  result: { values: Record<string, Quantity>; context: Record<string, unknown> },
  own: Record<string, unknown> | undefined,
): Pick<ReadingCore, 'values' | 'context'> {
  const context = { ...own, ...result.context };
  return { values: result.values, ...(Object.keys(context).length > 0 && { context }) };
}

function readingCore(record: Measurement): ReadingCore {
  switch (record.dataType) {
    case 1: {
      const r = record.record.data.measure_result;
      return {
        kind: 'temperature',
        ...withContext(
          measured({ temperature: [r.temperature, 'Cel'] }),
          present<string | number>({ mode: named(TEMPERATURE_MODES, r.type), modeCode: r.type }),
        ),
      };
    }
    case 2: {
      const r = record.record.data.measure_result;
      const result = measured({ spo2: [r.spo2, '%'], pulseRate: [r.pr, '/min'] });
      return {
        kind: 'spo2',
        ...withContext(
          { values: { ...result.values, ...durationValue(r.duration) }, context: result.context },
          present<unknown>({
            mode: named(SPO2_MODES, r.type),
            modeCode: r.type,
            lowestSpo2: extra(r.spo2_min, '%'),
            below90Duration: extra(r['90_duration'], 's'),
            drops: extra(r.drops),
            o2Score: extra(r.o2_score),
            fileUrl: r.file_url,
          }),
        ),
      };
    }
    case 3: {
      const r = record.record.data.measure_result;
      return {
        kind: 'blood_pressure',
        ...withContext(
          measured({
            systolic: [r.sbp, 'mm[Hg]'],
            diastolic: [r.dia, 'mm[Hg]'],
            pulse: [r.pr, '/min'],
            meanArterial: [r.map, 'mm[Hg]'],
          }),
          present<unknown>({ pulsePressure: extra(r.pulse_pressure, 'mm[Hg]') }),
        ),
      };
    }
    case 4: {
      const r = record.record.data.measure_result;
      return {
        kind: 'glucose',
        // the value is passed on in the unit Viatom names (mmol/L, or mg/dL when it says so)
        ...withContext(
          measured({ glucose: [r.blood_gucose, 'mmol/L'] }),
          present<string | number>({
            specimen: 'capillary',
            mealPeriod: named(MEAL_PERIODS, r.type),
            mealPeriodCode: r.type,
          }),
        ),
      };
    }
    case 5: {
      const r = record.record.data.measure_result;
      const diagnosis = r.ai_diagnose;
      const result = measured({ heartRate: [r.hr, '/min'] });
      return {
        kind: 'ecg',
        ...withContext(
          { values: { ...result.values, ...durationValue(r.duration) }, context: result.context },
          present<string | number>({
            fileUrl: r.file_url,
            diagnosis: diagnosis?.diagnose_info,
            diagnosisCode: diagnosis?.code,
            reportUrl: diagnosis?.report_file_url,
          }),
        ),
      };
    }
    case 6: {
      const r = record.record.data.measure_result;
      return {
        kind: 'heart_rate',
        ...withContext(measured({ heartRate: [r.hr, '/min'] }), undefined),
      };
    }
    case 7: {
      const r = record.record.data.measure_result;
      const stages = (r.sleep ?? []).map((stage) => ({
        stage:
          typeof stage.sleep_type === 'number'
            ? (SLEEP_STAGES.get(stage.sleep_type) ?? String(stage.sleep_type))
            : (stage.sleep_type ?? 'unknown'),
        duration: durationSeconds(stage.duration) as number,
      }));
      const totals: Record<string, number> = {};
      for (const stage of stages) totals[stage.stage] = (totals[stage.stage] ?? 0) + stage.duration;
      const total = durationSeconds(r.duration) ?? stages.reduce((sum, stage) => sum + stage.duration, 0);
      return {
        kind: 'sleep',
        values: { duration: { value: total, unit: 's' } },
        context: stages.length ? { stageSeconds: totals, stages } : undefined,
      };
    }
    case 9: {
      const r = record.record.data.measure_result;
      return {
        kind: 'blood_lipids',
        ...withContext(
          measured({
            cholesterol: [r.chol, 'mmol/L'],
            triglycerides: [r.trig, 'mmol/L'],
            hdl: [r.hdl, 'mmol/L'],
            ldl: [r.ldl, 'mmol/L'],
          }),
          present<unknown>({ cholesterolHdlRatio: extra(r.chol_hdl) }),
        ),
      };
    }
    case 10: {
      const r = record.record.data.measure_result;
      return {
        kind: 'body_composition',
        ...withContext(
          measured({ weight: [r.weight, 'kg'], bodyFat: [r.bfp, '%'], bmi: [r.bmi, 'kg/m2'] }),
          present<string | number>({ deviceType: r.device_type }),
        ),
      };
    }
  }
}

function isoOf(time: PushTime, tz: string): string {
  return isoInZone('epochMs' in time ? time.epochMs : wallClockToEpoch(time.wall, tz), tz);
}

/** `create_time` of a push, when it is a time; an event does without one. */
function pushCreated(push: Envelope, tz: string): string | undefined {
  const parsed = optionalTime.safeParse(push.create_time);
  return parsed.success && parsed.data ? isoOf(parsed.data, tz) : undefined;
}

/** Who a push belongs to: Viatom's account and member ids (identifiers under the pii policy). */
function subjectOf(push: Envelope): Subject | undefined {
  return present({ account_id: push.account_id, member_id: push.member_id, userId: push.user_id });
}

function normalize(body: ViatomBody, context: NormalizeContext): PushItem[] {
  const { push } = body;
  const key = push.data_tag;
  const device = present({ sn: push.device_sn });
  const subject = subjectOf(push);
  const shared = { ...(device && { device }), ...(subject && { subject }) };

  if (push.type === VIATOM_PUSH_TYPES.authorized || push.type === VIATOM_PUSH_TYPES.deauthorized) {
    const time = pushCreated(push, context.tz);
    const event: HealthEvent = {
      vendor: 'viatom',
      event: push.type === VIATOM_PUSH_TYPES.authorized ? 'authorized' : 'deauthorized',
      ...(time && { time }),
      ...shared,
      data: push.data,
    };
    return [eventItem(event, key)];
  }
  if (!body.measurement) {
    const time = pushCreated(push, context.tz);
    const event: HealthEvent = {
      vendor: 'viatom',
      event: 'unrecognized',
      ...(time && { time }),
      ...shared,
      data: { type: push.type, data: push.data },
    };
    return [eventItem(event, key)];
  }

  const { record } = body.measurement;
  const core = readingCore(body.measurement);
  const when = record.data.measure_time ?? record.create_time;
  const reading: Reading = {
    id: `viatom:${key}`,
    vendor: 'viatom',
    kind: core.kind,
    time: isoOf(when as PushTime, context.tz),
    values: core.values,
    ...shared,
    ...(core.context && { context: core.context }),
    retry: false,
    receivedAt: context.receivedAt,
  };
  return [readingItem(reading, key)];
}

export const viatomProtocol: PushProtocol<ViatomBody> = {
  vendor: 'viatom',
  schema: viatomBody,
  normalize,
  // Viatom documents no answer to a push; ours is its whole API envelope ("公共出参": code,
  // message, reason, data, all four required), as its success examples write it: reason "",
  // data an object ({} where there is nothing to return, as the cancel example).
  acceptedBody: { code: 0, message: 'ok', reason: '', data: {} },
  // a refusal: the HTTP status as the non-zero code, the reason in message and reason, no data
  rejectedBody: (status, reason) => ({ code: status, message: reason, reason, data: null }),
};

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

export type PhoneCheck = { ok: true; phone: string } | { ok: false; problem: 'phone-missing' | 'phone-malformed' };

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
/** E.164: `+`, a country code (never 0) and the number, 6 to 15 digits in all. */
const INTERNATIONAL = /^\+[1-9]\d{5,14}$/;

/**
 * The phone number a Viatom user is known by, as sent to the cancel API:
 * - a mainland China mobile number, 11 digits 13x–19x, sent as those 11 digits (the document's
 *   `153xxxxxxxx`); a +86 / 86 / 0086 prefix is removed;
 * - any other number in international form (E.164: `+` and 6–15 digits), sent as `+<digits>`.
 * Spaces and dashes between the digits are removed. Anything else is malformed.
 */
export function normalizePhone(input: unknown): PhoneCheck {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    return { ok: false, problem: 'phone-missing' };
  }
  if (typeof input !== 'string' && typeof input !== 'number') return { ok: false, problem: 'phone-malformed' };
  let digits = String(input).trim().replace(/[\s-]/g, '');
  const prefixed = /^(?:\+86|0086|86)(\d{11})$/.exec(digits);
  if (prefixed && MAINLAND_MOBILE.test(prefixed[1] as string)) digits = prefixed[1] as string;
  if (MAINLAND_MOBILE.test(digits) || INTERNATIONAL.test(digits)) return { ok: true, phone: digits };
  return { ok: false, problem: 'phone-malformed' };
}

/** `153****5678`: what may be shown of a phone number (it is personal data). */
export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '*'.repeat(phone.length);
}

// ---------------------------------------------------------------------------------------------
// Open API client
// ---------------------------------------------------------------------------------------------

/** The host of Viatom's document, which it calls its test host ("测试Host"). */
export const VIATOM_DEFAULT_HOST = 'https://open.viatomtech.com.cn';
const VIATOM_TEST_HOSTNAME = new URL(VIATOM_DEFAULT_HOST).hostname;

/**
 * True when `host` is Viatom's test host (any scheme, port or path): an account that uses it is
 * not ready for production, and Viatom gives the production host on request (SPEC §2).
 */
export function isViatomTestHost(host: string): boolean {
  try {
    return new URL(host).hostname.toLowerCase() === VIATOM_TEST_HOSTNAME;
  } catch {
    return false;
  }
}
export const VIATOM_LANGUAGES = ['zh-CN', 'en-US'] as const;
export type ViatomLanguage = (typeof VIATOM_LANGUAGES)[number];

export const VIATOM_PATHS = {
  jumpPath: '/api/v1/open/auth/jump_path',
  cancel: '/api/v1/open/auth/cancel',
} as const;

/** A problem found before or after a call that is not the vendor's answer (`code` names it). */
export class ViatomError extends Error {
  constructor(
    readonly code: 'phone-missing' | 'phone-malformed' | 'credentials-missing' | 'unexpected-answer',
    message: string,
  ) {
    super(message);
    this.name = 'ViatomError';
  }
}

/** Viatom answered with `code != 0`: its `message` and `reason`, with personal data and secrets removed. */
export class ViatomApiError extends Error {
  constructor(
    readonly code: number,
    readonly vendorMessage: string,
    readonly reason: string,
    readonly endpoint: string,
  ) {
    const detail = reason && reason !== vendorMessage ? ` (${reason.length > 200 ? `${reason.slice(0, 200)}…` : reason})` : '';
    super(`${endpoint}: Viatom code ${code}: ${vendorMessage || 'no message'}${detail}`, {
      cause: { code, message: vendorMessage, reason },
    });
    this.name = 'ViatomApiError';
  }
}

/** The envelope of every Viatom API answer. */
const apiReply = z.looseObject({
  code: looseNumber,
  message: looseString.nullish(),
  reason: looseString.nullish(),
  data: z.unknown().optional(),
});
const jumpPathData = z.looseObject({
  jump_path: z.string().refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'not an http(s) URL'),
});

export const viatomAccountSchema = z
  .object({
    host: z.preprocess(
      blankIsAbsent,
      z
        .string()
        .trim()
        .default(VIATOM_DEFAULT_HOST)
        .refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'host must be an http(s) URL'),
    ),
    language: z.preprocess(blankIsAbsent, z.enum(VIATOM_LANGUAGES).default('zh-CN')),
    timeout: z.preprocess(blankIsAbsent, z.coerce.number().finite().positive('timeout must be above 0').default(10)),
  })
  .transform((config) => ({
    host: config.host.replace(/\/+$/, ''),
    language: config.language,
    timeoutMs: config.timeout * 1000,
  }));
export type ViatomAccountSettings = z.infer<typeof viatomAccountSchema>;

export interface ViatomClientOptions {
  /** `https://open.viatomtech.com.cn` unless Viatom gives another. */
  host?: string;
  language: ViatomLanguage;
  secret: string | undefined;
  accessToken: string | undefined;
  timeoutMs: number;
}

export interface ViatomClient {
  /** The page where a user logs in to ViHealth and authorizes us (`jump_path`). */
  authorizeUrl(): Promise<{ url: string }>;
  /** Cancels a user's authorization; Viatom then pushes a `type 3`. */
  cancelAuthorization(phone: unknown): Promise<{ cancelled: true }>;
}

/** What a `viatom-account` config node offers the nodes that use it. */
export interface ViatomAccountHandle {
  /** A client with the account's current settings, or why there is none (invalid properties). */
  viatomClient(): ViatomClient | Error;
}

/** Removes secrets and the phone number from text the vendor wrote, before it reaches an error. */
function scrub(text: string, secrets: Array<string | undefined>, phone?: string): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  if (phone) {
    // the vendor may echo an international number with or without its +
    for (const form of [phone, phone.replace(/^\+/, '')]) out = out.split(form).join(maskPhone(form));
  }
  return out;
}

export function createViatomClient(options: ViatomClientOptions): ViatomClient {
  const host = (options.host || VIATOM_DEFAULT_HOST).replace(/\/+$/, '');
  const secrets = [options.secret, options.accessToken];

  async function call(path: string, body: unknown, phone?: string): Promise<unknown> {
    if (!options.secret || !options.accessToken) {
      throw new ViatomError('credentials-missing', 'the Viatom account has no secret or no access token');
    }
    const url = `${host}${path}`;
    const endpoint = `POST ${endpointName(url)}`;
    // one attempt: a cancellation repeated after a lost answer is not ours to decide
    const response = await requestJson({
      method: 'POST',
      url,
      headers: { secret: options.secret, 'access-token': options.accessToken, language: options.language },
      body,
      timeoutMs: options.timeoutMs,
    });
    const reply = apiReply.safeParse(response.body);
    if (reply.success && reply.data.code !== 0) {
      throw new ViatomApiError(
        reply.data.code,
        scrub(reply.data.message ?? '', secrets, phone),
        scrub(reply.data.reason ?? '', secrets, phone),
        endpoint,
      );
    }
    if (response.status >= 300) {
      throw new ApiError(`${endpoint}: HTTP ${response.status}`, 'http', response.status);
    }
    if (!reply.success) {
      throw new ViatomError('unexpected-answer', `${endpoint}: the answer is not a Viatom reply (no numeric code)`);
    }
    return reply.data.data;
  }

  return {
    async authorizeUrl() {
      const data = await call(VIATOM_PATHS.jumpPath, {});
      const parsed = jumpPathData.safeParse(data);
      if (!parsed.success) {
        throw new ViatomError('unexpected-answer', `POST ${endpointName(`${host}${VIATOM_PATHS.jumpPath}`)}: the answer has no jump_path URL`);
      }
      return { url: parsed.data.jump_path };
    },
    async cancelAuthorization(input) {
      const checked = normalizePhone(input);
      if (!checked.ok) {
        throw new ViatomError(
          checked.problem,
          checked.problem === 'phone-missing'
            ? 'no phone number to cancel'
            : 'the phone number is neither an 11-digit mainland China mobile number nor an international number (+ and 6–15 digits)',
        );
      }
      await call(VIATOM_PATHS.cancel, { phone: checked.phone }, checked.phone);
      return { cancelled: true };
    },
  };
}
