import type { Sealer } from '../../at-rest';
import { CodedError } from '../../coded-error';
import { SEALED_TEXT } from '../sealed-storage';
import { KeptUnreadable, orderKey, type StoredMsg } from '../storage';
import type { Script } from './scripts';

/**
 * What the outbox on Redis writes of a message, and the client it writes with. The msg and the
 * error texts are sealed with the at-rest key as the file outbox seals them (`#sealed:<base64>`,
 * AES-256-GCM under the outbox's own derived key) when `encrypt` is on; the bookkeeping beside
 * them (times, tries, the order key) is in clear. The patient's order key is keyed by the same
 * key (an HMAC) whenever there is one, so neither a key name nor a record names a patient.
 */

/** The record of a waiting message, as kept in the `msgs` hash. */
export interface QueueRecord {
  /** enqueuedAt (epoch ms). */
  e: number;
  /** Failed deliveries so far. */
  a: number;
  /** When it is due (epoch ms). */
  n: number;
  /** The patient's order key (0: none). */
  k: number;
  /** The msg, sealed or as JSON text. */
  m: string;
  /** The last delivery's error, sealed or plain JSON text. */
  l?: string;
}

/** A dead letter as kept in the `dead` hash: when it died, its order key, and the sealed letter. */
export interface DeadRecord {
  d: number;
  k: number;
  /** Sealed `{msg, queuedAt, tries, error}`. */
  r: string;
}

/** How many patients' order keys are kept computed (then all are forgotten and computed again). */
const ORDER_KEYS_REMEMBERED = 10_000;

export interface RecordCodecOptions {
  encrypt: boolean;
  sealer?: Sealer;
  /** Why there is no sealer (`no-key`, `bad-key`). */
  noSealer?: string;
}

export class RecordCodec {
  private readonly orderKeys = new Map<string, number>();

  constructor(private readonly options: RecordCodecOptions) {}

  /** The order key of a patient's text: an HMAC under the at-rest key where there is one, else the plain hash. */
  readonly orderKey = (text: string): number => {
    const sealer = this.options.sealer;
    if (!sealer) return orderKey(text);
    let key = this.orderKeys.get(text);
    if (key === undefined) {
      key = Number.parseInt(sealer.keyedId(text).slice(0, 8), 16) || 1;
      if (this.orderKeys.size >= ORDER_KEYS_REMEMBERED) this.orderKeys.clear();
      this.orderKeys.set(text, key);
    }
    return key;
  };

  /** `value` as JSON text, sealed with `encrypt`; refused (never in clear) when encryption is asked for without a key. */
  seal(value: unknown): string {
    const text = JSON.stringify(value);
    if (!this.options.encrypt) return text;
    if (!this.options.sealer) throw new CodedError(this.options.noSealer ?? 'no-key');
    return SEALED_TEXT + this.options.sealer.sealText(text);
  }

  /** What `seal` wrote; a record this process cannot open rejects with `KeptUnreadable`. */
  open(text: string): unknown {
    let plain = text;
    if (text.startsWith(SEALED_TEXT)) {
      if (!this.options.sealer) throw new KeptUnreadable(this.options.noSealer ?? 'no-key');
      try {
        plain = this.options.sealer.openText(text.slice(SEALED_TEXT.length));
      } catch (error) {
        throw new KeptUnreadable(error instanceof CodedError && typeof error.params.reason === 'string' ? error.params.reason : 'format');
      }
    }
    try {
      return JSON.parse(plain) as unknown;
    } catch {
      throw new KeptUnreadable('json');
    }
  }

  openMsg(text: string): StoredMsg {
    const value = this.open(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as StoredMsg) : {};
  }
}

/** What the outbox needs of a Redis client (`@redis/client`): scripts. */
export interface RedisScriptClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * Runs a script by its digest, sending its text only when the server does not have it yet (a
 * new or restarted server): one short command per state change.
 */
export async function runScript(client: RedisScriptClient, script: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
  const options = { keys, arguments: args.map(String) };
  try {
    return await client.evalSha(script.sha, options);
  } catch (error) {
    if (!/NOSCRIPT/.test(error instanceof Error ? error.message : String(error))) throw asRedisError(error);
  }
  try {
    return await client.eval(script.text, options);
  } catch (error) {
    throw asRedisError(error);
  }
}

/**
 * A Redis failure with a short code for the status and the log (`redis`), never the reply's
 * text, which may quote a key; the connection's own state says whether it is connected.
 */
export function asRedisError(error: unknown): Error {
  if (error instanceof CodedError) return error;
  return new CodedError('redis', { reason: 'redis' });
}

/** A reply as the flat array of strings the scripts return. */
export function flat(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map((value) => String(value)) : [];
}
