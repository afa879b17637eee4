import { buildCgmPush, CGM_INTERVAL_MINUTES, type CgmPatient } from './sinocare-pushes';
import { asRetry, buildBloodPressure, buildGlucose, buildWeighIn, type LezhiScale, type LezhiUser } from './lezhi-pushes';
import { buildAuthorizationPush, buildMeasurementPush, type ViatomDataType } from './viatom-cloud';

/**
 * What the four clouds push in a day, compressed: one script per vendor decides what its next
 * push is (a CGM sensor warming up then uploading, a morning weigh-in, blood pressure with an
 * occasional irregular heartbeat, a Viatom user authorizing then measuring, Expeed devices going
 * online and sending data). The scripts are deterministic, so a test knows what should arrive.
 */

export type SandboxVendor = 'sinocare' | 'lezhi' | 'viatom' | 'expeed';
export const SANDBOX_VENDORS: readonly SandboxVendor[] = ['sinocare', 'lezhi', 'viatom', 'expeed'];

export interface PlannedPush {
  vendor: SandboxVendor;
  body: unknown;
  /** The body the vendor sends when it pushes this again (a retry, an exact duplicate). */
  retryBody: unknown;
  /** One line for the console, with no personal data: "glucose 6.4 mmol/L, sensor warming up". */
  summary: string;
  /** What a receiver does with it: emits readings or an event. */
  outcome: 'readings' | 'event';
  /** The reading kind or the event name. */
  kind: string;
  /** Readings in the push (an Expeed data push carries several). */
  readings: number;
}

export interface VendorScript {
  next(now: number): PlannedPush;
}

/** A small deterministic generator (mulberry32), so every run of the sandbox is the same story. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** Sample people and devices. Invented: the names and numbers belong to nobody. */
export const SAMPLE_CGM_PATIENT: CgmPatient = {
  deviceSn: 'SN3C26S0001',
  patientId: 'P0000001',
  visitId: 'ZY2026110001',
  inSerialId: 'IN2026110001',
  patientName: '王小明',
  idCard: '110101199001010011',
  customerName: '示例医院',
};
const SAMPLE_SCALE: LezhiScale = { deviceId: 'a1f3c2e47b9d', sn: 'LS202B2311000231', mac: 'C8:47:8C:21:5A:3E' };
const SAMPLE_LEZHI_USER: LezhiUser = { userId: 23341064, associatedId: 'sandbox-user-0001' };
/** The phone a sample Viatom user authorizes with (a reserved test range). */
export const SAMPLE_VIATOM_PHONE = '13800138000';

/** Warm-up readings before a new Sinocare sensor uploads valid values. */
const CGM_WARM_UP_READINGS = 3;
/**
 * Every n-th CGM value is over the sensor's range: the cloud sends "HI", which is not a number but
 * still a reading (SPEC §3): the receiver emits it flagged high, with no value.
 */
const CGM_OUT_OF_RANGE_EVERY = 15;

export function sinocareScript(): VendorScript {
  const next = random(1);
  let serialNo = 0;
  let glucose = 6.2;
  return {
    next(now) {
      serialNo++;
      glucose = Math.min(14, Math.max(3.4, glucose + (next() - 0.5) * 0.8));
      const warmingUp = serialNo <= CGM_WARM_UP_READINGS;
      const outOfRange = serialNo % CGM_OUT_OF_RANGE_EVERY === 0;
      const testResult = outOfRange ? 'HI' : glucose.toFixed(1);
      const body = buildCgmPush(SAMPLE_CGM_PATIENT, { serialNo, testResult, measuredAt: now, warmingUp });
      const summary = outOfRange
        ? 'glucose "HI" (over the sensor\'s range: a reading flagged high, without a value)'
        : `glucose ${testResult} mmol/L${warmingUp ? ', sensor warming up' : ''} (reading ${serialNo}, every ${CGM_INTERVAL_MINUTES} min)`;
      // Sinocare re-pushes the same body.
      return { vendor: 'sinocare', body, retryBody: body, summary, outcome: 'readings', kind: 'glucose', readings: 1 };
    },
  };
}

