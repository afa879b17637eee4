import { z } from 'zod';
import { parseAllowList } from '../allow-list';
import { isValidTimeZone } from '../time';

/**
 * The properties every receiver shares (SPEC §2), as the editor saves them: numbers may arrive
 * as strings and empty fields as "", which mean the default.
 */

const blankIsDefault = (value: unknown): unknown =>
  value === '' || value === null || value === undefined ? undefined : value;

const numberProperty = (fallback: number) =>
  z.preprocess(blankIsDefault, z.coerce.number().finite().default(fallback));

export const DEFAULT_MAX_DEDUP_KEYS = 1_000_000;

export const receiverConfigSchema = z
  .object({
    path: z
      .string()
      .trim()
      .min(1, 'path is required')
      .transform((path) => (path.startsWith('/') ? path : `/${path}`)),
    ack: z.preprocess(blankIsDefault, z.enum(['auto', 'flow']).default('auto')),
    ackTimeout: numberProperty(4).pipe(z.number().positive('ackTimeout must be above 0')),
    maxBytes: numberProperty(1_048_576).pipe(z.number().int().positive('maxBytes must be above 0')),
    dedupHours: numberProperty(72).pipe(z.number().min(0, 'dedupHours must be 0 or more')),
    dedupStore: z.preprocess(blankIsDefault, z.string().trim().default('')),
    allow: z.preprocess(blankIsDefault, z.string().default('')).transform((text, ctx) => {
      try {
        return parseAllowList(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
    pii: z.preprocess(blankIsDefault, z.enum(['keep', 'mask', 'pseudonymize', 'drop']).default('keep')),
    tz: z
      .preprocess(blankIsDefault, z.string().default('Asia/Shanghai'))
      .refine(isValidTimeZone, 'tz is not an IANA time zone'),
    key: z.preprocess(blankIsDefault, z.string().optional()),
    piiKey: z.preprocess(blankIsDefault, z.string().optional()),
  })
  .transform((config) => ({
    path: config.path,
    ack: config.ack,
    ackTimeoutMs: config.ackTimeout * 1000,
    maxBytes: config.maxBytes,
    dedupWindowMs: config.dedupHours * 3_600_000,
    dedupStore: config.dedupStore,
    allowList: config.allow,
    pii: config.pii,
    tz: config.tz,
    key: config.key,
    piiKey: config.piiKey,
  }));

export type ReceiverSettings = z.infer<typeof receiverConfigSchema>;

/** A zod error as short text naming fields and rules, never the values (they may be PII). */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : 'body';
    if (issue.code === 'invalid_type') return `${where}: expected ${issue.expected}`;
    if (issue.code === 'custom' || issue.code === 'too_small' || issue.code === 'too_big') {
      return `${where}: ${issue.message}`;
    }
    return `${where}: ${issue.code.replace(/_/g, ' ')}`;
  });
  const more = error.issues.length - limit;
  return parts.join('; ') + (more > 0 ? ` (+${more} more)` : '');
}
