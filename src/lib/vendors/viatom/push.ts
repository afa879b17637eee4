import { z } from 'zod';
import { looseNumber, looseString } from '../../loose';
import { measuredValue, measuredValues, type Measured } from '../../measured';
import {
  eventItem, present, readingItem,
  type HealthEvent, type Kind, type NormalizeContext, type PushItem, type Quantity, type Reading, type Subject,
} from '../../reading';
import type { PushProtocol } from '../../receiver/protocol';
import { isoInZone, parseWallClock, wallClockToEpoch, type WallClock } from '../../time';
import { blankIsDefault, forwardIssues } from '../../zod-helpers';
import { ucumUnit } from './units';

/**
 * Viatom's push protocol (`viatomProtocol`): one envelope `{type, data_tag, account_id, member_id,
 * device_sn, data, user_info, create_time, update_time}` per push. `type 1` carries one
 * measurement record as the "ViHealth Query-Data API" describes it (`data = {data_type,
 * measure_time, measure_result, remark}`, values as `{value, unit}`), `type 2` tells that a user
 * authorized us, `type 3` that the authorization was cancelled (docs/nodes/viatom-in.md).
 */

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

const optionalTime = z.preprocess(blankIsDefault, pushTime.optional());

/**
 * A value the record must have: `{value, unit}`. The value is a number, or the text a device shows
 * when it cannot measure (`HI`, `LO`, `>33.3`, ""): docs/messages.md#values-a-device-could-not-measure, such a record is still a reading.
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

/** `{value, unit}` → its `value`; anything else as it is. Codes come either way (docs/nodes/viatom-in.md). */
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

// --- values -----------------------------------------------------------------------------------

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
 * (docs/messages.md#values-a-device-could-not-measure, src/lib/measured.ts).
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

/** `measured`'s result with the record's duration (in seconds) among the values, when it has one. */
function withDuration(result: ReturnType<typeof measured>, field: VendorDuration): ReturnType<typeof measured> {
  const seconds = durationSeconds(field);
  return seconds === undefined ? result : { values: { ...result.values, duration: { value: seconds, unit: 's' } }, context: result.context };
}

// --- codes ------------------------------------------------------------------------------------

const TEMPERATURE_MODES = new Map([[1, 'adult'], [2, 'child'], [3, 'ear'], [4, 'object']]);
const SPO2_MODES = new Map([[1, 'spot-check'], [2, 'continuous']]);
const MEAL_PERIODS = new Map([[0, 'fasting'], [1, 'before-meal'], [2, 'after-meal']]);
const SLEEP_STAGES = new Map([[0, 'deep'], [1, 'light'], [2, 'rem'], [3, 'awake']]);

type Code = number | string | undefined;
const named = (names: Map<number, string>, sent: Code): string | undefined =>
  typeof sent === 'number' ? names.get(sent) : undefined;

// --- data types -------------------------------------------------------------------------------

type ReadingCore = { kind: Kind; values: Record<string, Quantity>; context?: Record<string, unknown> };

/** A reading's values and context: the record's own context first, then what `measured` adds. */
function withContext(
  result: { values: Record<string, Quantity>; context: Record<string, unknown> },
  own: Record<string, unknown> | undefined,
): Pick<ReadingCore, 'values' | 'context'> {
  const context = { ...own, ...result.context };
  return { values: result.values, ...(Object.keys(context).length > 0 && { context }) };
}

/**
 * One `data_type`: the schema of its `measure_result`, and the reading made of what that schema
 * parsed. The two are one zod schema (the mapping is its transform), so the mapping's argument has
 * exactly the type its own schema gives, and each type is written in one place.
 */
function dataType<S extends z.ZodType>(result: S, reading: (r: z.output<S>) => ReadingCore) {
  return result.transform(reading);
}

const sleepStage = z.looseObject({
  // a stage without a type is not a stage: required, bare or {value, unit}
  sleep_type: z.preprocess(unwrapValue, codeValue),
  duration: z.union([looseNumber, z.looseObject({ value: looseNumber, unit: looseString.nullish() })]),
});

/** `data_type` → its `measure_result`, read into a reading. 8 and 15 (fetal heart rate) are not mapped. */
const DATA_TYPES = {
  1: dataType(
    z.preprocess(withAliases({ temperature: ['temp', 'body_temperature'] }), z.looseObject({ type: code, temperature: requiredQuantity })),
    (r) => ({
      kind: 'temperature',
      ...withContext(
        measured({ temperature: [r.temperature, 'Cel'] }),
        present<string | number>({ mode: named(TEMPERATURE_MODES, r.type), modeCode: r.type }),
      ),
    }),
  ),
  2: dataType(
    z.preprocess(
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
    ),
    (r) => ({
      kind: 'spo2',
      ...withContext(
        withDuration(measured({ spo2: [r.spo2, '%'], pulseRate: [r.pr, '/min'] }), r.duration),
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
    }),
  ),
  3: dataType(
    z.preprocess(
      withAliases({ sbp: ['sys', 'systolic'], dia: ['dbp', 'diastolic'], pr: ['pulse', 'pulse_rate', 'hr'] }),
      z.looseObject({
        sbp: requiredQuantity,
        dia: requiredQuantity,
        pr: optionalQuantity,
        pulse_pressure: optionalQuantity,
        map: optionalQuantity,
      }),
    ),
    (r) => ({
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
    }),
  ),
  4: dataType(
    z.preprocess(withAliases({ blood_gucose: ['blood_glucose', 'glucose', 'glu'] }), z.looseObject({ type: code, blood_gucose: requiredQuantity })),
    (r) => ({
      kind: 'glucose',
      // the value is passed on in the unit Viatom names (mmol/L, or mg/dL when it says so)
      ...withContext(
        measured({ glucose: [r.blood_gucose, 'mmol/L'] }),
        present<string | number>({ specimen: 'capillary', mealPeriod: named(MEAL_PERIODS, r.type), mealPeriodCode: r.type }),
      ),
    }),
  ),
  5: dataType(
    z.preprocess(
      withAliases({ hr: ['heart_rate'] }),
      z.looseObject({
        duration,
        file_url: text,
        hr: optionalQuantity,
        ai_diagnose: z.looseObject({ code, diagnose_info: text, report_file_url: text }).nullish(),
      }),
    ),
    (r) => ({
      kind: 'ecg',
      ...withContext(
        withDuration(measured({ heartRate: [r.hr, '/min'] }), r.duration),
        present<string | number>({
          fileUrl: r.file_url,
          diagnosis: r.ai_diagnose?.diagnose_info,
          diagnosisCode: r.ai_diagnose?.code,
          reportUrl: r.ai_diagnose?.report_file_url,
        }),
      ),
    }),
  ),
  6: dataType(
    z.preprocess(withAliases({ hr: ['heart_rate', 'pr'] }), z.looseObject({ type: code, hr: requiredQuantity })),
    (r) => ({ kind: 'heart_rate', ...withContext(measured({ heartRate: [r.hr, '/min'] }), undefined) }),
  ),
  7: dataType(
    z
      .looseObject({ duration, sleep: z.array(sleepStage).nullish() })
      .refine((result) => durationSeconds(result.duration) !== undefined || (result.sleep?.length ?? 0) > 0, {
        message: 'a sleep record needs a duration or sleep stages',
        path: ['duration'],
      }),
    (r) => {
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
    },
  ),
  9: dataType(
    z
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
      }),
    (r) => ({
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
    }),
  ),
  10: dataType(
    z
      .preprocess(
        withAliases({ bfp: ['body_fat', 'fat_rate'] }),
        z.looseObject({ device_type: code, weight: optionalQuantity, bfp: optionalQuantity, bmi: optionalQuantity }),
      )
      .refine((r) => [r.weight, r.bfp, r.bmi].some(hasValue), {
        message: 'a body fat record needs one of weight, bfp, bmi',
        path: ['weight'],
      }),
    (r) => ({
      kind: 'body_composition',
      ...withContext(
        measured({ weight: [r.weight, 'kg'], bodyFat: [r.bfp, '%'], bmi: [r.bmi, 'kg/m2'] }),
        present<string | number>({ deviceType: r.device_type }),
      ),
    }),
  ),
} as const;
type MeasuredType = keyof typeof DATA_TYPES;
const isMeasuredType = (dataType: number): dataType is MeasuredType => Object.hasOwn(DATA_TYPES, dataType);

