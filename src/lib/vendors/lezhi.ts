import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../canonical-json';
import { contextNumber, looseNumber, looseString } from '../loose';
import { measuredValue, measuredValues, type Measured, type MeasuredContext } from '../measured';
import { eventItem, present, readingItem, type NormalizeContext, type PushItem, type Quantity, type Reading, type Subject } from '../reading';
import type { PushProtocol } from '../receiver/protocol';
import { isoInZone } from '../time';
import { forwardIssues } from '../zod-helpers';

/**
 * Lezhi (Lifesense, 乐智云) data push: one envelope `{userId?, associatedId?, eventKey,
 * dataTypeKey, pushStatus, data}` per measurement or change event (docs/nodes/lezhi-in.md). The cloud sends
 * numbers as strings and strings as numbers, sometimes swaps `eventKey` and `dataTypeKey`, and
 * gives no id of its own, so the identity of a push is the hash of its content.
 */

const PUSH_KINDS = z.enum(['dataPush', 'eventPush']);

/** Epoch milliseconds that name a real instant (a Date can hold them). */
const epochMillis = looseNumber.refine((ms) => !Number.isNaN(new Date(ms).getTime()), 'not a time');

/**
 * Flags arrive as 0/1, "0"/"1" or booleans; a bare `Boolean("0")` would read a string "0" as set.
 * Anything else leaves the flag out rather than refuse the reading it annotates.
 */
const flag = z.union([z.boolean(), contextNumber.transform((n) => (n === undefined ? undefined : Boolean(n)))]);

const WEIGHT_TYPES = z.enum(['dWeight']);
const BLOOD_PRESSURE_TYPES = z.enum(['BP', 'uBp']);
const GLUCOSE_TYPES = z.enum(['BS', 'uBs']);

const weightData = z.looseObject({
  deviceId: looseString.nullish(),
  sn: looseString.nullish(),
  mac: looseString.nullish(),
  measureEpochMilli: epochMillis,
  // a value the device could not measure ("HI", "", null) is still a reading (docs/messages.md#values-a-device-could-not-measure)
  weight: measuredValue,
  resistance50k: measuredValue.nullish(),
  heartRate: measuredValue.nullish(),
});

const bloodPressureData = z.looseObject({
  measurementDate: epochMillis,
  sys: measuredValue,
  dia: measuredValue,
  pul: measuredValue.nullish(),
  ihb: flag.nullish(),
  movementError: flag.nullish(),
});

const glucoseData = z.looseObject({
  measurementDate: epochMillis,
  glu: measuredValue,
  mealPeriod: contextNumber,
});

/**
 * The data pushes we map, discriminated by `dataTypeKey`. It reads the whole envelope so that
 * its issues carry paths from the body root (`data.weight`), and a device push's `deviceId`.
 */
const measurement = z.discriminatedUnion('dataTypeKey', [
  z.object({ dataTypeKey: WEIGHT_TYPES, deviceId: looseString.nullish(), data: weightData }),
  z.object({ dataTypeKey: BLOOD_PRESSURE_TYPES, data: bloodPressureData }),
  z.object({ dataTypeKey: GLUCOSE_TYPES, data: glucoseData }),
]);
type Measurement = z.infer<typeof measurement>;

const MEASURED_TYPES = new Set<string>([
  ...WEIGHT_TYPES.options, ...BLOOD_PRESSURE_TYPES.options, ...GLUCOSE_TYPES.options,
]);

/**
 * The envelope without transforms (apart from `pushStatus`, which is no part of a push's
 * identity), so its output hashes exactly as the body the vendor sent.
 */
const envelope = z.looseObject({
  userId: z.union([z.number(), z.string()]).nullish(),
  associatedId: z.union([z.string(), z.number()]).nullish(),
  eventKey: PUSH_KINDS,
  dataTypeKey: z.string().min(1),
  // missing or null is a first delivery (1); 2 is the vendor's retry
  pushStatus: looseNumber.nullish(),
  data: z.looseObject({}),
});
type Envelope = z.infer<typeof envelope>;

const isPushKind = (value: unknown): boolean => PUSH_KINDS.safeParse(value).success;

/** Undoes the swap of `eventKey` and `dataTypeKey` some Lezhi pushes arrive with. */
function unswapKeys(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const { eventKey, dataTypeKey } = body as Record<string, unknown>;
  if (isPushKind(eventKey) || !isPushKind(dataTypeKey)) return body;
  return { ...body, eventKey: dataTypeKey, dataTypeKey: eventKey };
}

/**
 * Only a data push we map has to fit a data schema: an event or a type we do not know yet is
 * passed on as it came, never refused. `push` stays untransformed for the dedup key.
 */
const lezhiBody = z.preprocess(unswapKeys, envelope).transform((push, ctx) => {
  if (push.eventKey !== 'dataPush' || !MEASURED_TYPES.has(push.dataTypeKey)) return { push };
  const parsed = measurement.safeParse(push);
  if (!parsed.success) return forwardIssues(ctx, parsed.error);
  return { push, measurement: parsed.data };
});
type LezhiBody = z.infer<typeof lezhiBody>;

