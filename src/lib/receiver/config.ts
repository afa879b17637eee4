import { z } from 'zod';
import { parseAllowList } from '../allow-list';
import { isValidTimeZone } from '../time';
import { blankIsDefault, numberProperty, textProperty } from '../zod-helpers';

/**
 * The properties every receiver shares (SPEC §2), as the editor saves them: numbers may arrive
 * as strings and empty fields as "", which mean the default.
 */

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
    dedupStore: textProperty(''),
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

// Node files import it from here; its home is zod-helpers.
export { describeIssues } from '../zod-helpers';
