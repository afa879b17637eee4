import { z } from 'zod';
import { looseString } from '../../loose';
import { isValidTimeZone } from '../../time';
import { blankIsDefault, describeIssues, numberProperty, textProperty as text } from '../../zod-helpers';
import { ExpeedError } from './errors';
import type { ExpeedAccount, HistoryQuery } from './account';
import { queryTime } from './time';

/**
 * The properties of the Expeed nodes (docs/nodes/expeed-account.md#properties) as the editor saves them (numbers as text, "" for
 * the default), and the inputs a message may override.
 */

export const accountConfigSchema = z
  .object({
    apiBase: text('https://api.iot-expeed.com').refine((url) => /^https?:\/\/[^/?#]+/i.test(url), 'apiBase must be an http(s) URL'),
    platformKey: text(''),
    dailyTokenCap: numberProperty(150).pipe(z.number().int().min(0, 'dailyTokenCap must be 0 or more')),
    tz: text('Asia/Shanghai').refine(isValidTimeZone, 'tz is not an IANA time zone'),
    onlineValue: numberProperty(0).pipe(z.number().int()),
    // Added after onlineValue: a flow saved before it has no such property and gets 1, as before.
    queryOnlineValue: numberProperty(1).pipe(z.number().int()),
    timeout: numberProperty(10).pipe(z.number().positive('timeout must be above 0')),
    secretKey: z.preprocess(blankIsDefault, z.string().default('')),
    handshakeToken: z.preprocess(blankIsDefault, z.string().optional()),
  })
  .transform((config) => ({ ...config, timeoutMs: config.timeout * 1000 }));
export type AccountConfig = z.infer<typeof accountConfigSchema>;

const flag = z.preprocess((value) => value === true || value === 'true' || value === 1 || value === '1', z.boolean());

const limit = z.preprocess(blankIsDefault, z.coerce.number().int('limit must be a whole number').min(1, 'limit must be 1 to 6000').max(6000, 'limit must be 1 to 6000').default(100));
const first = z.preprocess(blankIsDefault, z.coerce.number().pipe(z.union([z.literal(0), z.literal(1)])).default(0));

export const queryConfigSchema = z.object({
  operation: z.preprocess(blankIsDefault, z.enum(['status', 'current', 'history']).default('status')),
  deviceId: text(''),
  ids: text('all'),
  limit,
  first,
  allPages: flag,
  deviceKey: z.preprocess(blankIsDefault, z.string().default('')),
});
export type QueryConfig = z.infer<typeof queryConfigSchema>;

export const setConfigSchema = z.object({
  deviceId: text(''),
  waitSeconds: numberProperty(30).pipe(z.number().min(0, 'waitSeconds must be 0 or more')),
  deviceKey: z.preprocess(blankIsDefault, z.string().default('')),
});
export type SetConfig = z.infer<typeof setConfigSchema>;

/**
 * The data point names to ask for, as the vendor's `id` wants them: the document writes
 * `id=xxx,yyy` in its URLs and "多个查询以“，”隔开" in its table, so a list may be separated by `,` or
 * the full-width `，`, with spaces around; it is sent with `,` as in the URLs. An empty list, or
 * one that names `all`, is `all`.
 */
export function idsOf(ids: unknown, fallback = 'all'): string {
  const text = Array.isArray(ids) ? ids.map(String).join(',') : typeof ids === 'string' || typeof ids === 'number' ? String(ids) : '';
  const names = text.split(/[,，]/).map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) return fallback === 'all' ? 'all' : idsOf(fallback);
  return names.some((name) => name.toLowerCase() === 'all') ? 'all' : names.join(',');
}

/** The device a message addresses: `msg.deviceId` / `msg.deviceKey` over the node's own. */
export function deviceOf(config: { deviceId: string; deviceKey: string }, msg: Record<string, unknown>): { deviceId: string; deviceKey: string } {
  const fromMessage = (value: unknown): string | undefined => {
    const parsed = looseString.safeParse(value);
    return parsed.success && parsed.data.trim() !== '' ? parsed.data.trim() : undefined;
  };
  const deviceId = fromMessage(msg.deviceId) ?? config.deviceId;
  const deviceKey = fromMessage(msg.deviceKey) ?? config.deviceKey;
  if (!deviceId) throw new ExpeedError('no-device-id');
  if (!deviceKey) throw new ExpeedError('no-device-key');
  return { deviceId, deviceKey };
}

/**
 * The history query of one message: `msg.payload.{ids,start,end,limit,cursor,first}` over the
 * node's properties; `start`/`end` as ISO, epoch ms or the vendor form, sent in the vendor form
 * in the account's `tz`.
 */
export function historyQueryOf(config: QueryConfig, payload: unknown, tz: string): HistoryQuery {
  const input = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const time = (name: 'start' | 'end') =>
    z.unknown().optional().transform((value, ctx) => {
      if (value === undefined || value === null || value === '') return undefined;
      const vendor = queryTime(value, tz);
      if (vendor === undefined) {
        ctx.addIssue({ code: 'custom', message: `${name} must be ISO 8601, epoch ms or 2017-02-13T12-00-00-000` });
        return z.NEVER;
      }
      return vendor;
    });
  const schema = z
    .object({
      ids: z.preprocess(blankIsDefault, z.union([z.string(), z.array(z.string()).transform((ids) => ids.join(','))]).default(config.ids)),
      limit: z.preprocess(blankIsDefault, limit.default(config.limit)),
      first: z.preprocess(blankIsDefault, first.default(config.first)),
      start: time('start'),
      end: time('end'),
      cursor: z.preprocess(blankIsDefault, looseString.optional()),
    })
    .refine((query) => (query.start === undefined) === (query.end === undefined), {
      message: 'start and end must be given together',
      path: ['start'],
    });
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ExpeedError('bad-input', { issues: describeIssues(parsed.error) });
  const { ids, limit: pageSize, first: order, start, end, cursor } = parsed.data;
  return {
    ids: idsOf(ids, config.ids),
    limit: pageSize,
    first: order,
    ...(start !== undefined && { start }),
    ...(end !== undefined && { end }),
    ...(cursor !== undefined && { cursor }),
  };
}

/**
 * The client an expeed-account node hands the Expeed nodes that use it (through
 * `configClient` in src/nodes/action.ts).
 */
export interface ExpeedAccountClient {
  /** The platform API: the shared token, queries, settings and their results. */
  api: ExpeedAccount;
  /** The token the platform signs its URL check with (expeed-in), when one is set. */
  handshakeToken?: string;
  /** The `device_status` that means online in pushes (expeed-in). */
  onlineValue: number;
}
