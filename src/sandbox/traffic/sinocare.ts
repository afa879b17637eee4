import { buildCgmPush, CGM_INTERVAL_MINUTES, type CgmPatient } from '../sinocare-pushes';
import { CGM_STORY } from '../story';
import { random, type VendorTraffic } from './script';

/** A sample CGM patient whose glucose stays in range. Invented: the name and numbers belong to nobody. */
export const SAMPLE_CGM_PATIENT: CgmPatient = {
  deviceSn: 'SN3C26S0001',
  patientId: 'P0000001',
  visitId: 'ZY2026110001',
  inSerialId: 'IN2026110001',
  patientName: '王小明',
  idCard: '110101199001010011',
  customerName: '示例医院',
};

/**
 * A second CGM patient, the one things happen to (story.ts: a "HI", a low episode, a quiet spell).
 * Invented as the first. Her sensor has been on since yesterday (no warm-up) and reads every
 * minute, so that a watch notices her silence within minutes.
 */
export const SECOND_CGM_PATIENT: CgmPatient = {
  deviceSn: 'SN3C26S0002',
  patientId: 'P0000002',
  visitId: 'ZY2026110002',
  inSerialId: 'IN2026110002',
  patientName: '李秀英',
  idCard: '110101195803030028',
  customerName: '示例医院',
  intervalMinutes: 1,
};

/** The CGM patients of the sandbox, in the order their pushes alternate. */
export const SANDBOX_CGM_PATIENTS: readonly CgmPatient[] = [SAMPLE_CGM_PATIENT, SECOND_CGM_PATIENT];

/** Warm-up readings before a new Sinocare sensor uploads valid values. */
const CGM_WARM_UP_READINGS = 3;
/** The second patient's sensor is a day old: its serial numbers go on from there. */
const SECOND_SENSOR_FIRST_SERIAL = 1 + 1440;

const HI_SUMMARY = 'glucose "HI" (over the sensor\'s range: a reading flagged high, without a value)';

/**
 * Sinocare's pushes, alternating between the two patients: even pushes (from 0) are the first
 * patient's, odd ones the second's, except while the second is quiet, when the first has them all.
 * A value over the sensor's range is "HI", which is not a number but still a reading
 * (docs/messages.md#values-a-device-could-not-measure): the receiver emits it flagged high, with no value.
 */
export const traffic: VendorTraffic = {
  script() {
    const next = random(1);
    let push = -1;
    let firstSerial = 0;
    let firstGlucose = 6.2;
    let secondGlucose = 6.8;
    let wasQuiet = false;
    const { hiAtPush, lowEpisode, quietSpell } = CGM_STORY;
    return {
      next(now) {
        push++;
        const quiet = push >= quietSpell.fromPush && push < quietSpell.toPush;
        // the console says when the quiet spell starts and ends (it has no push of its own)
        const spell = quiet && !wasQuiet ? ", and CGM patient 2's phone stops uploading" : '';
        if (quiet) wasQuiet = true;
        // a random walk drawn back towards 6.5 and kept in range: nothing for a watch to report
        const walk = (glucose: number): number => Math.min(9.5, Math.max(4.5, glucose + (next() - 0.5) * 0.8 + (6.5 - glucose) * 0.1));
        if (push % 2 === 0 || quiet) {
          firstSerial++;
          firstGlucose = walk(firstGlucose);
          const warmingUp = firstSerial <= CGM_WARM_UP_READINGS;
          const testResult = firstGlucose.toFixed(1);
          const body = buildCgmPush(SAMPLE_CGM_PATIENT, { serialNo: firstSerial, testResult, measuredAt: now, warmingUp });
          const summary = `glucose ${testResult} mmol/L${warmingUp ? ', sensor warming up' : ''} (CGM patient 1, reading ${firstSerial}, every ${CGM_INTERVAL_MINUTES} min)${spell}`;
          // Sinocare re-pushes the same body.
          return { vendor: 'sinocare', body, retryBody: body, summary, outcome: 'readings', kind: 'glucose', readings: 1 };
        }
        // the second sensor counts its readings through the quiet spell too: those are lost
        const serialNo = SECOND_SENSOR_FIRST_SERIAL + (push - 1) / 2;
        const episode = (push - lowEpisode.fromPush) / 2;
        let testResult: string;
        let summary: string;
        if (push === hiAtPush) {
          testResult = 'HI';
          summary = `${HI_SUMMARY} (CGM patient 2)`;
        } else {
          const value: number | undefined = lowEpisode.values[episode];
          secondGlucose = value ?? walk(secondGlucose);
          testResult = secondGlucose.toFixed(1);
          const note = value === undefined ? '' : value < 3 ? ', urgent low' : value < 3.9 ? ', low' : '';
          summary = `glucose ${testResult} mmol/L${note} (CGM patient 2, reading ${serialNo}, every minute)`;
        }
        if (wasQuiet) summary += ': her phone uploads again after a quiet spell';
        wasQuiet = false;
        const body = buildCgmPush(SECOND_CGM_PATIENT, { serialNo, testResult, measuredAt: now, warmingUp: false });
        return { vendor: 'sinocare', body, retryBody: body, summary, outcome: 'readings', kind: 'glucose', readings: 1 };
      },
    };
  },
  // "0-调用成功": anything else is pushed again.
  isSuccess: (body) => body?.code === 0,
};
