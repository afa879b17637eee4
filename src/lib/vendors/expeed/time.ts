import { isoInZone, parseWallClock, wallClockToEpoch, type WallClock } from '../../time';

/**
 * Expeed writes times as zone-less wall clock `2017-02-13T12-00-00-000` (docs/nodes/expeed-in.md). The account's
 * `tz` places them in time; users may give query times as ISO, epoch milliseconds or that form.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function vendorForm(wall: WallClock): string {
  return (
    `${wall.year}-${pad(wall.month)}-${pad(wall.day)}` +
    `T${pad(wall.hour)}-${pad(wall.minute)}-${pad(wall.second)}-${pad(wall.millisecond ?? 0, 3)}`
  );
}

/** The instant `epochMs` as Expeed writes it, in the wall clock of `tz`. */
export function toVendorTime(epochMs: number, tz: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?/.exec(isoInZone(epochMs, tz));
  if (!match) throw new Error(`cannot format ${epochMs}`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return vendorForm({ year, month, day, hour, minute, second, millisecond: Number(match[7] ?? 0) });
}

/** An Expeed timestamp as ISO 8601 with the offset of `tz`; undefined when it is not one. */
export function vendorTimeToIso(text: string, tz: string): string | undefined {
  const wall = parseWallClock(text);
  return wall ? isoInZone(wallClockToEpoch(wall, tz), tz) : undefined;
}

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})\s*$/i;

/**
 * A query time as the vendor wants it: epoch ms (number or numeric text), ISO 8601 with a zone
 * (the instant, written in `tz`), or a zone-less wall clock (ISO without offset, a date alone, or
 * the vendor's own form), which is taken to be `tz`'s wall clock already.
 */
export function queryTime(value: unknown, tz: string): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return toVendorTime(value, tz);
  if (typeof value !== 'string') return undefined;
  if (NUMERIC.test(value)) return toVendorTime(Number(value), tz);
  if (!HAS_ZONE.test(value)) {
    const dateOnly = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(value);
    const wall = dateOnly
      ? { year: Number(dateOnly[1]), month: Number(dateOnly[2]), day: Number(dateOnly[3]), hour: 0, minute: 0, second: 0 }
      : parseWallClock(value);
    return wall ? vendorForm(wall) : undefined;
  }
  const epoch = Date.parse(value);
  return Number.isNaN(epoch) ? undefined : toVendorTime(epoch, tz);
}

/** The calendar day of `epochMs` in `tz` (`yyyy-MM-dd`): the unit of the daily token budget. */
export function dayIn(epochMs: number, tz: string): string {
  return isoInZone(epochMs, tz).slice(0, 10);
}
