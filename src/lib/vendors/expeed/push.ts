import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../canonical-json';
import { isNumericText, looseNumber, looseString } from '../../loose';
import { measuredValues, outOfRangeOf, toMeasured, type Measured } from '../../measured';
import { eventItem, present, readingItem, type NormalizeContext, type PushItem, type Quantity, type Reading } from '../../reading';
import type { HandshakeResult, PushProtocol } from '../../receiver/protocol';
import { parseWallClock } from '../../time';
import { forwardIssues } from '../../zod-helpers';
import { vendorTimeToIso } from './time';

/**
 * Expeed (极动云) pushes to the URL registered on its platform (docs/nodes/expeed-in.md): `msg_type` 1 device
 * online/offline, 2 data points, 3 the result of a device setting. Before it pushes, the platform
 * checks the URL with a GET handshake signed with the token entered beside it.
 */

/**
 * A data point as Expeed sends it, pushed or queried: a wall-clock `timestamp` and the device's
 * values. The timestamp is trimmed before anything reads or hashes it: the document's own
 * currentDatapoints example has `" 2017-02-13T12-00-00-000"`, and the same point pushed without
 * the space must get the same reading id.
 */
export const datapointElement = z.looseObject({
  timestamp: z
    .string()
    .transform((text) => text.trim())
    .refine((text) => parseWallClock(text) !== undefined, 'expected 2017-02-13T12-00-00-000'),
});
export type DatapointElement = z.infer<typeof datapointElement>;

const MSG_TYPE = z.preprocess((value) => (typeof value === 'string' ? value.trim() : value), looseString);

const statusPush = z.looseObject({
  msg_type: MSG_TYPE,
  device_id: looseString.pipe(z.string().min(1)),
  device_sn: looseString.nullish(),
  device_status: looseNumber,
});

const dataPush = z.looseObject({
  msg_type: MSG_TYPE,
  device_id: looseString.pipe(z.string().min(1)),
  device_sn: looseString.nullish(),
  data: z.array(datapointElement),
});

const settingPush = z.looseObject({
  msg_type: MSG_TYPE,
  message_id: looseString.pipe(z.string().min(1)),
  device_id: looseString.nullish(),
  set_result: looseNumber,
});

const envelope = z.looseObject({ msg_type: MSG_TYPE });

/**
 * The envelope, then the schema of its `msg_type`; each reads the whole body so that issues carry
 * paths from the body root (`data.0.timestamp`). A type we do not know is passed on, not refused.
 */
const expeedBody = envelope.transform((push, ctx) => {
  const schemas = { '1': statusPush, '2': dataPush, '3': settingPush } as const;
  const type = push.msg_type;
  if (type !== '1' && type !== '2' && type !== '3') return { kind: 'other' as const, push };
  const parsed = schemas[type].safeParse(push);
  if (!parsed.success) return forwardIssues(ctx, parsed.error);
  if (type === '1') return { kind: 'status' as const, push, status: parsed.data as z.infer<typeof statusPush> };
  if (type === '2') return { kind: 'data' as const, push, data: parsed.data as z.infer<typeof dataPush> };
  return { kind: 'setting' as const, push, setting: parsed.data as z.infer<typeof settingPush> };
});
export type ExpeedBody = z.infer<typeof expeedBody>;

/**
 * Numbers (and numeric text) become values with unit "". A value the device could not measure
 * (`HI`, `LO`, `>22.2`, an empty string, null: docs/messages.md#values-a-device-could-not-measure) is left out of `values` and described by
 * `resultText`, `outOfRange` and `unmeasured` (measured.ts); like every other non-number (a mode
 * such as "auto", an object) it is also kept as sent in `context.other`. None of this refuses a push.
 */
