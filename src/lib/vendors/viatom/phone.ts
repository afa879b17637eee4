/**
 * The phone number a Viatom user is known by: what the cancel API takes, and what may be shown of
 * it (it is personal data).
 */

export type PhoneCheck = { ok: true; phone: string } | { ok: false; problem: 'phone-missing' | 'phone-malformed' };

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
/** E.164: `+`, a country code (never 0) and the number, 6 to 15 digits in all. */
const INTERNATIONAL = /^\+[1-9]\d{5,14}$/;

/**
 * The phone number a Viatom user is known by, as sent to the cancel API:
 * - a mainland China mobile number, 11 digits 13x–19x, sent as those 11 digits (the document's
 *   `153xxxxxxxx`); a +86 / 86 / 0086 prefix is removed;
 * - any other number in international form (E.164: `+` and 6–15 digits), sent as `+<digits>`.
 * Spaces and dashes between the digits are removed. Anything else is malformed.
 */
export function normalizePhone(input: unknown): PhoneCheck {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    return { ok: false, problem: 'phone-missing' };
  }
  if (typeof input !== 'string' && typeof input !== 'number') return { ok: false, problem: 'phone-malformed' };
  let digits = String(input).trim().replace(/[\s-]/g, '');
  const prefixed = /^(?:\+86|0086|86)(\d{11})$/.exec(digits);
  if (prefixed && MAINLAND_MOBILE.test(prefixed[1] as string)) digits = prefixed[1] as string;
  if (MAINLAND_MOBILE.test(digits) || INTERNATIONAL.test(digits)) return { ok: true, phone: digits };
  return { ok: false, problem: 'phone-malformed' };
}

/** `153****5678`: what may be shown of a phone number (it is personal data). */
export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '*'.repeat(phone.length);
}

