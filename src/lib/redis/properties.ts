import { z } from 'zod';
import { blankIsDefault, textProperty } from '../zod-helpers';

/**
 * The saved properties of a `health-redis` config node as the editor writes them ("" for the
 * default), with its credentials merged in. Read once when the node starts.
 *
 * The password lives in the credentials only: a URL that carries one (`redis://:secret@host`) is
 * refused, with a message saying where it goes, rather than taken, because flows.json (and every
 * export of the flow) would then hold it in clear. A user name in the URL is refused for the same
 * reason of keeping both in one place: `username` is a credential too.
 */

export const REDIS_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'health-bridge:',
  tls: false,
  ca: '',
  sentinelName: 'mymaster',
} as const;

const flag = z.preprocess((value) => value === true || value === 'true' || value === 1 || value === '1', z.boolean());

export const redisPropertiesSchema = z.object({
  // Three patterns the editor checks too (src/lib/editor/rules.ts reads regexes): the scheme, no
  // credentials (the message names neither: the text may be the secret itself), a host.
  url: z.preprocess(
    blankIsDefault,
    z
      .string()
      .trim()
      .regex(/^rediss?:\/\//, 'url must start with redis:// or rediss://')
      .regex(/^[^@]*$/, 'url must not carry a user name or password: put them in the username and password fields')
      .regex(/^rediss?:\/\/(?:[^@/]*@)?(?:[\w.-]+|\[[\da-fA-F:.]+\])(?::\d{1,5})?(?:\/\d{0,2})?$/, 'url must be redis://host:port, with /<db number> at most')
      .default(REDIS_DEFAULTS.url),
  ),
  /** Every key the package writes starts with it, so one Redis can serve other things too. */
  prefix: textProperty(REDIS_DEFAULTS.prefix),
  /** TLS even for a redis:// URL (rediss:// always means TLS). */
  tls: flag,
  /** A PEM file of the CA that signed the server's certificate; blank: the system's CAs. */
  ca: z.preprocess(blankIsDefault, z.string().trim().default(REDIS_DEFAULTS.ca)),
  /**
   * Redis Sentinel: `host:port` of one or more Sentinels, comma separated. Blank: no Sentinel, the
   * server of `url`. With Sentinels, the connection goes to the primary they name, and follows it
   * through a failover; `url` then only gives the database number.
   */
  sentinels: z.preprocess(
    blankIsDefault,
    z
      .string()
      .trim()
      .regex(/^(?:[\w.-]+|\[[\da-fA-F:.]+\]):\d{1,5}(?:\s*,\s*(?:[\w.-]+|\[[\da-fA-F:.]+\]):\d{1,5})*$/, 'sentinels must be host:port, comma separated')
      // absent (not ""): a flow saved before Sentinel support parses to the same properties as then
      .optional(),
  ),
  /** The name the Sentinels monitor the primary under; blank: REDIS_DEFAULTS.sentinelName. */
  sentinelName: z.preprocess(blankIsDefault, z.string().trim().regex(/^[^\s]+$/, 'sentinelName must be one word').optional()),
  username: z.preprocess(blankIsDefault, z.string().optional()),
  password: z.preprocess(blankIsDefault, z.string().optional()),
});

export type RedisProperties = z.infer<typeof redisPropertiesSchema>;

/** Whether the connection uses TLS. */
export function usesTls(properties: Pick<RedisProperties, 'url' | 'tls'>): boolean {
  return properties.tls || properties.url.startsWith('rediss:');
}

/** The Sentinels' addresses, none when the connection goes to `url` itself. */
export function sentinelNodes(properties: Pick<RedisProperties, 'sentinels'>): { host: string; port: number }[] {
  if (!properties.sentinels) return [];
  return properties.sentinels.split(',').map((entry) => {
    const text = entry.trim();
    const colon = text.lastIndexOf(':');
    return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(text.slice(colon + 1)) };
  });
}

/** The URL as it may be shown (a status, a log line): scheme, host, port and database; never a secret. */
export function displayUrl(properties: Pick<RedisProperties, 'url' | 'tls'> & Partial<Pick<RedisProperties, 'sentinels' | 'sentinelName'>>): string {
  const url = new URL(properties.url);
  // Sentinels hold no secret either: their addresses and the primary's name say where it goes
  if (properties.sentinels) return `sentinel://${properties.sentinels.replace(/\s+/g, '')}/${properties.sentinelName ?? REDIS_DEFAULTS.sentinelName}${url.pathname === '/' ? '' : url.pathname}`;
  return `${usesTls(properties) ? 'rediss' : 'redis'}://${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/**
 * The schema's issues as text: each property and our own message (none of them quotes the value,
 * which for `url` may hold a password).
 */
export function describeRedisIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'properties'}: ${issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message}`).join('; ');
}