function splitValues(element: DatapointElement): { values: Record<string, Quantity>; context?: Record<string, unknown> } {
  const entries: Record<string, { measured: Measured; unit: string }> = {};
  const other: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(element)) {
    if (name === 'timestamp' || value === undefined) continue;
    const numeric = (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && isNumericText(value));
    if (numeric) {
      entries[name] = { measured: toMeasured(value as number | string), unit: '' };
      continue;
    }
    other[name] = value;
    // Only what reads as a failed measurement; "auto" or "on" is a state, not a value out of range.
    const unmeasured = value === null || (typeof value === 'string' && (value.trim() === '' || outOfRangeOf(value) !== undefined));
    if (unmeasured) entries[name] = { measured: toMeasured(value as string | null), unit: '' };
  }
  const { values, context } = measuredValues(entries);
  const merged: Record<string, unknown> = { ...context, ...(Object.keys(other).length > 0 && { other }) };
  return Object.keys(merged).length > 0 ? { values, context: merged } : { values };
}

/** The identity of a data point: device, its timestamp and its content (two may share a time). */
export function datapointKey(deviceId: string, element: DatapointElement): string {
  // The schema has trimmed the timestamp already; trimmed again for elements built by hand.
  const trimmed = { ...element, timestamp: element.timestamp.trim() };
  return `${deviceId}\n${trimmed.timestamp}\n${sha256Hex(canonicalJson(trimmed))}`;
}

/**
 * One `datapoint` reading per element, the same for a pushed and a queried point, so a sink that
 * gets both can use `id` to store it once.
 */
export function datapointReading(
  deviceId: string,
  element: DatapointElement,
  context: NormalizeContext,
  device: Record<string, string | number | null | undefined> = {},
): Reading {
  const { values, context: extra } = splitValues(element);
  const reading: Reading = {
    id: `expeed:${sha256Hex(datapointKey(deviceId, element)).slice(0, 32)}`,
    vendor: 'expeed',
    kind: 'datapoint',
    time: vendorTimeToIso(element.timestamp, context.tz) as string,
    values,
    device: present({ id: deviceId, ...device }) ?? { id: deviceId },
    retry: false,
    receivedAt: context.receivedAt,
  };
  if (extra) reading.context = extra;
  return reading;
}

function withoutDeviceKey(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDeviceKey);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([name]) => name !== 'device_key')
      .map(([name, inner]) => [name, withoutDeviceKey(inner)]),
  );
}

/**
 * The handshake signatures we accept for `MD5(SHA1(token + nonce + timestamp))` (the vendor's
 * access procedure). The document does not say how the SHA-1 is fed to MD5, so each reading is
 * accepted: MD5 of its lowercase hex (the first, and what the platform most likely sends), of its
 * uppercase hex, and of its raw 20 bytes; each MD5 as lowercase hex.
 */
export function handshakeSignatures(token: string, nonce: string, timestamp: string): [lowerHex: string, upperHex: string, raw: string] {
  const sha1 = createHash('sha1').update(token + nonce + timestamp, 'utf8').digest();
  const md5 = (input: Buffer | string): string => createHash('md5').update(input).digest('hex');
  const hex = sha1.toString('hex');
  return [md5(hex), md5(hex.toUpperCase()), md5(sha1)];
}

