import { z } from 'zod';
import { ApiError, endpointName, requestJson } from '../../http-client';
import { looseNumber, looseString } from '../../loose';
import type { Reading } from '../../reading';
import { describeIssues } from '../../zod-helpers';
import { ExpeedError, vendorCodeError } from './errors';
import { datapointElement, datapointReading, type DatapointElement } from './push';
import { SettingResults, type SettingWaits } from './settings';
import { FileTokenStore, type KeptToken, type TokenStore } from './token-store';

/**
 * The Expeed platform as one account sees it (docs/nodes/expeed-account.md#the-token-and-its-budget): the access token, cached until shortly
 * before `expires_in`, refreshed once for all concurrent callers, kept with a per-day count of
 * token calls by its token store (a small file so a restart neither fetches a new one nor forgets
 * the budget, or Redis, shared by every instance running the flow); and the device API, which
 * refreshes the token once and retries once when it reports it expired.
 * The token URL carries `secret_key`: it is built here, sent, and never shown anywhere.
 */

export interface AccountOptions {
  apiBase: string;
  platformKey: string;
  secretKey: string;
  dailyTokenCap: number;
  /** The token day and the zone of query times. */
  tz: string;
  timeoutMs: number;
  /**
   * The `device_status` the status query reports for an online device: 1 as the query half of
   * the document says (its push half says 0 = online; that is the receiver's `onlineValue`).
   */
  queryOnlineValue?: number;
  /** Where the token and the day's count are kept (without `tokenStore`); memory only without it. */
  stateFile?: string;
  /** Where the token and the day's count are kept: by default a FileTokenStore on `stateFile`. */
  tokenStore?: TokenStore;
  /** Where setting results meet the expeed-set waiting for them: by default this instance's memory. */
  settings?: SettingWaits;
  /** Told of each token call as it is counted against the day's cap (before it is sent). */
  onTokenCall?(): void;
  /** A state file that cannot be written costs persistence, never a call: reported, not thrown. */
  onStateError?(error: unknown): void;
  now?(): number;
}

export interface AccessToken {
  accessToken: string;
  /** Epoch ms at which the vendor's `expires_in` runs out. */
  expiresAt: number;
}

/** How long before `expires_in` runs out a token is replaced: a tenth of its life, at most 5 minutes. */
export function refreshMargin(lifetimeMs: number): number {
  return Math.min(300_000, Math.max(0, lifetimeMs) / 10);
}

const envelope = z.looseObject({
  result_code: looseNumber,
  result_message: z.unknown().optional(),
  result_msg: z.unknown().optional(),
});

/**
 * The token answer: the document's example names the credential `access_token`, its parameter
 * table `token`. Either is read (`access_token` first when both are there).
 */
const credential = looseString.pipe(z.string().min(1));
const tokenAnswer = z
  .looseObject({
    access_token: credential.optional(),
    token: credential.optional(),
    expires_in: looseNumber.optional(),
  })
  .transform((answer, ctx) => {
    const accessToken = answer.access_token ?? answer.token;
    if (accessToken === undefined) {
      ctx.addIssue({ code: 'custom', message: 'no access_token (or token) in the answer', path: ['access_token'] });
      return z.NEVER;
    }
    return { accessToken, expiresIn: answer.expires_in };
  });
const statusAnswer = z.looseObject({ device_status: looseNumber });
const currentAnswer = z.looseObject({ data: datapointElement });
const historyAnswer = z.looseObject({
  data: z.array(datapointElement).nullish(),
  cursor: z.union([z.string(), z.number()]).nullish(),
});
const settingAnswer = z.looseObject({ message_id: looseString.pipe(z.string().min(1)) });

/** The vendor's message of an answer: `result_message` or `result_msg` (both occur). */
function vendorMessage(body: z.infer<typeof envelope>): string {
  const message = body.result_message ?? body.result_msg;
  return typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message);
}

export interface HistoryQuery {
  ids?: string;
  /** Vendor form (`2017-02-13T12-00-00-000`); start and end go together. */
  start?: string;
  end?: string;
  limit?: number;
  cursor?: string;
  first?: 0 | 1;
}

export interface HistoryPage {
  readings: Reading[];
  /** The cursor the vendor returned (as text), to be passed back for the next page. */
  cursor?: string;
  /** True when paging stops here: no cursor, the cursor repeats, or the page is empty. */
  last: boolean;
}

export interface DeviceStatus {
  deviceId: string;
  /** `status` is the account's `queryOnlineValue` (the query API: 1 = online). */
  online: boolean;
  status: number;
}

