import { z } from 'zod';
import { canonicalJson } from '../canonical-json';
import { blankIsDefault, numberProperty } from '../zod-helpers';
import { OUTBOX_DEFAULTS } from './queue';
import { orderKey, type StoredMsg } from './storage';

/**
 * What `health-outbox` reads from its saved properties and from the messages it stores,
 * without Node-RED: the node file only wires these to the runtime.
 */

/**
 * The defaults of the node's own properties (the queue's are OUTBOX_DEFAULTS, in ms): the
 * runtime reads them here, and the build writes them into the editor's defaults.
 */
export const OUTBOX_PROPERTY_DEFAULTS = {
  /** Encrypt what waits on disk; a node saved before the property existed gets it too. */
  encrypt: true,
  /**
   * Days a dead letter is kept for an operator to retry or discard (0: none, output 2 only). A
   * month: long enough to outlast a holiday before someone looks, a hospital's fix of what it
   * refused, and the monthly reconciliation some wards do; short enough that patients' data does
   * not pile up unattended. A node saved before the property existed gets it too: its dead
   * letters still leave on output 2 as before, and are now also kept (sealed like the queue).
   */
  keepDeadLettersDays: 30,
} as const;

/** A checkbox: true or false as the editor saves it ("true"/"false" by hand), the default when blank. */
const flag = (fallback: boolean) =>
  z.preprocess(
    (value) => (blankIsDefault(value) === undefined ? fallback : value === true || value === 'true' || value === 1 || value === '1'),
    z.boolean(),
  );

const positive = (fallback: number, name: string) =>
  numberProperty(fallback).pipe(z.number().positive(`${name} must be above 0`));

export const outboxPropertiesSchema = z
  .object({
    maxAgeHours: positive(OUTBOX_DEFAULTS.maxAgeMs / 3_600_000, 'maxAgeHours'),
    retryMinSeconds: positive(OUTBOX_DEFAULTS.retryMinMs / 1000, 'retryMinSeconds'),
    retryMaxSeconds: positive(OUTBOX_DEFAULTS.retryMaxMs / 1000, 'retryMaxSeconds'),
    concurrency: numberProperty(OUTBOX_DEFAULTS.concurrency).pipe(
      z.number().int('concurrency must be a whole number').min(1, 'concurrency must be at least 1'),
    ),
    ackTimeout: positive(OUTBOX_DEFAULTS.ackTimeoutMs / 1000, 'ackTimeout'),
    encrypt: flag(OUTBOX_PROPERTY_DEFAULTS.encrypt),
    // fractions too (a test keeps them for seconds)
    keepDeadLettersDays: numberProperty(OUTBOX_PROPERTY_DEFAULTS.keepDeadLettersDays).pipe(
      z.number().min(0, 'keepDeadLettersDays must not be below 0'),
    ),
  })
  .refine((properties) => properties.retryMaxSeconds >= properties.retryMinSeconds, {
    message: 'retryMaxSeconds must not be below retryMinSeconds',
    path: ['retryMaxSeconds'],
  });
export type OutboxProperties = z.infer<typeof outboxPropertiesSchema>;

/**
 * `state`: the id of a health-redis config node, whose Redis keeps the queue shared by every
 * instance (redis/); blank, the file log in the user directory. Read apart from the other
 * properties: the editor shows it as a config-node select, not as a field with a rule. Anything
 * but blank names a config node, and one that is not there is an error at deploy.
 */
export const outboxStateSchema = z.preprocess(
  (value) => (value === undefined || value === null ? '' : typeof value === 'string' ? value.trim() : String(value)),
  z.string(),
);

/** `msg.topic` of a message that makes every waiting message due now (it is not stored). */
export const RETRY_TOPIC = 'health-outbox/retry';

/**
 * The patient a stored message is about, as an order key (0: none): the reading's vendor and
 * `subject`, else its `device`. The reading is `msg.reading` where health-fhir or health-hl7 put
 * it (their `payload` is the Bundle or the ORU^R01), else `msg.payload` itself. `hash` turns
 * the patient's text into the key: the outbox's keyed one where it encrypts (sealed-storage.ts),
 * so the key on disk is not a plain hash of a patient's id.
 */
export function patientKeyOf(msg: StoredMsg, hash: (text: string) => number = orderKey): number {
  const reading = isRecord(msg.reading) ? msg.reading : isRecord(msg.payload) ? msg.payload : undefined;
  if (!reading || typeof reading.vendor !== 'string') return 0;
  if (isRecord(reading.subject) && Object.keys(reading.subject).length) {
    return hash(`${reading.vendor}|subject|${canonicalJson(reading.subject)}`);
  }
  if (isRecord(reading.device) && Object.keys(reading.device).length) {
    return hash(`${reading.vendor}|device|${canonicalJson(reading.device)}`);
  }
  return 0;
}

/** `msg.error` as health-ack handed it over (Catch's `{message, source}`, a text, …), as text. */
export function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return error.message;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** A duration for the status, in the unit a person reads it in: 45 s, 12 min, 3.5 h, 2.1 d. */
export function shortDuration(ms: number): { unit: 'seconds' | 'minutes' | 'hours' | 'days'; count: string } {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 90) return { unit: 'seconds', count: String(Math.round(seconds)) };
  if (seconds < 90 * 60) return { unit: 'minutes', count: String(Math.round(seconds / 60)) };
  if (seconds < 48 * 3600) return { unit: 'hours', count: (seconds / 3600).toFixed(1) };
  return { unit: 'days', count: (seconds / 86400).toFixed(1) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
