/**
 * The normalized message model every vendor module produces (SPEC §3). Plain data, no Node-RED:
 * a receiver turns each item into one Node-RED message on output 1 (readings) or 2 (events).
 */

import type { Vendor } from './vendors/manifest';

/** The push vendors are listed once, in the manifest. */
export type { Vendor };

export type Kind =
  | 'glucose'
  | 'blood_pressure'
  | 'weight'
  | 'body_composition'
  | 'heart_rate'
  | 'spo2'
  | 'temperature'
  | 'ecg'
  | 'sleep'
  | 'blood_lipids'
  | 'datapoint';

/** A measured value in UCUM units (`mmol/L`, `mm[Hg]`, `/min`, …); `""` where the vendor gives none. */
export interface Quantity {
  value: number;
  unit: string;
}

/** Who a reading belongs to. Every field here is personal data or an identifier (SPEC §6). */
export type Subject = Record<string, string | number>;

export interface Reading {
  /** Stable across vendor retries: sinks use it as their idempotency key. */
  id: string;
  vendor: Vendor;
  kind: Kind;
  /** ISO 8601 with offset. */
  time: string;
  values: Record<string, Quantity>;
  device?: Record<string, string | number>;
  subject?: Subject;
  context?: Record<string, unknown>;
  retry: boolean;
  receivedAt: string;
}

export interface HealthEvent {
  vendor: Vendor;
  /** `authorized`, `online`, a Lezhi dataTypeKey, `unrecognized`, … */
  event: string;
  time?: string;
  device?: Record<string, string | number>;
  subject?: Subject;
  data: unknown;
}

/**
 * One message a push produces. `dedupKey` is the vendor's identity of this item (SPEC §5);
 * `undefined` means the item is never deduplicated (e.g. Expeed status pushes).
 */
export type PushItem =
  | { output: 'reading'; topic: string; payload: Reading; dedupKey?: string }
  | { output: 'event'; topic: string; payload: HealthEvent; dedupKey?: string };

export function readingItem(payload: Reading, dedupKey?: string): PushItem {
  return { output: 'reading', topic: `${payload.vendor}/${payload.kind}`, payload, dedupKey };
}

export function eventItem(payload: HealthEvent, dedupKey?: string): PushItem {
  return { output: 'event', topic: `${payload.vendor}/${payload.event}`, payload, dedupKey };
}

/** What a vendor module needs to know beyond the body itself. */
export interface NormalizeContext {
  /** IANA zone for the vendor's zone-less timestamps. */
  tz: string;
  /** ISO time the push arrived. */
  receivedAt: string;
}

/** The entries a vendor filled in (not undefined, null or ""); undefined when there are none. */
export function present<T>(record: Record<string, T | null | undefined>): Record<string, T> | undefined {
  const entries = Object.entries(record).filter(
    (entry): entry is [string, T] => entry[1] !== undefined && entry[1] !== null && entry[1] !== '',
  );
  return entries.length ? Object.fromEntries(entries) : undefined;
}
