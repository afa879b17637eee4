import { buildCgmPush, CGM_INTERVAL_MINUTES, type CgmPatient } from '../sinocare-pushes';
import { random, type VendorTraffic } from './script';

/** A sample CGM patient. Invented: the name and numbers belong to nobody. */
export const SAMPLE_CGM_PATIENT: CgmPatient = {
  deviceSn: 'SN3C26S0001',
  patientId: 'P0000001',
  visitId: 'ZY2026110001',
  inSerialId: 'IN2026110001',
  patientName: '王小明',
  idCard: '110101199001010011',
  customerName: '示例医院',
};

/** Warm-up readings before a new Sinocare sensor uploads valid values. */
const CGM_WARM_UP_READINGS = 3;
/**
 * Every n-th CGM value is over the sensor's range: the cloud sends "HI", which is not a number but
 * still a reading (docs/messages.md#values-a-device-could-not-measure): the receiver emits it flagged high, with no value.
 */
const CGM_OUT_OF_RANGE_EVERY = 15;

export const traffic: VendorTraffic = {
  script() {
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
  },
  // "0-调用成功": anything else is pushed again.
  isSuccess: (body) => body?.code === 0,
};