/** One measurement record; read from the body root so that issues carry paths like `data.measure_result.sbp.value`. */
function measurementSchema(dataType: MeasuredType) {
  return z.object({
    data: z.looseObject({
      data_type: looseNumber,
      measure_time: optionalTime,
      measure_result: DATA_TYPES[dataType],
      remark: z.unknown().optional(),
    }),
    create_time: optionalTime,
  });
}

// Built once: zod compiles a schema's parser on its first use, so a schema made per push would
// cost a compile per push (half the receiver's throughput in bench/).
const MEASUREMENT_SCHEMAS = Object.fromEntries(
  Object.keys(DATA_TYPES).map((dataType) => [dataType, measurementSchema(Number(dataType) as MeasuredType)]),
) as Record<MeasuredType, ReturnType<typeof measurementSchema>>;
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

const viatomBody = envelope.transform((push, ctx) => {
  if (push.type === VIATOM_PUSH_TYPES.authorized || push.type === VIATOM_PUSH_TYPES.deauthorized) {
    const parsed = authorizationSchema.safeParse(push);
    if (!parsed.success) return forwardIssues(ctx, parsed.error);
    return { push };
  }
  if (push.type !== VIATOM_PUSH_TYPES.measurement) return { push };
  const head = measurementHead.safeParse(push);
  if (!head.success) return forwardIssues(ctx, head.error);
  const dataType = head.data.data.data_type;
  // a measurement of a type we do not map is passed on, never refused
  if (!isMeasuredType(dataType)) return { push };
  const parsed = MEASUREMENT_SCHEMAS[dataType].safeParse(push);
  if (!parsed.success) return forwardIssues(ctx, parsed.error);
  if (!parsed.data.data.measure_time && !parsed.data.create_time) {
    ctx.addIssue({ code: 'custom', message: 'a measurement needs measure_time or create_time', path: ['data', 'measure_time'] });
    return z.NEVER;
  }
  return { push, measurement: parsed.data };
});
type ViatomBody = z.infer<typeof viatomBody>;

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

  const record = body.measurement;
  // its data type's schema has already made the reading's kind, values and context
  const core = record.data.measure_result;
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
