import { isDeepStrictEqual } from 'node:util';
import { VENDOR_REGISTRY, VENDORS as REGISTRY_VENDORS, type NodeTypeOf, type Vendor } from '../../src/lib/registry';
import { bodyFixture } from './flows';

/**
 * One case per push vendor (src/lib/registry.ts) for the tests every receiver must pass (receiver.test.ts,
 * going-live.test.ts, receiver-properties.test.ts, flows-0.1.0.test.ts): a valid push, a body that
 * is JSON but not the vendor's format, the documented pushes the mutations start from, and how the
 * vendor's success and refusal envelopes look (written here from the vendor's document, not taken
 * from the protocol module under test). The cases are a `Record<Vendor, …>`: a vendor without one
 * does not compile.
 */

export interface VendorCase {
  /** The vendor's receiver type, from the registry. */
  type: NodeTypeOf<'receiver'>;
  vendor: Vendor;
  /** Fixtures (test/fixtures/bodies/<vendor>/<name>.json) of documented pushes, for mutations. */
  seeds: string[];
  /** A valid push; `n` makes a different reading of the same shape. */
  push(n: number): any;
  /** A push that is JSON but not this vendor's format. */
  malformed: unknown;
  accepted: unknown;
  /** True for the vendor's envelope with a non-success code. */
  isRefusal(json: any): boolean;
  /**
   * A valid push as text whose Java `Long` id (docs/receivers.md#what-happens-to-a-push) is the bare integer literal `digits`, and
   * where that id shows in the message the flow gets.
   */
  longId: { text(digits: string): string; seenIn(msg: any): unknown };
}

const LONG = '"__long__"';
/** JSON text of `body` with the placeholder "__long__" written as a bare integer literal. */
const withLiteral = (body: unknown, digits: string): string => JSON.stringify(body).replace(LONG, digits);

const CASES: Record<Vendor, Omit<VendorCase, 'type' | 'vendor'>> = {
  sinocare: {
    seeds: ['document-example', 'valid-reading'],
    push: (n) => {
      const body = bodyFixture('sinocare', 'document-example');
      body.data.testId = `${body.data.testId}${n}`;
      return body;
    },
    malformed: { reservedCode: '01', data: { testId: 'x1', testResult: '5.6' } },
    accepted: { code: 0, msg: '' },
    isRefusal: (json) => typeof json?.code === 'number' && json.code !== 0 && typeof json.msg === 'string' && json.msg !== '',
    longId: {
      text: (digits) => withLiteral({ ...bodyFixture('sinocare', 'document-example'), data: { ...bodyFixture('sinocare', 'document-example').data, testId: '__long__' } }, digits),
      seenIn: (msg) => msg.payload.id,
    },
  },
  lezhi: {
    seeds: ['weight', 'blood-pressure-user', 'glucose', 'event', 'retry'],
    push: (n) => {
      const body = bodyFixture('lezhi', 'weight');
      body.data.measureEpochMilli = Number(body.data.measureEpochMilli) + n * 1000;
      return body;
    },
    malformed: { eventKey: 'dataPush', dataTypeKey: 'dWeight', pushStatus: 1, data: 'heavy' },
    accepted: { code: 200 },
    isRefusal: (json) => typeof json?.code === 'number' && json.code !== 200,
    longId: {
      text: (digits) => withLiteral({ ...bodyFixture('lezhi', 'blood-pressure-user'), userId: '__long__' }, digits),
      seenIn: (msg) => msg.payload.subject?.userId,
    },
  },
  viatom: {
    seeds: ['blood-pressure', 'spo2', 'ecg', 'sleep', 'authorized', 'body-fat'],
    push: (n) => {
      const body = bodyFixture('viatom', 'blood-pressure');
      body.data_tag = `${body.data_tag}-${n}`;
      return body;
    },
    malformed: { type: 1, data_tag: 'x1', data: 'blood pressure' },
    accepted: { code: 0, message: 'ok', reason: '', data: {} },
    isRefusal: (json) => typeof json?.code === 'number' && json.code !== 0 && typeof json.message === 'string' && json.message !== '',
    longId: {
      text: (digits) => withLiteral({ ...bodyFixture('viatom', 'blood-pressure'), data_tag: '__long__' }, digits),
      seenIn: (msg) => msg.payload.id,
    },
  },
  expeed: {
    seeds: ['data', 'status-online', 'setting-result'],
    // No device_key: the receiver keeps it out of msg.raw, and these cases compare raw with the body.
    push: (n) => ({ msg_type: '2', device_id: 'dev-1', data: [{ timestamp: '2017-02-13T12-00-00-000', value1: n }] }),
    malformed: { msg_type: '2', device_id: 'dev-1', data: [{ value1: 1 }] },
    accepted: { result_code: 0, result_message: 'ok', result_msg: 'ok' },
    isRefusal: (json) =>
      typeof json?.result_code === 'number' && json.result_code !== 0 && typeof json.result_message === 'string' && json.result_message !== '',
    longId: {
      text: (digits) => withLiteral({ msg_type: 2, device_id: '__long__', data: [{ timestamp: '2017-02-13T12-00-00-000', temp: 36.6 }] }, digits),
      seenIn: (msg) => msg.payload.device?.id,
    },
  },
};

/** Every vendor's case, in the registry's order. */
export const VENDORS: VendorCase[] = REGISTRY_VENDORS.map((vendor) => ({ type: VENDOR_REGISTRY[vendor].receiver, vendor, ...CASES[vendor] }));

/** True for the vendor's success envelope (its exact fields are the vendor's tests' business). */
export function isAcceptance(vendor: VendorCase, json: unknown): boolean {
  const expected = vendor.accepted as Record<string, unknown>;
  return typeof json === 'object' && json !== null && Object.entries(expected).every(([k, v]) => isDeepStrictEqual((json as Record<string, unknown>)[k], v));
}
