import { createHmac } from 'node:crypto';

/**
 * The `pii` policy of a receiver (docs/receivers.md#personal-data-pii), applied to everything a push puts in front of the
 * flow that can name a patient: `payload.subject`, event `payload.data` and `msg.raw`.
 */
export const PII_MODES = ['keep', 'mask', 'pseudonymize', 'drop'] as const;
export type PiiMode = (typeof PII_MODES)[number];

/** Fields that name or reach a person, wherever they appear in a body (`mobile`: Viatom's user_info). */
const PERSONAL_FIELDS = new Set(['name', 'patientName', 'idCard', 'phone', 'mobile']);
/** Fields that identify a person inside a vendor or hospital system. */
const IDENTIFIER_FIELDS = new Set([
  'patientId', 'visitId', 'inSerialId', 'userId', 'associatedId', 'account_id', 'member_id',
]);

const stars = (length: number): string => '*'.repeat(length);

/** Keeps the shape a person recognizes (ID card and phone ends, a surname), hides the rest. */
export function maskPersonalValue(field: string, value: unknown): string {
  const chars = Array.from(typeof value === 'string' ? value : JSON.stringify(value) ?? '');
  const keep = (head: number, tail: number): string =>
    chars.slice(0, head).join('') + stars(chars.length - head - tail) + chars.slice(chars.length - tail).join('');
  if (field === 'idCard' && (chars.length === 18 || chars.length === 15)) return keep(6, 4);
  if ((field === 'phone' || field === 'mobile') && chars.length === 11) return keep(3, 4);
  if ((field === 'name' || field === 'patientName') && chars.length >= 2) return keep(1, 0);
  return stars(chars.length);
}

export type PiiTransform = <T>(value: T) => T;

/**
 * Builds the transform for one mode. It returns new objects and never changes its input, so the
 * receiver can still compute dedup keys from the body exactly as the vendor sent it.
 */
export function piiTransform(mode: PiiMode, pseudonymKey?: string): PiiTransform {
  if (mode === 'keep') return (value) => value;
  if (mode === 'pseudonymize' && !pseudonymKey) {
    throw new Error('pii mode pseudonymize needs a piiKey');
  }
  const pseudonym = (value: unknown): string =>
    createHmac('sha256', pseudonymKey as string)
      .update(typeof value === 'string' ? value : JSON.stringify(value) ?? '')
      .digest('hex');

  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    // A body may carry a "__proto__" key (JSON.parse makes it an own property): `out[field] =`
    // would set the copy's prototype instead and lose the field.
    const put = (field: string, fieldValue: unknown): void => {
      Object.defineProperty(out, field, { value: fieldValue, enumerable: true, writable: true, configurable: true });
    };
    for (const [field, fieldValue] of Object.entries(value)) {
      const personal = PERSONAL_FIELDS.has(field);
      const identifier = IDENTIFIER_FIELDS.has(field);
      if ((!personal && !identifier) || fieldValue === null || fieldValue === undefined || fieldValue === '') {
        put(field, walk(fieldValue));
      } else if (mode === 'mask') {
        put(field, personal ? maskPersonalValue(field, fieldValue) : fieldValue);
      } else if (mode === 'pseudonymize') {
        put(field, pseudonym(fieldValue));
      }
      // mode 'drop': the field is left out
    }
    return out;
  };
  return walk as PiiTransform;
}
