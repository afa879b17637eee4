import { z } from 'zod';

/**
 * Vendors send numbers as strings and strings as numbers (Lezhi does both, docs/nodes/lezhi-in.md). These schemas
 * accept either and hand the normalizer one type.
 */

const NUMERIC_TEXT = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A number, or a string holding one ("5.6", " 12 "). */
export const looseNumber = z.union([
  z.number().finite(),
  z.string().regex(NUMERIC_TEXT, 'expected a number').transform(Number),
]);

/** A string, or a number written as one (ids the vendor sometimes sends unquoted). */
export const looseString = z.union([z.string(), z.number().finite().transform(String)]);

/** True for text that reads as a number. */
export function isNumericText(text: string): boolean {
  return NUMERIC_TEXT.test(text);
}

/**
 * A number that only adds context (a serial number, a threshold, a meal code): read when it is
 * one, left out otherwise. A push is never refused because of such a field (docs/messages.md); `msg.raw`
 * still holds what the vendor sent.
 */
export const contextNumber = z
  .unknown()
  .transform((value): number | undefined => {
    if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
    return typeof value === 'string' && NUMERIC_TEXT.test(value) ? Number(value) : undefined;
  })
  .optional();
