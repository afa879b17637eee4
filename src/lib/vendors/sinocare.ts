import { z } from 'zod';
import { contextNumber, looseString } from '../loose';
import { measuredValue, measuredValues } from '../measured';
import { eventItem, present, readingItem, type NormalizeContext, type PushItem, type Reading } from '../reading';
import type { PushProtocol } from '../receiver/protocol';
import { isoInZone, parseWallClock, wallClockToEpoch } from '../time';
import { forwardIssues } from '../zod-helpers';

/**
 * Sinocare (三诺) IoT cloud CGM push: `{reservedCode, data}`, where `reservedCode "01"` carries one
 * sensor glucose value (docs/nodes/sinocare-in.md). Hospital deployments put the patient's identity in the same
 * object, so those fields go to `subject` and nowhere else.
 */

const CGM_READING = '01';

const SENSOR_STATES = new Map<string, string>([
  ['0', 'waiting'],
  ['1', 'initializing'],
  ['2', 'uploading'],
  ['4', 'finished'],
]);

/** `status`: "1" marks values produced while the sensor initializes. */
const VALIDITY = new Map<string, boolean>([
  ['0', true],
  ['1', false],
]);

/** "yyyy-MM-dd HH:mm:ss" without a zone; the receiver's `tz` places it in time. */
const wallClockText = z.string().transform((text, ctx) => {
  const wall = parseWallClock(text);
  if (!wall) {
    ctx.addIssue({ code: 'custom', message: 'expected yyyy-MM-dd HH:mm:ss' });
    return z.NEVER;
  }
  return wall;
});

const cgmData = z.looseObject({
  testId: looseString.pipe(z.string().min(1)),
  deviceSn: looseString.nullish(),
  // the document gives no unit; CGM values arrive in mmol/L. A sensor beyond its range sends
  // "HI", "LO", ">22.2" or nothing: still a reading (docs/messages.md#values-a-device-could-not-measure), never a refusal the cloud re-pushes.
  testResult: measuredValue,
  serialNo: contextNumber,
  testTime: wallClockText,
  increMinute: contextNumber,
  cgmDay: contextNumber,
  status: looseString.nullish(),
  cgmStatus: looseString.nullish(),
  low: contextNumber,
  high: contextNumber,
  patientId: looseString.nullish(),
  visitId: looseString.nullish(),
  inSerialId: looseString.nullish(),
  patientName: looseString.nullish(),
  idCard: looseString.nullish(),
  customerName: looseString.nullish(),
});
type CgmData = z.infer<typeof cgmData>;

const cgmPush = z.object({ reservedCode: z.literal(CGM_READING), data: cgmData });

/**
 * The command, two digits as the document writes it ("01"); a cloud that sends it as a JSON number
 * (1) means the same command: a number is written back with its leading zero.
 */
const reservedCode = z.union([z.string(), z.number().int().nonnegative().transform((code) => String(code).padStart(2, '0')), looseString]);

const envelope = z.looseObject({ reservedCode, data: z.looseObject({}) });

/**
 * Only a CGM push has to match the CGM data schema; any other command is passed on as it came.
 * The CGM schema reads the whole envelope so its issues carry paths from the body root.
 */
const sinocareBody = envelope.transform((push, ctx) => {
  if (push.reservedCode !== CGM_READING) return { push };
  const parsed = cgmPush.safeParse(push);
  if (!parsed.success) return forwardIssues(ctx, parsed.error);
  return { push, cgm: parsed.data.data };
});
type SinocareBody = z.infer<typeof sinocareBody>;

function glucoseReading(data: CgmData, context: NormalizeContext): Reading {
  const measured = measuredValues({ glucose: { measured: data.testResult, unit: 'mmol/L' } });
  const reading: Reading = {
    id: `sinocare:${data.testId}`,
    vendor: 'sinocare',
    kind: 'glucose',
    time: isoInZone(wallClockToEpoch(data.testTime, context.tz), context.tz),
    values: measured.values,
    context: {
      ...present<string | number | boolean>({
        specimen: 'interstitial',
        serialNo: data.serialNo,
        intervalMinutes: data.increMinute,
        // the document marks only invalid values; an undocumented status is left out, not guessed
        valid: VALIDITY.get(data.status || '0'),
        sensorState: SENSOR_STATES.get(data.cgmStatus ?? ''),
        sensorDays: data.cgmDay,
        lowThreshold: data.low,
        highThreshold: data.high,
      }),
      // after present(): an empty testResult is kept as the text the sensor sent
      ...measured.context,
    },
    retry: false,
    receivedAt: context.receivedAt,
  };
  const device = present({ sn: data.deviceSn });
  if (device) reading.device = device;
  const subject = present({
    patientId: data.patientId,
    visitId: data.visitId,
    inSerialId: data.inSerialId,
    name: data.patientName,
    idCard: data.idCard,
    organization: data.customerName,
  });
  if (subject) reading.subject = subject;
  return reading;
}

function normalize(body: SinocareBody, context: NormalizeContext): PushItem[] {
  if (!body.cgm) {
    return [eventItem({ vendor: 'sinocare', event: 'unrecognized', data: body.push.data })];
  }
  return [readingItem(glucoseReading(body.cgm, context), body.cgm.testId)];
}

export const sinocareProtocol: PushProtocol<SinocareBody> = {
  vendor: 'sinocare',
  schema: sinocareBody,
  normalize,
  acceptedBody: { code: 0, msg: '' },
  rejectedBody: (status, reason) => ({ code: status, msg: reason }),
};
