import { z } from 'zod';
import { isNumericText } from './loose';
import type { Quantity } from './reading';

/**
 * A measured value as a device reports it: a number, or the text a meter shows when it cannot
 * measure (`HI`, `LO`, `>22.2`, an empty string). Such a push is still a reading (docs/messages.md), the
 * number is left out of `values`, `context.resultText` keeps the text and `context.outOfRange`
 * says `high` or `low` where the text does. The vendors re-push every refusal, and a value beyond
 * the meter's range is the most urgent one, so none of this is ever a reason to refuse a push.
 */

export type OutOfRange = 'high' | 'low';

export type Measured = { value: number } | { text: string; outOfRange?: OutOfRange };

const HIGH = /^(hi|h|high|>.*|＞.*|≥.*|>=.*)$/i;
const LOW = /^(lo|l|low|<.*|＜.*|≤.*|<=.*)$/i;

/** `high` or `low` where a device's text says the value is beyond its range. */
export function outOfRangeOf(text: string): OutOfRange | undefined {
  const trimmed = text.trim();
  if (HIGH.test(trimmed)) return 'high';
  if (LOW.test(trimmed)) return 'low';
  return undefined;
}

/** Reads what a device sent for a value: a finite number or numeric text, else its text. */
export function toMeasured(sent: number | string | null): Measured {
  if (typeof sent === 'number') return Number.isFinite(sent) ? { value: sent } : { text: String(sent) };
  if (sent === null) return { text: '' };
  if (isNumericText(sent)) return { value: Number(sent) };
  const outOfRange = outOfRangeOf(sent);
  return outOfRange ? { text: sent, outOfRange } : { text: sent };
}

/** A value field that may hold a number, numeric text, a meter's text or null. */
export const measuredValue = z.union([z.number(), z.string(), z.null()]).transform(toMeasured);

/**
 * The `values` of a reading and the context entries its unreadable values add. `unit` is the
 * UCUM unit of each name. With several unreadable values, `resultText` and `outOfRange` describe
 * the first one and `unmeasured` names every one (a blood pressure of `HI`/`HI`).
 */
export function measuredValues(
  entries: Record<string, { measured: Measured | undefined; unit: string }>,
): { values: Record<string, Quantity>; context: MeasuredContext } {
  const values: Record<string, Quantity> = {};
  const unmeasured: string[] = [];
  let first: Extract<Measured, { text: string }> | undefined;
  for (const [name, { measured, unit }] of Object.entries(entries)) {
    if (!measured) continue;
    if ('value' in measured) {
      values[name] = { value: measured.value, unit };
      continue;
    }
    first ??= measured;
    unmeasured.push(name);
  }
  if (!first) return { values, context: {} };
  const context: MeasuredContext = { resultText: first.text };
  if (first.outOfRange) context.outOfRange = first.outOfRange;
  if (Object.keys(entries).length > 1) context.unmeasured = unmeasured;
  return { values, context };
}

export interface MeasuredContext {
  resultText?: string;
  outOfRange?: OutOfRange;
  /** Only for readings of several values: which of them the device could not measure. */
  unmeasured?: string[];
}
