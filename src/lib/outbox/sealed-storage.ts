import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import {
  KeptUnreadable, orderKey, type Attempt, type OutboxStorage, type Removal, type StoredMessage, type StoredMsg, type StoredState,
} from './storage';

/**
 * The outbox's messages encrypted at rest, around any `OutboxStorage` (the file log today): what a
 * record carries of a message (its msg, the last delivery's error text, a dead letter's error) is
 * sealed with AES-256-GCM before it reaches the storage, and opened again when the storage hands it
 * out. The storage keeps its own bookkeeping in clear (ids, which are random, times, attempts, and
 * the order key, which is keyed here so that it tells nothing of the patient without the key).
 *
 * A sealed record's msg is `{"#sealed": "<base64>"}`, a sealed error text `#sealed:<base64>`; any
 * other msg or error is plain, as the previous release wrote every record and as an outbox with
 * `encrypt` off writes them still. So one log may hold both, and both are read.
 *
 * A record that cannot be opened (another key, damaged bytes, or no key at all) is read as
 * `KeptUnreadable`: the queue keeps it aside (not handed out, not removed, holding back nothing)
 * for as long as this storage is open, and it is counted here (`unreadable()`, reported through
 * `onUndecryptable`). The next open reads it again, so the right key brings it back.
 */

/** How many patients' order keys are kept computed (then all are forgotten and computed again). */
const ORDER_KEYS_REMEMBERED = 10_000;

/** The one field of a sealed record's msg. */
export const SEALED_FIELD = '#sealed';
/** The start of a sealed error text. */
export const SEALED_TEXT = '#sealed:';

/** The sealed form a message was read in (or written as), kept with the open one it came from. */
const SEALED = Symbol('sealed');
interface OpenedMessage extends StoredMessage {
  readonly [SEALED]?: StoredMsg;
}

export interface SealedStorageOptions {
  /** Seals what new records carry (the outbox's `encrypt`); off: they are written plain. */
  encrypt: boolean;
  /** Opens sealed records, and seals when `encrypt`; missing when the operator gave no usable key. */
  sealer?: Sealer;
  /** Why there is no sealer (`no-key`, `bad-key`): the reason a sealed record cannot be opened. */
  noSealer?: string;
  /**
   * Records that could not be opened: called at the first and again each time their count reaches
   * ten times the count last reported (1, 10, 100, …), with the reason of the latest: `tag` (another
   * key, or damage), `format`, `short`, `json`, or the reason there is no key. Never their content.
   */
  onUndecryptable?(reason: string, count: number): void;
}

export class SealedStorage implements OutboxStorage {
  /** The records that could not be opened, by id: kept aside by the queue until the close. */
  private readonly unopened = new Set<string>();
  private reportAt = 1;

  constructor(
    private readonly inner: OutboxStorage,
    private readonly options: SealedStorageOptions,
  ) {}

  /**
   * The order key of a patient's text: with `encrypt`, the first 32 bits of an HMAC under the
   * outbox's key (equal patients give equal keys, and nothing else can be read from it); without,
   * the plain hash of the previous release. A patient whose older messages were written with the
   * other kind of key is kept in order only among the messages of each kind.
   */
  readonly orderKey = (text: string): number => {
    if (!this.sealing) return orderKey(text);
    // an HMAC per message showed in the profile: a ward's patients are remembered (in memory only)
    let key = this.orderKeys.get(text);
    if (key === undefined) {
      key = Number.parseInt(this.options.sealer!.keyedId(text).slice(0, 8), 16) || 1;
      if (this.orderKeys.size >= ORDER_KEYS_REMEMBERED) this.orderKeys.clear();
      this.orderKeys.set(text, key);
    }
    return key;
  };
  private readonly orderKeys = new Map<string, number>();

  /** Waiting records that could not be opened since this storage was opened. */
  unreadable(): number {
    return this.unopened.size;
  }

