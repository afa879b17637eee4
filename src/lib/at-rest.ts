import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { CodedError } from './coded-error';

/**
 * Patients' data that waits on disk (the outbox's messages, health-patient's run-time rows, a
 * watch's episodes) is encrypted under one key the operator keeps away from the data: a copy of
 * the user directory, a backup or a stolen disk must not be enough to read it. So the key is never
 * written by us and never derived from anything in the user directory (Node-RED's own generated
 * `credentialSecret` sits there, in .config.runtime.json, beside the data).
 *
 * Where it comes from, in this order:
 *   HEALTH_BRIDGE_KEY       32 bytes as 64 hex characters or as base64
 *   HEALTH_BRIDGE_KEY_FILE  a file holding the same (a container secret, a systemd credential)
 * Each use gets a key of its own (HKDF-SHA256 with a purpose label), so an outbox and a patient
 * table never share a key, and a keyed id of one never matches a keyed id of the other.
 */

export const KEY_ENV = 'HEALTH_BRIDGE_KEY';
export const KEY_FILE_ENV = 'HEALTH_BRIDGE_KEY_FILE';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of every sealed value: the layout below, so a later one can be told apart. */
const FORMAT = 1;

export type AtRestKeyError = CodedError<'no-key' | 'bad-key'>;

/**
 * The operator's key from the environment, or the reason there is none. `bad-key` names only
 * the variable and the expected length, never what it holds.
 */
export function loadAtRestKey(env: NodeJS.ProcessEnv = process.env): Buffer | AtRestKeyError {
  let text = env[KEY_ENV];
  let source = KEY_ENV;
  if (text === undefined || text === '') {
    const file = env[KEY_FILE_ENV];
    if (file === undefined || file === '') return new CodedError('no-key', { variable: KEY_ENV, file: KEY_FILE_ENV });
    source = KEY_FILE_ENV;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      return new CodedError('bad-key', { variable: source, reason: String((error as { code?: unknown }).code ?? 'unreadable') });
    }
  }
  const key = decodeKey(text.trim());
  return key ?? new CodedError('bad-key', { variable: source, reason: `expected ${KEY_BYTES} bytes as hex or base64` });
}

function decodeKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

/** A fresh key as the operator would store it (hex), for `npm start`, tests and the docs' example. */
export function newAtRestKeyText(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

/**
 * Encryption and keyed ids for one purpose (e.g. `outbox:<node id>`): AES-256-GCM with a random
 * 96-bit nonce per value (no nonce is reused while fewer than 2^32 values are sealed under one
 * purpose key, far more than an outbox holds), and HMAC-SHA256 for ids that must be compared
 * without being readable (a patient's order key).
 */
export class Sealer {
  private readonly encryptionKey: KeyObject;
  private readonly idKey: Buffer;
  /**
   * Random bytes for the nonces, drawn a thousand nonces at a time: one call into the system's
   * generator per value cost more than the encryption itself (bench part 7). Each nonce is still
   * 96 random bits, used once.
   */
  private readonly nonces = Buffer.alloc(NONCE_BYTES * 1024);
  private nextNonce = this.nonces.length;

  constructor(master: Buffer, purpose: string) {
    if (master.length !== KEY_BYTES) throw new RangeError(`an at-rest key has ${KEY_BYTES} bytes`);
    this.encryptionKey = createSecretKey(derive(master, `health-bridge/${purpose}/encrypt`));
    this.idKey = derive(master, `health-bridge/${purpose}/id`);
  }

  /** `plain` sealed: format byte, nonce, ciphertext, tag. */
  seal(plain: Buffer): Buffer {
    if (this.nextNonce === this.nonces.length) {
      randomFillSync(this.nonces);
      this.nextNonce = 0;
    }
    // a copy: the pool is refilled in place later
    const nonce = Buffer.from(this.nonces.subarray(this.nextNonce, (this.nextNonce += NONCE_BYTES)));
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, nonce);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT), nonce, body, cipher.getAuthTag()]);
  }

  /**
   * The plain bytes of a sealed value; throws CodedError `undecryptable` (reason `format`,
   * `short` or `tag`: another key, or damaged bytes), never with any of the bytes in its text.
   */
  open(sealed: Buffer): Buffer {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES) throw new CodedError('undecryptable', { reason: 'short' });
    if (sealed[0] !== FORMAT) throw new CodedError('undecryptable', { reason: 'format' });
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, nonce);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodedError('undecryptable', { reason: 'tag' });
    }
  }

  /** A text sealed into base64, for JSON records. */
  sealText(text: string): string {
    return this.seal(Buffer.from(text, 'utf8')).toString('base64');
  }

  openText(sealed: string): string {
    return this.open(Buffer.from(sealed, 'base64')).toString('utf8');
  }

  /** A keyed id of `text` (hex): equal texts give equal ids; without the key it tells nothing. */
  keyedId(text: string): string {
    return createHmac('sha256', this.idKey).update(text, 'utf8').digest('hex');
  }
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, KEY_BYTES));
}
