/**
 * The storage behind `health-outbox`: where the messages wait, durably. It keeps and returns
 * messages and nothing about their order: what is due, each patient's turn and the judgement of a
 * message the hospital refuses are the queue's (schedule.ts, queue.ts), which keeps in memory only
 * what the `StoredState` of each message says (no bodies). The file log (file-log/) is the one
 * implementation today; a Redis stream is meant to be the second (open-storage.ts picks one).
 */

/** A Node-RED msg as the outbox stores it: its JSON, without `_ack` and `_msgid`. */
export type StoredMsg = Record<string, unknown>;

/** What the storage keeps of a message besides its body: all the queue holds in memory. */
export interface StoredState {
  /**
   * The storage's handle: a small whole number, unique among the messages stored at one time and
   * given again once its message is gone, so the queue can use it as the row of its own index.
   */
  readonly ref: number;
  /** The order messages were accepted in: increasing with each append, never given twice. */
  readonly seq: number;
  /** Epoch ms at which the outbox accepted it. */
  readonly enqueuedAt: number;
  /** Epoch ms before which it is not handed out again. */
  readonly nextAt: number;
  /** Deliveries that failed so far. */
  readonly attempts: number;
  /** The order key of its patient (0: none); see `orderKey`. */
  readonly key: number;
}

/** A stored message as the storage returns it. */
export interface StoredMessage extends StoredState {
  /** Given once at append; the same across restarts and re-deliveries. */
  readonly id: string;
  /** `msg.error` of the last failed delivery, as text. */
  readonly lastError?: string;
  readonly msg: StoredMsg;
}

/** How a delivery ended, as the queue settles it. */
export type Settlement =
  | { ok: true }
  | { ok: false; error: string; nextAt: number }
  | { dead: true; error: string };

/** A failed delivery as the storage records it: the message's new state. */
export interface Attempt {
  attempts: number;
  nextAt: number;
  error: string;
}

/** Why a message leaves the storage. */
export type Removal = { delivered: true } | { dead: true; error: string };

export interface OutboxStorage {
  /**
   * Every message stored when the storage was opened, without its body, in no particular order;
   * called once, before anything else. What was in flight before a restart is among them (at
   * least once).
   */
  stored(visit: (state: StoredState) => void): Promise<void>;
  /**
   * Stores a new message; resolves once it is durable (on disk, fsynced), not before. Appends
   * that arrive together may share one write.
   */
  append(msg: StoredMsg, now: number, key?: number): Promise<StoredMessage>;
  /**
   * The message of `state`, body included, with the state as given (the queue's is the newer: a
   * failure whose record could not be written, a retry-all). A message that is stored and cannot be read by this
   * process (no key, another key) rejects with `KeptUnreadable`: it stays stored, untouched.
   */
  read(state: StoredState): Promise<StoredMessage>;
  /** Records a failed delivery of `message` (as `read` or `append` returned it). */
  fail(message: StoredMessage, attempt: Attempt): Promise<void>;
  /**
   * Removes a delivered or dead message (a kept dead letter: retried, discarded or expired, as
   * `delivered`). Needs only the state: `ref` and `seq` name the message.
   */
  remove(message: StoredState, outcome: Removal): Promise<void>;
  /** Every stored message becomes due at `now` (`health-outbox/retry`, the end of an outage). */
  dueAll(now: number): Promise<void>;
  /** Waits for the writes in progress and releases files (or connections). */
  close(): Promise<void>;
}

/**
 * A stored message this process cannot read (`reason`: no key, another key, damage): the queue
 * keeps it aside, neither handed out nor removed nor holding back its patient, until the storage
 * is opened again (with the right key it comes back).
 */
export class KeptUnreadable extends Error {
  constructor(readonly reason: string) {
    super(`outbox: a stored message cannot be read (${reason})`);
  }
}

/**
 * The order key of a text (a patient): a 32-bit hash, never 0 (0 is "no key"). Two patients
 * whose keys collide are only kept in order together, which costs nothing but a little delay.
 */
export function orderKey(text: string): number {
  // FNV-1a over UTF-16 code units: cheap and stable across releases (keys are on disk)
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0 || 1;
}

/** The fields the outbox never stores: the receiver's ack handle lives in memory only. */
export function storable(msg: Record<string, unknown>): StoredMsg {
  // nor `error`: health-ack reads it as a failed delivery, so a message that came from a Catch
  // node would fail every delivery
  const { _ack: _ignoredAck, _msgid: _ignoredId, error: _ignoredError, ...rest } = msg;
  return rest;
}
