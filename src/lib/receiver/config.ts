import { z } from 'zod';
import { ANYONE, parseAllowList } from '../allow-list';
import { PII_MODES } from '../pii';
import { isValidTimeZone } from '../time';
import { blankIsDefault, numberProperty, textProperty } from '../zod-helpers';

/**
 * The properties every receiver shares (docs/receivers.md#properties), as the editor saves them: numbers may arrive
 * as strings and empty fields as "", which mean the default.
 */

export const DEFAULT_MAX_DEDUP_KEYS = 1_000_000;

export const ACK_MODES = ['auto', 'flow'] as const;

/**
 * What a receiver property is when it is blank or missing. The build writes these into every
 * receiver's editor defaults and form placeholders (scripts/build-assets.mjs), so the editor shows
 * what the runtime will use.
 */
export const RECEIVER_DEFAULTS = {
  ack: 'auto',
  ackTimeout: 4,
  maxBytes: 1_048_576,
  dedupHours: 72,
  dedupStore: '',
  allow: '',
  pii: 'keep',
  tz: 'Asia/Shanghai',
} as const satisfies Record<string, string | number>;

/**
 * A receiver's path, once trimmed: plain segments of letters, digits and `- _ . ~ %`, the leading
 * and a trailing `/` optional. Anything else would be Express route syntax (`:id`, `*`, `(…)`,
 * `?`) and answer on paths the user did not write, where src/lib/receiver/route.ts, which finds
 * a taken path and a body limit by the literal path, cannot see it. The editor's validator is
 * built from this pattern.
 */
export const RECEIVER_PATH = /^\/?[\w.~%-]+(?:\/[\w.~%-]+)*\/?$/;

const D = RECEIVER_DEFAULTS;

export const receiverConfigSchema = z
  .object({
    path: z
      .string()
      .trim()
      .min(1, 'path is required')
      .pipe(z.string().regex(RECEIVER_PATH, 'path must be letters, digits and - _ . ~ between slashes'))
      .transform((path) => (path.startsWith('/') ? path : `/${path}`)),
    ack: z.preprocess(blankIsDefault, z.enum(ACK_MODES).default(D.ack)),
    ackTimeout: numberProperty(D.ackTimeout).pipe(z.number().positive('ackTimeout must be above 0')),
    maxBytes: numberProperty(D.maxBytes).pipe(z.number().int().positive('maxBytes must be above 0')),
    dedupHours: numberProperty(D.dedupHours).pipe(z.number().min(0, 'dedupHours must be 0 or more')),
    dedupStore: textProperty(D.dedupStore),
    allow: z.preprocess(blankIsDefault, z.string().default(D.allow)).transform((text, ctx) => {
      try {
        return parseAllowList(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
    pii: z.preprocess(blankIsDefault, z.enum(PII_MODES).default(D.pii)),
    tz: z
      .preprocess(blankIsDefault, z.string().default(D.tz))
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

/**
 * A receiver with neither a key nor an allow-list takes pushes from anyone who learns its path:
 * none of the clouds signs what it pushes, so nothing else tells a vendor's push from a forged
 * one. The node says so once at deploy and in its status; it still works.
 */
export function isOpen(settings: Pick<ReceiverSettings, 'key' | 'allowList'>): boolean {
  return settings.key === undefined && settings.allowList === ANYONE;
}

// Node files import it from here; its home is zod-helpers.
export { describeIssues } from '../zod-helpers';