export function lezhiScript(): VendorScript {
  const next = random(2);
  let turn = 0;
  return {
    next(now) {
      const step = turn++ % 4;
      let body: Record<string, unknown>;
      let summary: string;
      let kind: string;
      if (step === 0) {
        const weight = round(68 + (next() - 0.5) * 1.2, 2);
        body = buildWeighIn(SAMPLE_SCALE, now, weight, round(480 + next() * 20, 1), 70 + Math.round(next() * 10));
        summary = `morning weigh-in ${weight} kg with impedance`;
        kind = 'weight';
      } else if (step === 2) {
        const glu = round(5 + next() * 3, 1);
        body = buildGlucose(SAMPLE_LEZHI_USER, now, glu, 3);
        summary = `finger-stick glucose ${glu} mmol/L after lunch`;
        kind = 'glucose';
      } else {
        // One blood pressure reading in three shows an irregular heartbeat.
        const irregularHeartbeat = turn % 3 === 0;
        const sys = 118 + Math.round(next() * 25);
        const dia = 74 + Math.round(next() * 12);
        const pul = 64 + Math.round(next() * 20);
        body = buildBloodPressure(SAMPLE_LEZHI_USER, now, { sys, dia, pul, irregularHeartbeat });
        summary = `blood pressure ${sys}/${dia} mmHg, pulse ${pul}${irregularHeartbeat ? ', irregular heartbeat' : ''}`;
        kind = 'blood_pressure';
      }
      // Lezhi retries with pushStatus 2.
      return { vendor: 'lezhi', body, retryBody: asRetry(body), summary, outcome: 'readings', kind, readings: 1 };
    },
  };
}

const VIATOM_ROTATION: ReadonlyArray<{ dataType: ViatomDataType; kind: string; describe(result: any): string }> = [
  { dataType: 2, kind: 'spo2', describe: (r) => `SpO2 ${r.spo2.value} %, pulse ${r.pr.value} /min` },
  { dataType: 5, kind: 'ecg', describe: (r) => `ECG of ${r.duration} s, heart rate ${r.hr?.value} /min` },
  { dataType: 2, kind: 'spo2', describe: (r) => `SpO2 ${r.spo2.value} %, pulse ${r.pr.value} /min` },
  { dataType: 3, kind: 'blood_pressure', describe: (r) => `blood pressure ${r.sbp?.value}/${r.dia?.value} mmHg` },
];

export function viatomScript(): VendorScript {
  let turn = 0;
  return {
    next(now) {
      if (turn++ === 0) {
        const body = buildAuthorizationPush(SAMPLE_VIATOM_PHONE, false, { at: now });
        return { vendor: 'viatom', body, retryBody: body, summary: 'a user authorizes this integrator', outcome: 'event', kind: 'authorized', readings: 0 };
      }
      const { dataType, kind, describe } = VIATOM_ROTATION[(turn - 2) % VIATOM_ROTATION.length]!;
      const body = buildMeasurementPush(dataType, { seq: turn, measureTime: now });
      const result = body.data.measure_result as Record<string, any>;
      // Viatom re-pushes the same record (same data_tag).
      return { vendor: 'viatom', body, retryBody: body, summary: describe(result), outcome: 'readings', kind, readings: 1 };
    },
  };
}

export interface SandboxDevice {
  id: string;
  key: string;
  sn: string;
}

/** The platform's wall-clock timestamps: 2017-02-13T12-00-00-000 in UTC+8. */
function expeedTimestamp(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 23).replace(/[:.]/g, '-');
}

/** Pushes of the Expeed access document, 2.1.1 (online 0 / offline 1) and 2.1.2 (data). */
export function expeedScript(devices: readonly SandboxDevice[]): VendorScript {
  const next = random(4);
  let turn = 0;
  return {
    next(now) {
      const device = devices[turn % devices.length]!;
      const step = turn++;
      const status = (online: boolean): PlannedPush => {
        const body = { msg_type: '1', device_id: device.id, device_key: device.key, device_sn: device.sn, device_status: online ? 0 : 1 };
        return { vendor: 'expeed', body, retryBody: body, summary: `device ${device.id} ${online ? 'online' : 'offline'}`, outcome: 'event', kind: online ? 'online' : 'offline', readings: 0 };
      };
      // Each device comes online first; every tenth turn one drops off, and comes back the turn after.
      if (step < devices.length) return status(true);
      if (step >= 10 && step % 10 === 0) return status(false);
      if (step >= 10 && step % 10 === devices.length) return status(true);
      const points = 1 + (step % 3);
      const data = Array.from({ length: points }, (_, i) => ({
        timestamp: expeedTimestamp(now - (points - 1 - i) * 60_000),
        temp: round(21 + next() * 4, 1),
        humidity: Math.round(40 + next() * 20),
      }));
      const body = { device_id: device.id, device_key: device.key, msg_type: '2', data };
      return { vendor: 'expeed', body, retryBody: body, summary: `device ${device.id}: ${points} data point(s), temp ${data.at(-1)!.temp}`, outcome: 'readings', kind: 'datapoint', readings: points };
    },
  };
}