interface DeviceCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  deviceKey: string;
  body?: unknown;
}

export class ExpeedAccount {
  readonly settings: SettingWaits;
  private readonly store: TokenStore;
  /** The token in use, kept in memory; the store is asked only when it is missing or no longer good. */
  private cached: KeptToken | undefined;
  /** The last token the platform called expired: never taken from the store again. */
  private expired: string | undefined;
  private refreshing: Promise<KeptToken> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: AccountOptions) {
    this.now = options.now ?? Date.now;
    this.settings = options.settings ?? new SettingResults();
    this.store =
      options.tokenStore ??
      new FileTokenStore({
        apiBase: options.apiBase,
        platformKey: options.platformKey,
        tz: options.tz,
        ...(options.stateFile !== undefined && { stateFile: options.stateFile }),
        ...(options.onStateError && { onStateError: options.onStateError }),
        now: this.now,
      });
  }

  get tz(): string {
    return this.options.tz;
  }

  /** Token calls made today (the day as in `tz`; with Redis, by every instance as last read). */
  get tokenCallsToday(): number {
    return this.store.callsToday;
  }

  /** A valid access token: the cached one, or one refresh shared by every concurrent caller. */
  async token(): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && this.usable(cached)) return { accessToken: cached.accessToken, expiresAt: cached.expiresAt };
    this.refreshing ??= this.store
      .renew((token) => this.usable(token), () => this.fetchToken())
      .then((token) => (this.cached = token))
      .finally(() => {
        this.refreshing = undefined;
      });
    const token = await this.refreshing;
    return { accessToken: token.accessToken, expiresAt: token.expiresAt };
  }

  /** Not called expired by the platform, and not within its refresh margin of the end of its life. */
  private usable(token: KeptToken): boolean {
    return token.accessToken !== this.expired && this.now() < token.expiresAt - refreshMargin(token.expiresAt - token.obtainedAt);
  }

  async deviceStatus(deviceId: string, deviceKey: string): Promise<DeviceStatus> {
    const path = `/v1/devices/device_status/${encodeURIComponent(deviceId)}`;
    const body = this.validate(path, statusAnswer, await this.call({ method: 'GET', path, deviceKey }));
    return { deviceId, online: body.device_status === (this.options.queryOnlineValue ?? 1), status: body.device_status };
  }

  async current(deviceId: string, deviceKey: string, ids: string): Promise<Reading> {
    const path = `/v1/devices/${encodeURIComponent(deviceId)}/currentDatapoints`;
    const receivedAt = new Date(this.now()).toISOString();
    const body = this.validate(path, currentAnswer, await this.call({ method: 'GET', path, query: { id: ids || 'all' }, deviceKey }));
    return datapointReading(deviceId, body.data, { tz: this.options.tz, receivedAt });
  }

  /** One page of history; `seen` holds the cursors already requested in this run. */
  async historyPage(deviceId: string, deviceKey: string, query: HistoryQuery, seen: ReadonlySet<string> = new Set()): Promise<HistoryPage> {
    const path = `/v1/devices/${encodeURIComponent(deviceId)}/datapoints`;
    const receivedAt = new Date(this.now()).toISOString();
    const answer = await this.call({
      method: 'GET',
      path,
      deviceKey,
      query: {
        // `all` is the documented wildcard of currentDatapoints; history takes every point without `id`.
        id: query.ids && query.ids !== 'all' ? query.ids : undefined,
        start: query.start,
        end: query.end,
        limit: query.limit === undefined ? undefined : String(query.limit),
        cursor: query.cursor,
        first: query.first === undefined ? undefined : String(query.first),
      },
    });
    const body = this.validate(path, historyAnswer, answer);
    const elements: DatapointElement[] = body.data ?? [];
    const cursor = body.cursor === null || body.cursor === undefined || body.cursor === '' ? undefined : String(body.cursor);
    const last = elements.length === 0 || cursor === undefined || cursor === query.cursor || seen.has(cursor);
    const context = { tz: this.options.tz, receivedAt };
    return { readings: elements.map((element) => datapointReading(deviceId, element, context)), ...(cursor !== undefined && { cursor }), last };
  }

  /**
   * Every page of a history query, one at a time: the next page is fetched only when the caller
   * asks for it, so a year of data never sits in memory at once.
   */
  async *historyPages(deviceId: string, deviceKey: string, query: HistoryQuery): AsyncGenerator<HistoryPage> {
    const seen = new Set<string>();
    let cursor = query.cursor;
    for (;;) {
      if (cursor !== undefined) seen.add(cursor);
      const page = await this.historyPage(deviceId, deviceKey, { ...query, ...(cursor !== undefined && { cursor }) }, seen);
      yield page;
      if (page.last) return;
      cursor = page.cursor;
    }
  }

  /** Posts a setting; the platform answers at once with the `message_id` its result push will carry. */
  async setting(deviceId: string, deviceKey: string, settings: unknown): Promise<string> {
    const path = `/v1/devices/${encodeURIComponent(deviceId)}/device_setting`;
    const body = this.validate(path, settingAnswer, await this.call({ method: 'POST', path, deviceKey, body: settings }));
    return body.message_id;
  }

  /** Waits for pending writes of the token store. */
  async close(): Promise<void> {
    this.settings.close();
    await this.store.close();
  }

  private url(path: string, query: Record<string, string | undefined> = {}): string {
    const url = new URL(this.options.apiBase.replace(/\/+$/, '') + path);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    return url.toString();
  }

  /** One call of the token endpoint, counted by the store first (it refuses past the day's cap). */
  private async fetchToken(): Promise<KeptToken> {
    if (!this.options.platformKey || !this.options.secretKey) throw new ExpeedError('no-credentials');
    await this.store.count(this.options.dailyTokenCap);
    this.options.onTokenCall?.();
    const url = this.url('/v1/platform/token', { platform_key: this.options.platformKey, secret_key: this.options.secretKey });
    const response = await this.send({ method: 'GET', url });
    const code = response.result_code;
    if (code === 1) throw new ExpeedError('token-rejected', { message: vendorMessage(response) });
    const parsed = tokenAnswer.safeParse(response);
    if (code !== 0 || !parsed.success) {
      throw new ExpeedError('token-failed', { code, message: vendorMessage(response) || (parsed.error ? describeIssues(parsed.error) : '') });
    }
    const obtainedAt = this.now();
    // The document's example and the usual lifetime: 7200 s when the answer leaves it out.
    const lifetimeMs = (parsed.data.expiresIn ?? 7200) * 1000;
    return { accessToken: parsed.data.accessToken, obtainedAt, expiresAt: obtainedAt + lifetimeMs };
  }

  /** A device API call: `result_code 1` (token expired) refreshes the token once and retries once. */
  private async call(call: DeviceCall): Promise<z.infer<typeof envelope>> {
    const url = this.url(call.path, call.query);
    let token = await this.token();
    let answer = await this.send({ method: call.method, url, token: token.accessToken, deviceKey: call.deviceKey, body: call.body });
    if (answer.result_code === 1) {
      this.forget(token.accessToken);
      token = await this.token();
      answer = await this.send({ method: call.method, url, token: token.accessToken, deviceKey: call.deviceKey, body: call.body });
    }
    if (answer.result_code !== 0) throw vendorCodeError(answer.result_code, vendorMessage(answer));
    return answer;
  }

  /** Drops a token the vendor called expired, unless a concurrent caller has replaced it already. */
  private forget(accessToken: string): void {
    this.expired = accessToken;
    if (this.cached?.accessToken === accessToken) this.cached = undefined;
  }

  private async send(call: { method: 'GET' | 'POST'; url: string; token?: string; deviceKey?: string; body?: unknown }): Promise<z.infer<typeof envelope>> {
    const headers: Record<string, string> = {};
    if (call.token !== undefined) headers.access_token = call.token;
    if (call.deviceKey !== undefined) headers.device_key = call.deviceKey;
    let response;
    try {
      response = await requestJson({ method: call.method, url: call.url, headers, body: call.body, timeoutMs: this.options.timeoutMs });
    } catch (error) {
      // ApiError messages name the endpoint without its query (the token URL's secret_key).
      if (error instanceof ApiError) throw new ExpeedError('api', { message: error.message });
      throw error;
    }
    const parsed = envelope.safeParse(response.body);
    if (!parsed.success) {
      const status = response.status >= 300 ? `HTTP ${response.status}; ` : '';
      throw new ExpeedError('bad-answer', { endpoint: `${call.method} ${endpointName(call.url)}`, issues: status + describeIssues(parsed.error) });
    }
    return parsed.data;
  }

  private validate<T>(path: string, schema: z.ZodType<T>, body: unknown): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ExpeedError('bad-answer', { endpoint: endpointName(this.url(path)), issues: describeIssues(parsed.error) });
    }
    return parsed.data;
  }
}
