/**
 * The normalized message model every vendor module produces (docs/messages.md). Plain data, no Node-RED:
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

/** Who a reading belongs to. Every field here is personal data or an identifier (docs/receivers.md#personal-data-pii). */
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
 * One message a push produces. `dedupKey` is the vendor's identity of this item (docs/receivers.md#duplicates);
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

/**
 * The topic a receiver gives a message, `<vendor>/<kind>` of a reading or `<vendor>/<event>` of
 * an event; of anything else what it has of the two (for an error's text, never a patient value).
 */
export function topicOf(payload: unknown): string {
  const { vendor, event, kind } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  const what = typeof event === 'string' && kind === undefined ? event : kind ?? event;
  return typeof vendor === 'string' ? `${vendor}/${String(what)}` : String(what);
}

/** Why a message's payload is no reading: an event (a receiver's output 2), or anything else. */
export type NotAReading = { code: 'event'; topic: string; message: string } | { code: 'not-a-reading'; message: string };

const nonEmptyText = (value: unknown): boolean => typeof value === 'string' && value !== '';

/**
 * The one answer to "is this a reading?" for whatever consumes readings (the formats): undefined
 * for a reading, else why not. A reading has an id, a kind and a time (text, not empty) and its
 * values; an object with an `event` and no `kind` is an event. The message names fields and the
 * event's topic, never a value of the payload.
 */
export function notAReading(input: unknown): NotAReading | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { code: 'not-a-reading', message: 'msg.payload is not a reading (expected an object from a receiver\'s output 1)' };
  }
  const candidate = input as Record<string, unknown>;
  if (typeof candidate.event === 'string' && candidate.kind === undefined) {
    const topic = topicOf(candidate);
    return { code: 'event', topic, message: `${topic} is an event, not a reading: events (a receiver's output 2) map to no hospital format; wire only output 1 here` };
  }
  const missing = ['id', 'kind', 'time'].filter((name) => !nonEmptyText(candidate[name]));
  if (typeof candidate.values !== 'object' || candidate.values === null) missing.push('values');
  return missing.length ? { code: 'not-a-reading', message: `msg.payload is not a reading (missing ${missing.join(', ')})` } : undefined;
}

export function isReading(input: unknown): input is Reading {
  return notAReading(input) === undefined;
}
