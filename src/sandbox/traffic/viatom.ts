import type { VendorTraffic } from './script';
import { buildAuthorizationPush, buildMeasurementPush, memberIdOfPhone, type ViatomDataType } from '../viatom-cloud';

/** The phone a sample Viatom user authorizes with (a reserved test range). */
export const SAMPLE_VIATOM_PHONE = '13800138000';

const VIATOM_ROTATION: ReadonlyArray<{ dataType: ViatomDataType; kind: string; describe(result: any): string }> = [
  { dataType: 2, kind: 'spo2', describe: (r) => `SpO2 ${r.spo2.value} %, pulse ${r.pr.value} /min` },
  { dataType: 5, kind: 'ecg', describe: (r) => `ECG of ${r.duration} s, heart rate ${r.hr?.value} /min` },
  { dataType: 2, kind: 'spo2', describe: (r) => `SpO2 ${r.spo2.value} %, pulse ${r.pr.value} /min` },
  { dataType: 3, kind: 'blood_pressure', describe: (r) => `blood pressure ${r.sbp?.value}/${r.dia?.value} mmHg` },
];

// Viatom documents no answer to its pushes: any 2xx is success (no isSuccess).
export const traffic: VendorTraffic = {
  script() {
    let turn = 0;
    return {
      next(now) {
        if (turn++ === 0) {
          const body = buildAuthorizationPush(SAMPLE_VIATOM_PHONE, false, { at: now });
          return { vendor: 'viatom', body, retryBody: body, summary: 'a user authorizes this integrator', outcome: 'event', kind: 'authorized', readings: 0 };
        }
        const { dataType, kind, describe } = VIATOM_ROTATION[(turn - 2) % VIATOM_ROTATION.length]!;
        // measured by the member who authorized above, so a health-patient table that names the
        // phone files them under that patient
        const body = buildMeasurementPush(dataType, { seq: turn, measureTime: now, memberId: memberIdOfPhone(SAMPLE_VIATOM_PHONE) });
        const result = body.data.measure_result as Record<string, any>;
        // Viatom re-pushes the same record (same data_tag).
        return { vendor: 'viatom', body, retryBody: body, summary: describe(result), outcome: 'readings', kind, readings: 1 };
      },
    };
  },
};
