import { chinaWallClock } from './viatom-cloud';

/**
 * Sinocare (三诺) CGM pushes as the "CGM数据推送" document describes them: one `reservedCode "01"`
 * push per sensor reading, every `increMinute` minutes, with the patient's hospital record. The
 * sensor starts in its warm-up (`cgmStatus "1"`, readings flagged `status "1"` = invalid) and then
 * uploads (`cgmStatus "2"`). Written from the document, not from our receiver.
 */

export interface CgmPatient {
  deviceSn: string;
  patientId: string;
  visitId: string;
  inSerialId: string;
  patientName: string;
  idCard: string;
  customerName: string;
  /** Minutes between two readings of the patient's sensor (`increMinute`); CGM_INTERVAL_MINUTES unless said. */
  intervalMinutes?: number;
}

export interface CgmReading {
  /** The n-th reading of the sensor, from 1. */
  serialNo: number;
  /** mmol/L, or the meter's text for an out-of-range value ("HI", "LO"). */
  testResult: string;
  measuredAt: number;
  warmingUp: boolean;
}

/** Minutes between two readings of a Sinocare sensor. */
export const CGM_INTERVAL_MINUTES = 3;

export function buildCgmPush(patient: CgmPatient, reading: CgmReading): Record<string, unknown> {
  const wallClock = chinaWallClock(reading.measuredAt);
  const interval = patient.intervalMinutes ?? CGM_INTERVAL_MINUTES;
  return {
    reservedCode: '01',
    data: {
      // The platform's ids look like yyMMddHHmm + the serial number.
      testId: `${wallClock.slice(2, 16).replace(/\D/g, '')}${String(reading.serialNo).padStart(5, '0')}`,
      deviceSn: patient.deviceSn,
      testResult: reading.testResult,
      serialNo: reading.serialNo,
      testTime: wallClock,
      idCard: patient.idCard,
      visitId: patient.visitId,
      patientName: patient.patientName,
      customerName: patient.customerName,
      patientId: patient.patientId,
      inSerialId: patient.inSerialId,
      status: reading.warmingUp ? '1' : '0',
      cgmDay: 1 + Math.floor(((reading.serialNo - 1) * interval) / 1440),
      increMinute: interval,
      low: 3.9,
      high: 10,
      cgmStatus: reading.warmingUp ? '1' : '2',
    },
  };
}
