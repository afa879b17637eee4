/**
 * HL7 v2 date/time (DTM / TS.1): `YYYYMMDDHHMMSS[.S…]±ZZZZ`. A reading's ISO 8601 time keeps its
 * own offset (the wall clock where it was measured); "now" is written in UTC.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,4})?\d*)?(Z|[+-]\d{2}:?\d{2})$/;

export function hl7Time(iso: string): string {
  const match = ISO.exec(iso);
  if (match) {
    const [, y, mo, d, h, mi, s = '00', fraction = '', zone] = match as unknown as string[];
    const offset = zone === 'Z' ? '+0000' : (zone as string).replace(':', '');
    return `${y}${mo}${d}${h}${mi}${s}${fraction}${offset}`;
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`not a time: ${JSON.stringify(iso)}`);
  return utcTime(date);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function utcTime(date: Date): string {
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}` +
    `.${pad(date.getUTCMilliseconds(), 3)}+0000`
  );
}
