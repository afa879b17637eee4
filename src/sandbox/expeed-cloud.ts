import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { pushJson, sendJson, startCloudServer, type CloudHandler, type CloudRequest, type CloudServer, type PushResult } from './cloud-server';

/**
 * The Expeed (极动云) platform as its "第三方平台接入接口文档" describes it, for tests and demos:
 * the token endpoint (with the documented daily limit), device status, current and historical data
 * points (real cursor paging over a generated series), device settings whose result is pushed
 * later to the registered URL, online/offline and data pushes, and the GET handshake of the
 * access procedure. Written from the document alone: nothing here imports the production code.
 */

export interface EmulatedDevice {
  id: string;
  key: string;
  sn?: string;
  /** As the query API reports it: 1 online, 0 offline. Default online. */
  online?: boolean;
}

export interface ExpeedCloudOptions {
  platformKey: string;
  secretKey: string;
  devices: EmulatedDevice[];
  /** `expires_in` of new tokens, seconds (default 7200, as the document's example). */
  tokenLifetimeSeconds?: number;
  /** The document: "该接口每日调用次数不能超过200次". */
  dailyTokenLimit?: number;
  /** Points in each device's history (default 1000), one a minute up to `seriesEnd`. */
  seriesLength?: number;
  /** Epoch ms of the newest point (default 2024-01-01T00:00:00+08:00). */
  seriesEnd?: number;
  port?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The headers the API reads (`access_token`, `device_key`); the token query is never logged. */
  accessToken?: string;
  deviceKey?: string;
}

/** China keeps one offset all year: the platform's wall clock is UTC+8. */
const PLATFORM_OFFSET_MS = 8 * 3_600_000;
const MINUTE = 60_000;