/** `md5(sha1(token + nonce + timestamp))`, each as lowercase hex: the first of handshakeSignatures. */
export function handshakeSignature(token: string, nonce: string, timestamp: string): string {
  return handshakeSignatures(token, nonce, timestamp)[0];
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Constant-time and case-insensitive: both sides are hashed to one length before they are
 * compared, and every accepted encoding is compared (no early exit that would tell which matched).
 */
export function signatureMatches(token: string, nonce: string, timestamp: string, signature: string): boolean {
  const presented = sha256(signature.trim().toLowerCase());
  let matches = false;
  for (const expected of handshakeSignatures(token, nonce, timestamp)) {
    if (timingSafeEqual(sha256(expected), presented)) matches = true;
  }
  return matches;
}

const BASE64ISH = /^[A-Za-z0-9+/=_-]{16,}$/;
const CIPHER_FIELDS = ['encrypt', 'encrypted', 'encrypt_data', 'encryptData', 'ciphertext', 'cipher', 'secret_data'];

/**
 * The platform's 密文 (ciphertext) mode is not documented: a body that is one opaque string (bare
 * or quoted), that carries one in a cipher-like field without `msg_type`, or whose `data` is a
 * string, is an encrypted push rather than a malformed one.
 */
export function looksEncrypted(text: string, parsed: unknown): boolean {
  const compact = text.replace(/\s+/g, '');
  if (parsed === undefined) return BASE64ISH.test(compact);
  if (typeof parsed === 'string') return BASE64ISH.test(parsed.replace(/\s+/g, ''));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  const body = parsed as Record<string, unknown>;
  if (typeof body.data === 'string' && body.data.length >= 16) return true;
  return body.msg_type === undefined && CIPHER_FIELDS.some((name) => typeof body[name] === 'string');
}

export interface ExpeedPushOptions {
  /** The token entered on the platform beside the URL; without it every handshake is refused. */
  handshakeToken?: string;
  /** The `device_status` that means online in a push (the document: 0). */
  onlineValue?: number;
  /** Hears every setting result the receiver emitted (a waiting expeed-set completes). */
  onSettingResult?(result: SettingResult): void;
}

export interface SettingResult {
  messageId: string;
  deviceId?: string;
  success: boolean;
  setResult: number;
}

function normalize(options: ExpeedPushOptions, body: ExpeedBody, context: NormalizeContext): PushItem[] {
  switch (body.kind) {
    case 'status': {
      const { status } = body;
      const onlineValue = options.onlineValue ?? 0;
      // The push document has 0 = online, 1 = offline; `onlineValue` swaps them when a platform differs.
      const offlineValue = onlineValue === 0 ? 1 : onlineValue === 1 ? 0 : undefined;
      const online = status.device_status === onlineValue ? true : status.device_status === offlineValue ? false : undefined;
      const device = present({ id: status.device_id, sn: status.device_sn });
      const data = { device_status: status.device_status, ...(online !== undefined && { online }) };
      // A status is a state, not a measurement: each push is passed on (no dedup key).
      return [eventItem({ vendor: 'expeed', event: online === undefined ? 'unrecognized' : online ? 'online' : 'offline', ...(device && { device }), data })];
    }
    case 'data': {
      const { data } = body;
      return data.data.map((element) =>
        readingItem(datapointReading(data.device_id, element, context, { sn: data.device_sn }), datapointKey(data.device_id, element)),
      );
    }
    case 'setting': {
      const { setting } = body;
      const device = present({ id: setting.device_id });
      const result = { messageId: setting.message_id, success: setting.set_result === 0, setResult: setting.set_result };
      return [
        eventItem(
          { vendor: 'expeed', event: 'setting-result', ...(device && { device }), data: result },
          `message_id\n${setting.message_id}`,
        ),
      ];
    }
    case 'other': {
      const data = withoutDeviceKey(body.push);
      return [eventItem({ vendor: 'expeed', event: 'unrecognized', data }, `other\n${sha256Hex(canonicalJson(data))}`)];
    }
  }
}

/** The push protocol of one expeed-in, built from its account. */
export function expeedProtocol(options: ExpeedPushOptions = {}): PushProtocol<ExpeedBody> {
  return {
    vendor: 'expeed',
    schema: expeedBody,
    normalize: (body, context) => normalize(options, body, context),
    // The document answers with `result_message` in one place and `result_msg` in another: both.
    acceptedBody: { result_code: 0, result_message: 'ok', result_msg: 'ok' },
    rejectedBody: (status, reason) => ({ result_code: status, result_message: reason, result_msg: reason }),
    redactRaw: withoutDeviceKey,
    isEncrypted: looksEncrypted,
    handshake(query): HandshakeResult {
      const token = options.handshakeToken;
      if (!token) return { ok: false, code: 'handshake-unconfigured' };
      const [signature, nonce, timestamp] = ['signature', 'nonce', 'timestamp'].map((name) => query.get(name));
      if (!signature || !nonce || !timestamp || !signatureMatches(token, nonce, timestamp, signature)) {
        return { ok: false, code: 'handshake-signature' };
      }
      return { ok: true, body: nonce };
    },
    emitted(items) {
      if (!options.onSettingResult) return;
      for (const item of items) {
        if (item.output === 'event' && item.payload.event === 'setting-result') {
          const data = item.payload.data as Omit<SettingResult, 'deviceId'>;
          const deviceId = item.payload.device?.id;
          options.onSettingResult({ ...data, ...(deviceId !== undefined && { deviceId: String(deviceId) }) });
        }
      }
    },
  };
}
