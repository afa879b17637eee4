import { maskPersonalValue } from '../pii';
import type { DeadLetter } from './dead-letters';
import type { QueuedEntry } from './queue';
import type { StoredMsg } from './storage';

/**
 * What an operator sees of a waiting message or a dead letter (the admin API, the sidebar): which
 * reading it is and how its delivery went, never who it is about. The reading's id, vendor, kind
 * and time, the outbox's own times and tries, and the last error, whose text comes from the
 * hospital and may quote the patient: every personal value the message itself carries (a name, an
 * ID number, a phone, wherever in it) is masked there, and so is anything shaped like a Chinese ID
 * number or a mobile number, then the text is clipped.
 */

export interface ErrorView {
  /** A short code for the kind of failure: `timeout`, a system code (ECONNREFUSED), `http-<status>`, or `error`. */
  code: string;
  text: string;
}

export interface EntryView {
  /** The id an operation names it by (a retry, a discard) and `after` pages from. */
  entry: string;
  readingId: string | null;
  vendor: string | null;
  kind: string | null;
  /** The reading's own time, as the vendor gave it. */
  time: string | null;
  /** When the outbox accepted it (ISO 8601). */
  queuedAt: string | null;
  tries: number;
  lastError: ErrorView | null;
  /** Queue only: when it is tried next (ISO 8601); null while it is in flight. */
  nextTry?: string | null;
  /** Queue only: handed out and not answered yet. */
  inFlight?: boolean;
  /** Dead letters only: when it died (ISO 8601); it is kept until then plus keepDeadLettersDays. */
  deadAt?: string;
  /** The record cannot be read by this Node-RED (no-key, tag: another key or damage). */
  unreadable?: string;
}

/** Fields that name or reach a person (as the receivers' pii policy names them, src/lib/pii.ts). */
const PERSONAL_FIELDS = new Set(['name', 'patientName', 'idCard', 'phone', 'mobile']);
/** An error text is clipped to this many characters. */
const TEXT_LIMIT = 300;
/** A reading's id, vendor, kind or time longer than this is clipped (they are short). */
const FIELD_LIMIT = 120;
/** How much of a message is searched for personal values (a reading is far smaller). */
const WALK_LIMIT = 5_000;

const ID_NUMBER = /(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])/g;
const MOBILE = /(?<!\d)(1[3-9]\d{9})(?!\d)/g;

export function queuedView(entry: QueuedEntry): EntryView {
  const { state, message } = entry;
  return {
    ...readingView(message?.msg),
    entry: String(state.seq),
    queuedAt: iso(state.enqueuedAt),
    tries: state.attempts,
    lastError: message?.lastError ? errorView(message.lastError, message.msg) : null,
    nextTry: entry.inFlight ? null : iso(state.nextAt),
    inFlight: entry.inFlight,
    ...(entry.unreadable !== undefined && { unreadable: entry.unreadable }),
  };
}

export function deadView(letter: DeadLetter): EntryView {
  return {
    ...readingView(letter.msg),
    entry: String(letter.seq),
    queuedAt: letter.queuedAt === undefined ? null : iso(letter.queuedAt),
    tries: letter.tries ?? 0,
    lastError: letter.error ? errorView(letter.error, letter.msg) : null,
    deadAt: iso(letter.deadAt),
    ...(letter.unreadable !== undefined && { unreadable: letter.unreadable }),
  };
}

/** The code and the masked, clipped text of a delivery's error. */
export function errorView(text: string, msg: StoredMsg | undefined): ErrorView {
  return { code: errorCodeOf(text), text: clip(maskText(text, personalValues(msg)), TEXT_LIMIT) };
}

/**
 * The kind of a failure, from its text (the outbox keeps the text only): its own ackTimeout, a
 * system error's code (the http request node's ECONNREFUSED), an HTTP status the flow reported.
 */
export function errorCodeOf(text: string): string {
  if (/\(ackTimeout\)/.test(text)) return 'timeout';
  const system = /\b(E[A-Z0-9]{3,})\b/.exec(text);
  if (system) return system[1];
  const status = /\b(?:answered|status(?:Code)?|HTTP)\b\D{0,12}([1-5]\d\d)\b/i.exec(text);
  if (status) return `http-${status[1]}`;
  return 'error';
}

/** `text` with every personal value of `values` and every ID-number or mobile shape masked. */
export function maskText(text: string, values: ReadonlyArray<{ field: string; value: string }> = []): string {
  let masked = text;
  // the longest first, so a name inside a longer value is not masked into it half-way
  for (const { field, value } of [...values].sort((a, b) => b.value.length - a.value.length)) {
    if (masked.includes(value)) masked = masked.split(value).join(maskPersonalValue(field, value));
  }
  return masked
    .replace(ID_NUMBER, (id: string) => maskPersonalValue('idCard', id))
    .replace(MOBILE, (phone: string) => maskPersonalValue('phone', phone));
}

/** The personal values a message carries, wherever they are in it (a reading's subject, msg.raw). */
export function personalValues(msg: unknown): Array<{ field: string; value: string }> {
  const values: Array<{ field: string; value: string }> = [];
  let visited = 0;
  const walk = (value: unknown, depth: number): void => {
    if (++visited > WALK_LIMIT || depth > 8 || typeof value !== 'object' || value === null) return;
    for (const [field, inner] of Object.entries(value)) {
      if (PERSONAL_FIELDS.has(field) && (typeof inner === 'string' || typeof inner === 'number')) {
        const text = String(inner);
        if (text.length >= 2) values.push({ field, value: text });
      } else {
        walk(inner, depth + 1);
      }
    }
  };
  walk(msg, 0);
  return values;
}

/** The reading a stored message carries: `msg.reading` (after health-fhir or health-hl7), else `msg.payload`. */
function readingView(msg: StoredMsg | undefined): Pick<EntryView, 'readingId' | 'vendor' | 'kind' | 'time'> {
  const reading = isRecord(msg?.reading) ? msg.reading : isRecord(msg?.payload) ? msg.payload : {};
  const values = personalValues(msg);
  const field = (value: unknown): string | null => (typeof value === 'string' ? clip(maskText(value, values), FIELD_LIMIT) : null);
  return { readingId: field(reading.id), vendor: field(reading.vendor), kind: field(reading.kind), time: field(reading.time) };
}

function clip(text: string, limit: number): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
