import { createHash } from 'node:crypto';
import { isNumericText } from './loose';

/**
 * A vendor that retries a push may reorder keys or switch between 5.6 and "5.60" (Lezhi does
 * both), so a dedup key hashed from the body must not see those differences.
 */

/** Doubles keep 15 significant decimal digits exactly; longer numeric text stays text. */
const EXACT_DIGITS = 15;

function significantDigits(numericText: string): number {
  const mantissa = numericText.trim().replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
}

/**
 * JSON of a parsed JSON value with object keys sorted at every depth, array order kept, and text
 * that reads as a number written as that number ("23341064" as 23341064, "5.60" as 5.6). Numeric
 * text with more significant digits than a double holds stays a string, so two long ids that
 * differ only in their last digits never hash alike.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') {
    const asNumber = isNumericText(value) && significantDigits(value) <= EXACT_DIGITS;
    return JSON.stringify(asNumber ? Number(value) : value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((element) => (element === undefined ? 'null' : canonicalJson(element))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