const MEAL_PERIODS = new Map<number, string>([
  [0, 'fasting'],
  [1, 'after-breakfast'],
  [2, 'before-lunch'],
  [3, 'after-lunch'],
  [4, 'before-dinner'],
  [5, 'after-dinner'],
  [6, 'bedtime'],
  [11, 'early-morning'],
  [12, 'before-meal'],
  [13, '2h-after-meal'],
  [14, 'before-exercise'],
  [15, 'after-exercise'],
  [16, 'random'],
]);

/** `{[name]: {value, unit}}` for a positive number; a scale sends 0 (or text) when it measured none. */
function positiveQuantity(name: string, measured: Measured | null | undefined, unit: string): Record<string, Quantity> {
  return measured && 'value' in measured && measured.value > 0 ? { [name]: { value: measured.value, unit } } : {};
}

/** A reading's context: the vendor's flags, then what measuredValues says of unreadable values. */
function contextOf(flags: Record<string, unknown> | undefined, measured: MeasuredContext): Record<string, unknown> | undefined {
  const context = { ...flags, ...measured };
  return Object.keys(context).length ? context : undefined;
}

/** The push's content hash: the same for a retry, a swapped-key copy and a copy with numbers as text. */
function dedupKeyOf(push: Envelope): string {
  const { pushStatus: _retryMarker, ...identity } = push;
  return sha256Hex(canonicalJson(identity));
}

type ReadingCore = Pick<Reading, 'kind' | 'time' | 'values' | 'device' | 'context'>;

function readingCore(measured: Measurement, tz: string): ReadingCore {
  switch (measured.dataTypeKey) {
    case 'dWeight': {
      const { data } = measured;
      // impedance and heart rate are extras of a weigh-in: only the weight decides resultText
      const weight = measuredValues({ weight: { measured: data.weight, unit: 'kg' } });
      return {
        kind: 'weight',
        time: isoInZone(data.measureEpochMilli, tz),
        values: {
          ...weight.values,
          ...positiveQuantity('impedance', data.resistance50k, 'Ohm'),
          ...positiveQuantity('heartRate', data.heartRate, '/min'),
        },
        device: present({ id: data.deviceId ?? measured.deviceId, sn: data.sn, mac: data.mac }),
        context: contextOf(undefined, weight.context),
      };
    }
    case 'BP':
    case 'uBp': {
      const { data } = measured;
      const { values, context } = measuredValues({
        systolic: { measured: data.sys, unit: 'mm[Hg]' },
        diastolic: { measured: data.dia, unit: 'mm[Hg]' },
        // a monitor that sends no pulse (missing or null) measured none: not an unreadable value
        pulse: { measured: data.pul ?? undefined, unit: '/min' },
      });
      return {
        kind: 'blood_pressure',
        time: isoInZone(data.measurementDate, tz),
        values,
        context: contextOf(present({ irregularHeartbeat: data.ihb, movementError: data.movementError }), context),
      };
    }
    case 'BS':
    case 'uBs': {
      const { data } = measured;
      const code = data.mealPeriod ?? undefined;
      const { values, context } = measuredValues({ glucose: { measured: data.glu, unit: 'mmol/L' } });
      return {
        kind: 'glucose',
        time: isoInZone(data.measurementDate, tz),
        values,
        context: contextOf(
          present<string | number>({
            specimen: 'capillary',
            // an unknown code keeps its number, so a new period is not lost
            mealPeriod: code === undefined ? undefined : MEAL_PERIODS.get(code),
            mealPeriodCode: code,
          }),
          context,
        ),
      };
    }
  }
}

function normalize(body: LezhiBody, context: NormalizeContext): PushItem[] {
  const { push } = body;
  const subject: Subject | undefined = present({ userId: push.userId, associatedId: push.associatedId });
  if (push.eventKey === 'eventPush') {
    // A change notice after which the customer pulls the data: never deduplicated (docs/nodes/lezhi-in.md), as a
    // repeated one costs one extra pull and a dropped one loses a change.
    return [eventItem({ vendor: 'lezhi', event: push.dataTypeKey, ...(subject && { subject }), data: push.data })];
  }
  const key = dedupKeyOf(push);
  if (!body.measurement) {
    const data = { dataTypeKey: push.dataTypeKey, data: push.data };
    return [eventItem({ vendor: 'lezhi', event: 'unrecognized', ...(subject && { subject }), data }, key)];
  }
  const core = readingCore(body.measurement, context.tz);
  const reading: Reading = {
    id: `lezhi:${key.slice(0, 32)}`,
    vendor: 'lezhi',
    kind: core.kind,
    time: core.time,
    values: core.values,
    retry: push.pushStatus === 2,
    receivedAt: context.receivedAt,
  };
  if (core.device) reading.device = core.device;
  if (subject) reading.subject = subject;
  if (core.context) reading.context = core.context;
  return [readingItem(reading, key)];
}

export const lezhiProtocol: PushProtocol<LezhiBody> = {
  vendor: 'lezhi',
  schema: lezhiBody,
  normalize,
  acceptedBody: { code: 200 },
  rejectedBody: (status, reason) => ({ code: status, message: reason }),
};
