/**
 * Lezhi (乐智云, Lifesense) data pushes as the vendor's datapush pages describe them: the envelope
 * `{userId, associatedId, eventKey, dataTypeKey, pushStatus, data}`, `pushStatus 2` on a retry.
 * A scale pushes as a device (`deviceId` instead of the user fields). Written from the vendor
 * documents, not from our receiver.
 */

export interface LezhiUser {
  userId: number;
  associatedId: string;
}

export interface LezhiScale {
  deviceId: string;
  sn: string;
  mac: string;
}

type Push = Record<string, unknown>;

export function buildWeighIn(scale: LezhiScale, measuredAt: number, weightKg: number, resistance: number, heartRate: number): Push {
  return {
    deviceId: scale.deviceId,
    eventKey: 'dataPush',
    dataTypeKey: 'dWeight',
    pushStatus: 1,
    data: { ...scale, measureEpochMilli: measuredAt, weight: weightKg, resistance50k: resistance, heartRate, timeZone: 'GMT+08:00' },
  };
}

export function buildBloodPressure(
  user: LezhiUser,
  measuredAt: number,
  values: { sys: number; dia: number; pul: number; irregularHeartbeat: boolean },
): Push {
  return {
    ...user,
    dataTypeKey: 'BP',
    eventKey: 'dataPush',
    pushStatus: 1,
    data: { measurementDate: measuredAt, sys: values.sys, dia: values.dia, pul: values.pul, ihb: values.irregularHeartbeat ? 1 : 0, movementError: 0 },
  };
}

/** `mealPeriod` as the BS page numbers it (0 fasting, 1 after breakfast, …). */
export function buildGlucose(user: LezhiUser, measuredAt: number, glu: number, mealPeriod: number): Push {
  return { ...user, dataTypeKey: 'BS', eventKey: 'dataPush', pushStatus: 1, data: { measurementDate: measuredAt, glu, mealPeriod } };
}

/** The vendor's retry of a push: the same body with `pushStatus 2`. */
export function asRetry(push: Push): Push {
  return { ...push, pushStatus: 2 };
}
