import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Sealer } from '../../at-rest';
import { CodedError, errorCode } from '../../coded-error';
import { safeMessage } from '../../redis/failure';
import { EXPEED_ERROR_CODES, ExpeedError } from './errors';
import { dayIn } from './time';
import type { KeptToken, TokenStore } from './token-store';

/**
 * The token store of an account with `state` (a health-redis config node): one access token, one
 * refresh at a time and one daily count of token calls for every Node-RED instance running the
 * same flow (same account node id), kept across their restarts.
 *
 * Keys, all under `<prefix>expeed:<account id>:`:
 * - `token`: the token with its expiry, as JSON; the token itself sealed with the at-rest key when
 *   there is one. It expires with the token (PX).
 * - `lock`: `SET NX PX` by the instance that refreshes; its value is that refresh's random fence.
 *   The new token is written by a script that first checks the lock still holds that fence, so a
 *   refresher whose lock ran out (stalled, then woke) cannot overwrite a newer token. A refresher
 *   that died leaves the lock to expire; the others then take it.
 * - `failed`: the failure of the last refresh, tagged with its fence, so the instances that waited
 *   on it fail the same way rather than each calling the platform again.
 * - `calls:<day>`: the day's count (the day in the account's `tz`), raised by a script that refuses
 *   past the cap before anything is sent; it expires two days after the day's first call.
 * Redis unreachable: every command fails at once (the connection keeps no offline queue), and a
 * caller that needs a new token gets `state-unavailable`: no token is fetched without the count.
 */

/** What the store needs of a Redis client: the commands it sends (node-redis's signatures). */
export interface ExpeedRedisClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { condition?: 'NX'; expiration: { type: 'PX'; value: number } }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface RedisTokenStoreOptions {
  /** `<health-redis prefix>expeed:<account id>:`. */
  keyPrefix: string;
  /**
   * Resolves once the connection is up, rejects after a short bounded wait: a query right after a
   * deploy (the connection still being made) or during a brief loss waits that long, no longer.
   */
  connected?(): Promise<void>;
  apiBase: string;
  platformKey: string;
  tz: string;
  /** How long one token call may take (the account's timeout): the lock outlives it by LOCK_MARGIN_MS. */
  timeoutMs: number;
  /** Seals the token at rest; without it the token is stored as the vendor gave it. */
  sealer?: Sealer;
  /** A shared token this instance cannot read (sealed under another key, or damaged): reported, then replaced. */
  onUnreadable?(error: unknown): void;
  now(): number;
  /** The lock's life; by default the token call's timeout and LOCK_MARGIN_MS. */
  lockTtlMs?: number;
  /** How long a caller waits for another instance's refresh; by default twice the lock's life and 5 s. */
  waitMs?: number;
}

/** Time for the count and the write around the token call. */
export const LOCK_MARGIN_MS = 5000;
/** A day's count outlives its first call by this long: the day is over by then in any zone. */
const COUNT_TTL_MS = 48 * 3600_000;
/** How long waiters can find a failed refresh's outcome. */
const FAILURE_TTL_MS = 60_000;
/** How long the callers' count is trusted before a metrics read fetches it again. */
const COUNT_READ_EVERY_MS = 5000;

