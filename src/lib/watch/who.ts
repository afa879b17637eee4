import type { Reading } from '../reading';

/**
 * Whom an episode is about, and which device a silence is about, as short keys. A value rule's
 * episode belongs to the patient (the reading's subject; a shared cuff measures several), a
 * silence to the device that stopped (its `sn`; a reading without one is watched by its subject).
 * Keys carry the vendor: two clouds may number their devices alike. They hold identifiers, so they
 * live in memory and in the sealed state file only.
 */

const SEPARATOR = '\u0001';

/** Object keys sorted, so that the same subject gives the same key whatever order its fields came in. */
function stableText(record: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!record) return undefined;
  const keys = Object.keys(record).filter((key) => record[key] !== undefined && record[key] !== null && record[key] !== '').sort();
  if (keys.length === 0) return undefined;
  if (keys.length === 1) return `${keys[0]}=${String(record[keys[0]!])}`;
  return keys.map((key) => `${key}=${String(record[key])}`).join(SEPARATOR);
}

/** The patient an episode of a value rule is kept for: the subject, else the device, else the vendor alone. */
export function episodeOwner(reading: Pick<Reading, 'vendor' | 'subject' | 'device'>): string {
  const who = stableText(reading.subject) ?? deviceText(reading.device) ?? '';
  return reading.vendor + SEPARATOR + who;
}

/** The device whose silence is watched: `device.sn`, else the subject, else the rest of the device; none without any. */
export function silenceOwner(reading: Pick<Reading, 'vendor' | 'subject' | 'device'>): string | undefined {
  const sn = reading.device?.sn;
  const who = sn !== undefined && sn !== '' ? `sn=${String(sn)}` : stableText(reading.subject) ?? deviceText(reading.device);
  return who === undefined ? undefined : reading.vendor + SEPARATOR + who;
}

function deviceText(device: Reading['device']): string | undefined {
  return stableText(device);
}
