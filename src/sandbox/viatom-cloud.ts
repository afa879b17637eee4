import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { pushJson, sendJson, type CloudHandler, type CloudRequest, type PushResult } from './cloud-server';

/**
 * The Viatom (乐普) open platform as its documents describe it, for tests and demos. Written from
 * the vendor documents (vendor-docs/viatom-open-api.md for the API and the authorization pushes,
 * the "ViHealth Query-Data API" for the measurement records), not from our client: it checks the
 * three headers of every call, answers in the `{code, data, message, reason}` envelope with HTTP
 * 200 even for errors (as the platform does), and pushes to a callback URL as the cloud would.
 *
 *   const cloud = createViatomCloud({ secret, accessToken, callbackUrl });
 *   const server = await startCloudServer(cloud.handler);
 *   // client host = server.url
 */

export interface ViatomCloudOptions {
  secret: string;
  accessToken: string;
  /** Where the cloud pushes (a `viatom-in` path); without it, pushes are only built and recorded. */
  callbackUrl?: string;
  /** Phone numbers that have authorized this integrator already. */
  authorizedPhones?: string[];
  /** The integrator's account id as the cloud encodes it (`OA==|MTEx` in the document). */
  accountId?: string;
  /** Base of the authorization page; by default the emulator's own address + `/auth/`. */
  authPageUrl?: string;
}

/** How the API answers: as documented, never (a hung gateway), or with an HTML error page. */
export type ViatomCloudMode = 'normal' | 'silent' | 'not-json';

export interface RecordedPush {
  body: ViatomPush;
  result?: PushResult;
  error?: string;
}

