import { asRetry, buildBloodPressure, buildGlucose, buildWeighIn, type LezhiScale, type LezhiUser } from '../lezhi-pushes';
import { random, round, type VendorTraffic } from './script';

/** A sample scale and user. Invented: the numbers belong to nobody. */
export const SAMPLE_SCALE: LezhiScale = { deviceId: 'a1f3c2e47b9d', sn: 'LS202B2311000231', mac: 'C8:47:8C:21:5A:3E' };
const SAMPLE_LEZHI_USER: LezhiUser = { userId: 23341064, associatedId: 'sandbox-user-0001' };

export const traffic: VendorTraffic = {
  script() {
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
  },
  // "值200表示成功"
  isSuccess: (body) => body?.code === 200,
};
