/**
 * Vendors send zone-less wall-clock times ("2021-11-02 12:33:33", "2017-02-13T12-00-00-000") or
 * epoch milliseconds. Readings carry ISO 8601 with the offset of the configured IANA zone, so a
 * sink sees both the instant and the local time the patient saw.
 */

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function offsetFormatter(tz: string): Intl.DateTimeFormat {
  let formatter = offsetFormatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    offsetFormatters.set(tz, formatter);
  }
  return formatter;
}

/** True when `tz` is an IANA zone this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    offsetFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Offset of `tz` from UTC at the instant `epochMs`, in minutes, asked of Intl (slow: ~µs). */
function exactOffsetMinutes(epochMs: number, tz: string): number {
  const part = offsetFormatter(tz)
    .formatToParts(new Date(epochMs))
    .find((p) => p.type === 'timeZoneName')?.value;
  // "GMT+08:00", "GMT-03:30", or plain "GMT" for UTC itself
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(part ?? '');
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

const QUARTER_HOUR_MS = 15 * 60_000;
/** Per zone, per quarter hour: the offset, or null when it changes inside that quarter hour. */
const offsetsByQuarterHour = new Map<string, Map<number, number | null>>();
/** Quarter hours remembered per zone (a month and a half); then the cache starts over. */
const OFFSET_CACHE_LIMIT = 4096;

/**
 * Offset of `tz` from UTC at `epochMs`, in minutes. Cached per quarter hour because Intl costs
 * more than the rest of a reading together (a history read converts a timestamp per point); a
 * quarter hour whose two ends disagree holds a change, and its instants are asked exactly.
 */
function offsetMinutes(epochMs: number, tz: string): number {
  const quarter = Math.floor(epochMs / QUARTER_HOUR_MS);
  let zone = offsetsByQuarterHour.get(tz);
  if (!zone) {
    zone = new Map();
    offsetsByQuarterHour.set(tz, zone);
  }
  let offset = zone.get(quarter);
  if (offset === undefined) {
    const atStart = exactOffsetMinutes(quarter * QUARTER_HOUR_MS, tz);
    const atEnd = exactOffsetMinutes((quarter + 1) * QUARTER_HOUR_MS - 1, tz);
    offset = atStart === atEnd ? atStart : null;
    if (zone.size >= OFFSET_CACHE_LIMIT) zone.clear();
    zone.set(quarter, offset);
  }
  return offset ?? exactOffsetMinutes(epochMs, tz);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** ISO 8601 of an instant, written in the local time of `tz` with its offset. */
export function isoInZone(epochMs: number, tz: string): string {
  const offset = offsetMinutes(epochMs, tz);
  const local = new Date(epochMs + offset * 60_000);
  const ms = local.getUTCMilliseconds();
  return (
    `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    (ms ? `.${pad(ms, 3)}` : '') +
    formatOffset(offset)
  );
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond?: number;
}

/** The instant at which the clocks in `tz` showed `wall` (the earlier one in a DST overlap). */
export function wallClockToEpoch(wall: WallClock, tz: string): number {
  const asUtc = Date.UTC(
    wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond ?? 0,
  );
  // The offset at the guessed instant can differ from the offset at the true instant near a DST
  // change, so correct once with the offset found at the first estimate.
  const first = asUtc - offsetMinutes(asUtc, tz) * 60_000;
  return asUtc - offsetMinutes(first, tz) * 60_000;
}

/**
 * Parses a zone-less "yyyy-MM-dd HH:mm:ss" (also with `T`, and Expeed's
 * "2017-02-13T12-00-00-000") as wall-clock time in `tz`; undefined when it is neither.
 */
export function parseWallClock(text: string): WallClock | undefined {
  const match =
    /^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2})[:-](\d{2})[:-](\d{2})(?:[.:-](\d{1,3}))?\s*$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  const wall: WallClock = {
    year, month, day, hour, minute, second,
    millisecond: match[7] ? Number(match[7].padEnd(3, '0')) : 0,
  };
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  return wall;
}