function wallClock(epochMs: number): string {
  const d = new Date(epochMs + PLATFORM_OFFSET_MS);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}-${p(d.getUTCMilliseconds(), 3)}`;
}

function parseWallClock(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!) - PLATFORM_OFFSET_MS;
}

/** The access procedure's signature: MD5 of the SHA1 hex of token + nonce + timestamp, hex. */
export function platformSignature(token: string, nonce: string, timestamp: string): string {
  const sha1Hex = createHash('sha1').update(`${token}${nonce}${timestamp}`).digest('hex');
  return createHash('md5').update(sha1Hex).digest('hex');
}

export class ExpeedCloud {
  /** Token endpoint calls, all days. */
  tokenCalls = 0;
  /** Calls to each API (by the first path segment after /v1/devices: status, current, history, setting). */
  readonly apiCalls = { status: 0, current: 0, history: 0, setting: 0 };
  /** API calls answered `result_code 1` (token expired). */
  expiredAnswers = 0;
  readonly requests: LoggedRequest[] = [];
  tokenLifetimeSeconds: number;
  seriesLength: number;
  readonly seriesEnd: number;
  /** Delay before a setting result is pushed; `null` never pushes it. */
  settingResultDelayMs: number | null = 100;
  /** `set_result` of the next settings (0 success, 1 failure). */
  settingResult = 0;
  /** Field the API uses for its message (the document uses both). */
  messageField: 'result_message' | 'result_msg' = 'result_message';
  /**
   * The name of the credential in the token answer: the document's example says `access_token`,
   * its parameter table `token`. `alternate` (the default) switches on every call, starting with
   * the example's `access_token`, so every run that refreshes a token sees both.
   */
  tokenField: 'access_token' | 'token' | 'alternate' = 'alternate';
  /** When set, every history page carries this cursor (a platform stuck on one page). */
  stuckCursor: number | null = null;
  /** Where pushes go: the URL registered on the platform. */
  callbackUrl: string | undefined;

  private readonly tokens = new Map<string, number>();
  private readonly dayCounts = new Map<string, number>();
  private forcedExpiries = 0;
  private messageCounter = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Hand this to `startCloudServer` to serve the platform beside other emulators on one port. */
  readonly handler: CloudHandler = (request, res) => this.handle(request, res);
  private server: CloudServer | undefined;

  constructor(private readonly options: ExpeedCloudOptions) {
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 7200;
    this.seriesLength = options.seriesLength ?? 1000;
    this.seriesEnd = options.seriesEnd ?? Date.UTC(2023, 11, 31, 16, 0, 0);
  }

  /** The platform on a server of its own. */
  static async start(options: ExpeedCloudOptions): Promise<ExpeedCloud> {
    const cloud = new ExpeedCloud(options);
    cloud.server = await startCloudServer(cloud.handler, options.port);
    return cloud;
  }

  get url(): string {
    if (!this.server) throw new Error('this Expeed cloud shares a server: use that server\'s URL');
    return this.server.url;
  }

  /** Token calls of today (the platform's day, UTC+8). */
  get tokenCallsToday(): number {
    return this.dayCounts.get(wallClock(Date.now()).slice(0, 10)) ?? 0;
  }

  /** The next `count` API calls answer `result_code 1` (token expired) whatever token they carry. */
  forceTokenExpired(count = 1): void {
    this.forcedExpiries += count;
  }

  /** Every token issued so far expires now (as if their time ran out). */
  expireAllTokens(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }

  /** The timestamp of point `index` (0 = oldest) of the generated series. */
  pointTime(index: number): number {
    return this.seriesEnd - (this.seriesLength - 1 - index) * MINUTE;
  }

  /** Point `index` of every device's series, as the API returns it. */
  point(index: number): Record<string, unknown> {
    return { timestamp: wallClock(this.pointTime(index)), temp: 36 + (index % 10) / 10, value1: index };
  }

  /**
   * Registers `url` as the platform's configuration page does: the GET check with a fresh nonce
   * and timestamp signed with `token`; the URL counts as registered when it answers the nonce.
   */
  async register(
    url: string,
    token: string,
    signature?: string,
    /** How the check's parameters are appended to a URL that has a query already: `&`, or `?` as some platforms do. */
    separator: '&' | '?' = '&',
  ): Promise<PushResult & { nonce: string; accepted: boolean }> {
    const nonce = randomBytes(8).toString('hex');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const params = new URLSearchParams({ signature: signature ?? platformSignature(token, nonce, timestamp), nonce, timestamp });
    const check = url.includes('?') ? `${url}${separator}${params}` : `${url}?${params}`;
    const response = await fetch(check);
    const text = await response.text();
    const accepted = response.status === 200 && text === nonce;
    if (accepted) this.callbackUrl = url;
    return { status: response.status, text, nonce, accepted };
  }

  /** 2.1.1: a device went online (the push document: 0) or offline (1). */
  pushStatus(deviceId: string, deviceStatus: number): Promise<PushResult> {
    const device = this.device(deviceId);
    return this.push({ msg_type: '1', device_id: deviceId, device_key: device?.key, device_sn: device?.sn, device_status: deviceStatus });
  }

  /** 2.1.2: data points of a device. */
  pushData(deviceId: string, data: Array<Record<string, unknown>>): Promise<PushResult> {
    return this.push({ device_id: deviceId, device_key: this.device(deviceId)?.key, msg_type: '2', data });
  }

  push(body: unknown): Promise<PushResult> {
    if (!this.callbackUrl) throw new Error('no URL registered');
    return pushJson(this.callbackUrl, body);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    await this.server?.close();
  }

  private device(id: string): EmulatedDevice | undefined {
    return this.options.devices.find((device) => device.id === id);
  }

  private answer(res: ServerResponse, code: number, message: string, fields: Record<string, unknown> = {}): true {
    sendJson(res, 200, { result_code: code, [this.messageField]: message, ...fields });
    return true;
  }

  private handle(request: CloudRequest, res: ServerResponse): boolean {
    const path = request.url.pathname;
    if (request.method === 'GET' && path === '/v1/platform/token') return this.token(request, res);
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    this.requests.push({
      method: request.method,
      path,
      query: Object.fromEntries(request.url.searchParams),
      accessToken: header('access_token'),
      deviceKey: header('device_key'),
    });
    const status = /^\/v1\/devices\/device_status\/([^/]+)$/.exec(path);
    const current = /^\/v1\/devices\/([^/]+)\/currentDatapoints$/.exec(path);
    const history = /^\/v1\/devices\/([^/]+)\/datapoints$/.exec(path);
    const setting = /^\/v1\/devices\/([^/]+)\/device_setting$/.exec(path);
    const api = status ? 'status' : current ? 'current' : history ? 'history' : setting ? 'setting' : undefined;
    const match = status ?? current ?? history ?? setting;
    if (!api || !match) return false;
    if ((api === 'setting') !== (request.method === 'POST')) return false;
    this.apiCalls[api]++;

    const token = header('access_token');
    const expiresAt = token === undefined ? undefined : this.tokens.get(token);
    if (this.forcedExpiries > 0 || expiresAt === undefined || Date.now() >= expiresAt) {
      if (this.forcedExpiries > 0) this.forcedExpiries--;
      this.expiredAnswers++;
      return this.answer(res, 1, 'token过期');
    }
    const device = this.device(decodeURIComponent(match[1]!));
    if (!device) return this.answer(res, 2, '设备不存在');
    if (header('device_key') !== device.key) return this.answer(res, 3, 'Device_key不存在');

    switch (api) {
      case 'status':
        // The query API: 1 online, 0 offline.
        return this.answer(res, 0, 'ok', { device_status: device.online === false ? 0 : 1 });
      case 'current': {
        const ids = request.url.searchParams.get('id');
        if (!ids) return this.answer(res, 4, 'URL参数非法');
        return this.answer(res, 0, 'ok', { data: this.pick(this.point(this.seriesLength - 1), ids === 'all' ? undefined : ids) });
      }
      case 'history':
        return this.history(request, res);
      case 'setting': {
        if (request.body === null || typeof request.body !== 'object' || Array.isArray(request.body)) {
          return this.answer(res, 5, 'BODY参数非法');
        }
        if (device.online === false) return this.answer(res, 3, '设备不在线');
        const messageId = `m${Date.now().toString(36)}${(++this.messageCounter).toString(36)}`;
        this.answer(res, 0, 'ok', { message_id: messageId });
        const delay = this.settingResultDelayMs;
        const setResult = this.settingResult;
        if (delay !== null && this.callbackUrl) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            // The document's example sends msg_type as a number here.
            this.push({ msg_type: 3, message_id: messageId, device_id: device.id, set_result: setResult }).catch(() => undefined);
          }, delay);
          this.timers.add(timer);
        }
        return true;
      }
    }
  }

  private token(request: CloudRequest, res: ServerResponse): true {
    this.tokenCalls++;
    const day = wallClock(Date.now()).slice(0, 10);
    const count = (this.dayCounts.get(day) ?? 0) + 1;
    this.dayCounts.set(day, count);
    const query = request.url.searchParams;
    if (query.get('platform_key') !== this.options.platformKey || query.get('secret_key') !== this.options.secretKey) {
      return this.answer(res, 1, '验证失败');
    }
    if (count > (this.options.dailyTokenLimit ?? 200)) return this.answer(res, 6, '超过每日调用次数');
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    const field = this.tokenField === 'alternate' ? (this.tokenCalls % 2 === 0 ? 'token' : 'access_token') : this.tokenField;
    return this.answer(res, 0, 'ok', { [field]: token, expires_in: this.tokenLifetimeSeconds });
  }

  private pick(point: Record<string, unknown>, ids: string | undefined): Record<string, unknown> {
    if (!ids) return point;
    // The document's table: several names "以“，”隔开"; its URLs use `,`. Both are read.
    const wanted = new Set(ids.split(/[,，]/).map((name) => name.trim()));
    return Object.fromEntries(Object.entries(point).filter(([name]) => name === 'timestamp' || wanted.has(name)));
  }

  /** 1.1.2 history: newest first (first=0) or oldest first (first=1), `limit` points from `cursor`. */
  private history(request: CloudRequest, res: ServerResponse): true {
    const query = request.url.searchParams;
    const limitText = query.get('limit');
    const limit = limitText === null ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 6000) return this.answer(res, 4, 'URL参数非法');
    const first = query.get('first') ?? '0';
    if (first !== '0' && first !== '1') return this.answer(res, 4, 'URL参数非法');
    const startText = query.get('start');
    const endText = query.get('end');
    if ((startText === null) !== (endText === null)) return this.answer(res, 3, '查询参数非法');
    let low = 0;
    let high = this.seriesLength - 1;
    if (startText !== null && endText !== null) {
      const start = parseWallClock(startText);
      const end = parseWallClock(endText);
      if (start === undefined || end === undefined) return this.answer(res, 3, '查询参数非法');
      low = Math.max(low, Math.ceil((start - this.pointTime(0)) / MINUTE));
      high = Math.min(high, Math.floor((end - this.pointTime(0)) / MINUTE));
    }
    const cursorText = query.get('cursor');
    let from = first === '1' ? low : high;
    if (cursorText !== null) {
      const at = Number(cursorText);
      if (!Number.isInteger(at)) return this.answer(res, 4, 'URL参数非法');
      from = (at - this.pointTime(0)) / MINUTE;
      if (!Number.isInteger(from)) return this.answer(res, 4, 'URL参数非法');
    }
    const ids = query.get('id') ?? undefined;
    const data: Array<Record<string, unknown>> = [];
    const step = first === '1' ? 1 : -1;
    let index = from;
    for (; index >= low && index <= high && data.length < limit; index += step) data.push(this.pick(this.point(index), ids));
    const more = index >= low && index <= high;
    // The cursor is the time of the next point, in epoch ms, as in the document's example.
    if (this.stuckCursor !== null) return this.answer(res, 0, 'ok', { cursor: this.stuckCursor, data });
    return this.answer(res, 0, 'ok', { ...(more && { cursor: this.pointTime(index) }), data });
  }
}