export interface ViatomCloud {
  /** Hand this to `startCloudServer`. */
  handler: CloudHandler;
  mode: ViatomCloudMode;
  /** Every API request the emulator received, in order. */
  readonly requests: CloudRequest[];
  /** Every push the cloud sent (or tried to), with the receiver's answer. */
  readonly pushes: RecordedPush[];
  readonly authorizedPhones: Set<string>;
  /** A user completes the authorization page: the cloud pushes `type 2`. */
  authorize(phone: string): Promise<RecordedPush>;
  /** The cloud pushes one measurement (`type 1`) to the callback URL. */
  pushMeasurement(dataType: ViatomDataType, options?: MeasurementOptions): Promise<RecordedPush>;
  /** Pushes any body (e.g. a retry of an earlier push) to the callback URL. */
  push(body: ViatomPush): Promise<RecordedPush>;
  /** Resolves when every push started so far has been answered. */
  settled(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Pushes, as the cloud builds them
// ---------------------------------------------------------------------------------------------

export interface ViatomPush {
  type: number;
  data_tag: string;
  account_id: string;
  member_id: string;
  device_sn: string;
  data: Record<string, unknown>;
  user_info: Record<string, unknown>;
  create_time: string;
  update_time: string;
}

/** The data types of the ViHealth Query-Data API. */
export type ViatomDataType = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 9 | 10 | 15;

export interface MeasurementOptions {
  /** Varies the values and the data_tag: the n-th measurement of a stream. */
  seq?: number;
  /** Epoch ms of the measurement; now by default. */
  measureTime?: number;
  deviceSn?: string;
  accountId?: string;
  memberId?: string;
  /** Replaces parts of `measure_result`. */
  result?: Record<string, unknown>;
}

/** The record names the query API encodes into its data tags (`base64("BLOOD_PRESSURE@22876")`). */
const TAG_NAMES: Record<ViatomDataType, string> = {
  1: 'TEMPERATURE',
  2: 'BLOOD_OXYGEN',
  3: 'BLOOD_PRESSURE',
  4: 'BLOOD_SUGAR',
  5: 'ECG',
  6: 'HEART_RATE',
  7: 'SLEEP',
  9: 'BLOOD_FAT',
  10: 'BODY_FAT',
  15: 'FETAL_HEART',
};

const DEVICE_SNS: Record<ViatomDataType, string> = {
  1: '2209TH3012',
  2: '21092F3633',
  3: '2106374387',
  4: '',
  5: '2302170805',
  6: '2107441785',
  7: '2208620079',
  9: '',
  10: 'Lescale Lite D0:4D:00:0E:01:FF',
  15: '',
};

const q = (value: number | null, unit: string): { value: number | null; unit: string } => ({ value, unit });
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** A plausible `measure_result` for the n-th measurement, in the shapes of the query API. */
function measureResult(dataType: ViatomDataType, n: number): Record<string, unknown> {
  switch (dataType) {
    case 1:
      return { type: 1, temperature: q(round(36.2 + (n % 9) / 10, 2), 'Cel') };
    case 2:
      return {
        type: 1,
        duration: 60 + (n % 30),
        spo2: q(95 + (n % 5), '%'),
        pr: q(62 + (n % 25), 'bpm'),
        '90_duration': q(0, 's'),
        drops: q(0, ''),
        spo2_min: q(94 + (n % 5), '%'),
        o2_score: q(9.5, ''),
        file_url: `https://viatom.example/data/spo2/${n}.dat`,
      };
    case 3:
      return {
        sbp: q(112 + (n % 30), 'mmHg'),
        dia: q(72 + (n % 15), 'mmHg'),
        pr: q(64 + (n % 20), 'bpm'),
        pulse_pressure: q(40 + (n % 15), 'mmHg'),
        map: q(86 + (n % 12), 'mmHg'),
      };
    case 4:
      return { type: n % 3, blood_gucose: q(round(4.8 + (n % 30) / 10, 2), 'mmol/l') };
    case 5:
      return {
        duration: 30,
        file_url: `https://viatom.example/data/ecg/${n}.txt`,
        hr: q(60 + (n % 30), 'bpm'),
        ai_diagnose: { code: 0, diagnose_info: '窦性心律', report_file_url: `https://viatom.example/data/ecg/${n}.pdf` },
      };
    case 6:
      return { type: 0, hr: q(58 + (n % 40), 'bpm') };
    case 7:
      return {
        duration: 27000 + (n % 60) * 60,
        sleep: [
          { sleep_type: 1, duration: 9000 },
          { sleep_type: 0, duration: 7200 + (n % 60) * 60 },
          { sleep_type: 2, duration: 6000 },
          { sleep_type: 1, duration: 3600 },
          { sleep_type: 3, duration: 1200 },
        ],
      };
    case 9:
      return {
        chol: q(round(4.2 + (n % 10) / 10, 2), 'mmol/L'),
        trig: q(round(1.1 + (n % 5) / 10, 2), 'mmol/L'),
        hdl: q(1.3, 'mmol/L'),
        ldl: q(round(2.4 + (n % 5) / 10, 2), 'mmol/L'),
        chol_hdl: q(null, ''),
      };
    case 10:
      return { device_type: 1, weight: q(round(60 + (n % 20) / 2, 1), 'kg'), bfp: q(round(18 + (n % 10) / 2, 1), '%'), bmi: q(round(21 + (n % 8) / 4, 2), '') };
    case 15:
      return { minHr: q(128, 'bpm'), avgHr: q(140, 'bpm'), maxHr: q(152, 'bpm'), times: 0, duration: 27 };
  }
}

/** "yyyy-MM-dd HH:mm:ss" in China Standard Time (UTC+8 all year), as the push document writes times. */
export function chinaWallClock(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

const DEFAULT_ACCOUNT_ID = 'OA==|MTEx';
/** The member id the cloud gives a user (the one its authorization push names for a phone: the last 4 digits). */
export const memberIdOf = (key: string): string => `OA==|${Buffer.from(key).toString('base64')}`;

/** A `type 1` push of one measurement record, shaped like the query API's records. */
export function buildMeasurementPush(dataType: ViatomDataType, options: MeasurementOptions = {}): ViatomPush {
  const n = options.seq ?? 1;
  const measureTime = options.measureTime ?? Date.now();
  const created = chinaWallClock(measureTime + 5_000);
  return {
    type: 1,
    data_tag: Buffer.from(`${TAG_NAMES[dataType]}@${n}`).toString('base64'),
    account_id: options.accountId ?? DEFAULT_ACCOUNT_ID,
    member_id: options.memberId ?? memberIdOf(String(n % 50)),
    device_sn: options.deviceSn ?? DEVICE_SNS[dataType],
    data: {
      data_type: dataType,
      measure_time: String(measureTime),
      measure_result: { ...measureResult(dataType, n), ...options.result },
      remark: '',
    },
    user_info: {},
    create_time: created,
    update_time: created,
  };
}

/** A `type 2` (authorized) or `type 3` (cancelled) push, exactly in the document's format. */
/** The member the sandbox's cloud names in the authorization push of `phone`. */
export function memberIdOfPhone(phone: string): string {
  return memberIdOf(phone.slice(-4));
}

export function buildAuthorizationPush(
  phone: string,
  cancelled: boolean,
  options: { accountId?: string; memberId?: string; at?: number } = {},
): ViatomPush {
  const at = options.at ?? Date.now();
  const time = chinaWallClock(at);
  return {
    type: cancelled ? 3 : 2,
    // 32 hex digits, as in the document
    data_tag: createHash('md5').update(`${phone}:${cancelled}:${at}:${randomBytes(4).toString('hex')}`).digest('hex'),
    account_id: options.accountId ?? DEFAULT_ACCOUNT_ID,
    member_id: options.memberId ?? memberIdOfPhone(phone),
    device_sn: '',
    data: { phone },
    user_info: {},
    create_time: time,
    update_time: time,
  };
}

// ---------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------

const LANGUAGES = new Set(['zh-CN', 'en-US']);

/** Answers in the two languages the platform speaks (its error table, in English and Chinese). */
const TEXTS = {
  ok: { 'zh-CN': '请求成功', 'en-US': 'success' },
  secret: { 'zh-CN': '密钥错误', 'en-US': 'Secret key error.' },
  token: { 'zh-CN': '访问令牌错误', 'en-US': 'Access token error.' },
  parameter: { 'zh-CN': '参数错误', 'en-US': 'Parameter error' },
  noUser: { 'zh-CN': '授权用户不存在', 'en-US': 'No authorized user exists.' },
} as const;

const header = (request: CloudRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function createViatomCloud(options: ViatomCloudOptions): ViatomCloud {
  const requests: CloudRequest[] = [];
  const pushes: RecordedPush[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const authorizedPhones = new Set(options.authorizedPhones ?? []);

  function deliver(body: ViatomPush): Promise<RecordedPush> {
    const record: RecordedPush = { body };
    pushes.push(record);
    if (!options.callbackUrl) return Promise.resolve(record);
    const sent = pushJson(options.callbackUrl, body).then(
      (result) => {
        record.result = result;
        return record;
      },
      (error: unknown) => {
        record.error = (error as Error).message;
        return record;
      },
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
    return sent;
  }

  const cloud: ViatomCloud = {
    mode: 'normal',
    requests,
    pushes,
    authorizedPhones,
    handler: (request, res) => handle(request, res),
    authorize(phone) {
      authorizedPhones.add(phone);
      return deliver(buildAuthorizationPush(phone, false, { accountId: options.accountId }));
    },
    pushMeasurement(dataType, measurement = {}) {
      return deliver(buildMeasurementPush(dataType, { accountId: options.accountId, ...measurement }));
    },
    push: deliver,
    async settled() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };

  function handle(request: CloudRequest, res: ServerResponse): boolean {
    const path = request.url.pathname;
    if (request.method !== 'POST' || !path.startsWith('/api/v1/open/')) return false;
    requests.push(request);
    if (cloud.mode === 'silent') return true; // the socket stays open until the server closes
    if (cloud.mode === 'not-json') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return true;
    }

    const languageHeader = header(request, 'language');
    const language = languageHeader === 'en-US' ? 'en-US' : 'zh-CN';
    const reply = (codeValue: number, text: keyof typeof TEXTS, data: unknown, reason = ''): boolean => {
      sendJson(res, 200, { code: codeValue, data, message: TEXTS[text][language], reason });
      return true;
    };

    if (header(request, 'secret') !== options.secret) return reply(109997, 'secret', null, 'API secret error');
    if (header(request, 'access-token') !== options.accessToken) {
      return reply(109996, 'token', null, 'API Access-token not matched');
    }
    if (!languageHeader || !LANGUAGES.has(languageHeader)) return reply(20015, 'parameter', null, 'language must be zh-CN or en-US');

    switch (path) {
      case '/api/v1/open/auth/jump_path': {
        // the document: no body, or an empty one
        const base = options.authPageUrl ?? `http://${header(request, 'host') ?? '127.0.0.1'}/auth/`;
        const sign = randomBytes(16).toString('base64');
        return reply(0, 'ok', { jump_path: `${base}#/?sign=${sign}` });
      }
      case '/api/v1/open/auth/cancel': {
        const phone = (request.body as { phone?: unknown } | undefined)?.phone;
        if (typeof phone !== 'string' || phone === '') return reply(20015, 'parameter', null, 'phone is required');
        if (!authorizedPhones.has(phone)) return reply(101009, 'noUser', null, 'unauthorized user found');
        authorizedPhones.delete(phone);
        reply(0, 'ok', {});
        // after answering, the cloud tells the callback URL, as it does for a cancellation in the app
        void deliver(buildAuthorizationPush(phone, true, { accountId: options.accountId }));
        return true;
      }
      default:
        return false;
    }
  }

  return cloud;
}