/** SET the token only while the lock still holds this refresh's fence. */
const WRITE_IF_HOLDER = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
/** DEL the lock if it still holds this fence (one that ran out may be another's by now). */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/** The day's count raised by one unless it has reached the cap: {count, 1 if raised}. */
const COUNT = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {n, 0} end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {n, 1}`;

const record = z.object({
  v: z.literal(1),
  /** A hash of apiBase and platformKey: a token of another platform or key is no good here. */
  for: z.string(),
  obtainedAt: z.number(),
  expiresAt: z.number(),
  sealed: z.boolean(),
  token: z.string(),
});
const failure = z.object({ fence: z.string(), code: z.enum(EXPEED_ERROR_CODES), params: z.record(z.string(), z.union([z.string(), z.number()])) });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisTokenStore implements TokenStore {
  private readonly owner = randomBytes(8).toString('hex');
  private fences = 0;
  private readonly accountHash: string;
  private known: { day: string; count: number; at: number } = { day: '', count: 0, at: 0 };
  private reading = false;
  private reportedUnreadable = false;

  constructor(private readonly client: ExpeedRedisClient, private readonly options: RedisTokenStoreOptions) {
    this.accountHash = createHash('sha256').update(`${options.apiBase}\n${options.platformKey}`).digest('hex').slice(0, 32);
  }

  private get lockTtlMs(): number {
    return this.options.lockTtlMs ?? this.options.timeoutMs + LOCK_MARGIN_MS;
  }

  /** The count as last read or raised; a read older than a few seconds asks Redis again, for the next caller. */
  get callsToday(): number {
    const now = this.options.now();
    const day = dayIn(now, this.options.tz);
    if (!this.reading && now - this.known.at > COUNT_READ_EVERY_MS) {
      this.reading = true;
      this.client
        .get(this.key(`calls:${day}`))
        .then((value) => this.learn(day, Number(value ?? 0)), () => undefined)
        .finally(() => (this.reading = false));
    }
    return this.known.day === day ? this.known.count : 0;
  }

  async renew(usable: (token: KeptToken) => boolean, fetch: () => Promise<KeptToken>): Promise<KeptToken> {
    await this.command(() => this.options.connected?.() ?? Promise.resolve());
    const waitMs = this.options.waitMs ?? 2 * this.lockTtlMs + LOCK_MARGIN_MS;
    const deadline = this.options.now() + waitMs;
    let waitedOn: string | null = null;
    for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
      const kept = await this.read();
      if (kept && usable(kept)) return kept;
      if (waitedOn !== null) await this.failedAs(waitedOn);
      const fence = `${this.owner}:${++this.fences}`;
      const taken = await this.command(() => this.client.set(this.key('lock'), fence, { condition: 'NX', expiration: { type: 'PX', value: this.lockTtlMs } }));
      if (taken === 'OK') return this.refresh(fence, usable, fetch);
      // another instance refreshes: wait for its token (or its failure, or its lock to run out)
      waitedOn = (await this.command(() => this.client.get(this.key('lock')))) ?? waitedOn;
      if (this.options.now() > deadline) throw new ExpeedError('token-wait', { seconds: Math.round(waitMs / 1000) });
      await sleep(pause);
    }
  }

  async count(cap: number): Promise<void> {
    await this.command(() => this.options.connected?.() ?? Promise.resolve());
    const day = dayIn(this.options.now(), this.options.tz);
    const reply = await this.command(() => this.client.eval(COUNT, { keys: [this.key(`calls:${day}`)], arguments: [String(cap), String(COUNT_TTL_MS)] }));
    const [count, raised] = (reply as [number, number]).map(Number) as [number, number];
    this.learn(day, count);
    if (!raised) throw new ExpeedError('token-cap', { cap, day });
  }

  /** The connection is the health-redis node's and closed with it; a lock still held expires by itself. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Holding the lock: the token someone wrote meanwhile, or a new one, written only while the lock is still ours. */
  private async refresh(fence: string, usable: (token: KeptToken) => boolean, fetch: () => Promise<KeptToken>): Promise<KeptToken> {
    try {
      // written between our read and our lock
      const kept = await this.read();
      if (kept && usable(kept)) return kept;
      let token: KeptToken;
      try {
        token = await fetch();
      } catch (error) {
        if (error instanceof ExpeedError && error.code !== 'state-unavailable') {
          const outcome = JSON.stringify({ fence, code: error.code, params: error.params });
          await this.client.set(this.key('failed'), outcome, { expiration: { type: 'PX', value: FAILURE_TTL_MS } }).catch(() => undefined);
        }
        throw error;
      }
      const written = await this.write(fence, token).catch(() => false);
      if (written) return token;
      // The lock ran out during the call and another refresh may have written a newer token: that one
      // is everyone's now. Ours is still valid, and used when there is none.
      const newer = await this.read().catch(() => undefined);
      return newer && usable(newer) ? newer : token;
    } finally {
      await this.client.eval(RELEASE, { keys: [this.key('lock')], arguments: [fence] }).catch(() => undefined);
    }
  }

  /** Writes the token if the lock still holds `fence`; false when it does not. */
  async write(fence: string, token: KeptToken): Promise<boolean> {
    const ttl = Math.round(token.expiresAt - this.options.now());
    if (ttl <= 0) return false;
    const sealer = this.options.sealer;
    const value: z.infer<typeof record> = {
      v: 1,
      for: this.accountHash,
      obtainedAt: token.obtainedAt,
      expiresAt: token.expiresAt,
      sealed: sealer !== undefined,
      token: sealer ? sealer.sealText(token.accessToken) : token.accessToken,
    };
    const reply = await this.command(() =>
      this.client.eval(WRITE_IF_HOLDER, { keys: [this.key('lock'), this.key('token')], arguments: [fence, JSON.stringify(value), String(ttl)] }),
    );
    return Number(reply) === 1;
  }

  /** The shared token, if there is one this instance can use. */
  async read(): Promise<KeptToken | undefined> {
    const text = await this.command(() => this.client.get(this.key('token')));
    if (text === null) return undefined;
    try {
      const value = record.parse(JSON.parse(text));
      if (value.for !== this.accountHash) return undefined;
      let accessToken = value.token;
      if (value.sealed) {
        if (!this.options.sealer) throw new CodedError('no-key');
        accessToken = this.options.sealer.openText(value.token);
      }
      return { accessToken, obtainedAt: value.obtainedAt, expiresAt: value.expiresAt };
    } catch (error) {
      // told by its code or name only: a parser's message may quote the text, token and all
      if (!this.reportedUnreadable) this.options.onUnreadable?.(new Error(errorCode(error)));
      this.reportedUnreadable = true;
      return undefined;
    }
  }

  /** Throws the failure of the refresh fenced `fence`, if it failed. */
  private async failedAs(fence: string): Promise<void> {
    const text = await this.command(() => this.client.get(this.key('failed')));
    if (text === null) return;
    let parsed;
    try {
      parsed = failure.safeParse(JSON.parse(text));
    } catch {
      return;
    }
    if (parsed.success && parsed.data.fence === fence) throw new ExpeedError(parsed.data.code, parsed.data.params);
  }

  private learn(day: string, count: number): void {
    this.known = { day, count, at: this.options.now() };
  }

  private key(name: string): string {
    return `${this.options.keyPrefix}${name}`;
  }

  /** A command whose failure (Redis unreachable) is the account's `state-unavailable`. */
  private async command<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new ExpeedError('state-unavailable', { message: safeMessage(error) });
    }
  }
}