  async append(msg: StoredMsg, now: number, key?: number): Promise<StoredMessage> {
    if (!this.options.encrypt) return this.inner.append(msg, now, key);
    // never a new record in clear when the operator asked for encryption and gave no key
    if (!this.sealing) throw new CodedError(this.options.noSealer ?? 'no-key');
    const sealed = this.sealMsg(msg);
    const stored = await this.inner.append(sealed, now, key);
    return { ...stored, msg, [SEALED]: sealed } as OpenedMessage;
  }

  stored(visit: (state: StoredState) => void): Promise<void> {
    return this.inner.stored(visit);
  }

  async read(state: StoredState): Promise<StoredMessage> {
    const message = await this.inner.read(state);
    const opened = this.open(message);
    if (typeof opened === 'string') {
      this.unopen(message, opened);
      throw new KeptUnreadable(opened);
    }
    return opened;
  }

  fail(message: StoredMessage, attempt: Attempt): Promise<void> {
    // a failed delivery writes the whole message again: in the form it was read in (a record of
    // the previous release is sealed now, when `encrypt`)
    const kept = (message as OpenedMessage)[SEALED];
    const msg = kept ?? (this.sealing ? this.sealMsg(message.msg) : message.msg);
    return this.inner.fail({ ...message, msg }, { ...attempt, error: this.sealError(attempt.error) });
  }

  remove(message: StoredState, outcome: Removal): Promise<void> {
    if ('delivered' in outcome) return this.inner.remove(message, outcome);
    return this.inner.remove(message, { dead: true, error: this.sealError(outcome.error) });
  }

  dueAll(now: number): Promise<void> {
    return this.inner.dueAll(now);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Whether new writes are sealed. With `encrypt` and no key nothing new is appended (above); a
   * record read in clear meanwhile (the previous release's) is written back in clear when its
   * delivery fails, which shows no more than the record it replaces.
   */
  private get sealing(): boolean {
    return this.options.encrypt && this.options.sealer !== undefined;
  }

  private sealMsg(msg: StoredMsg): StoredMsg {
    return { [SEALED_FIELD]: this.options.sealer!.sealText(JSON.stringify(msg)) };
  }

  private sealError(text: string): string {
    return this.sealing ? SEALED_TEXT + this.options.sealer!.sealText(text) : text;
  }

  /** The message as it was stored, or why it cannot be opened. */
  private open(message: StoredMessage): StoredMessage | string {
    const sealed = isSealed(message.msg) ? message.msg : undefined;
    const sealedError = message.lastError?.startsWith(SEALED_TEXT) ? message.lastError.slice(SEALED_TEXT.length) : undefined;
    if (!sealed && sealedError === undefined) return message; // plain: the previous release's, or encrypt off
    try {
      const sealer = this.options.sealer;
      if (!sealer) throw new CodedError('undecryptable', { reason: this.options.noSealer ?? 'no-key' });
      let msg = message.msg;
      if (sealed) {
        const text = sealer.openText(sealed[SEALED_FIELD]);
        try {
          msg = JSON.parse(text) as StoredMsg;
        } catch {
          throw new CodedError('undecryptable', { reason: 'json' });
        }
      }
      const lastError = sealedError === undefined ? message.lastError : sealer.openText(sealedError);
      const opened: OpenedMessage = {
        ...message,
        msg,
        ...(lastError !== undefined && { lastError }),
        ...(sealed && { [SEALED]: sealed }),
      };
      return opened;
    } catch (error) {
      return reasonOf(error);
    }
  }

  private unopen(message: StoredMessage, reason: string): void {
    if (this.unopened.has(message.id)) return;
    this.unopened.add(message.id);
    if (this.unopened.size >= this.reportAt) {
      this.options.onUndecryptable?.(reason, this.unopened.size);
      while (this.reportAt <= this.unopened.size) this.reportAt *= 10;
    }
  }
}

function isSealed(msg: StoredMsg): msg is { [SEALED_FIELD]: string } {
  const keys = Object.keys(msg);
  return keys.length === 1 && keys[0] === SEALED_FIELD && typeof msg[SEALED_FIELD] === 'string';
}

function reasonOf(error: unknown): string {
  if (error instanceof CodedError && typeof error.params.reason === 'string') return error.params.reason;
  return 'format';
}
