/**
 * The storage behind `health-outbox` (SPEC §8): what the queue needs from wherever the messages
 * wait. The file log (file-log.ts) is the one implementation today; a Redis stream (SPEC §9) is
 * meant to be the second, so nothing here says "file". The queue (queue.ts) decides when and
 * what; the storage only keeps the messages and their delivery state, durably.
 */

/** A Node-RED msg as the outbox stores it: its JSON, without `_ack` and `_msgid`. */
export type StoredMsg = Record<string, unknown>;

/** A waiting message as the storage hands it out. */
export interface StoredMessage {
  /** Given once at append; the same across restarts and re-deliveries. */
  readonly id: string;
  /** Epoch ms at which the outbox accepted it. */
  readonly enqueuedAt: number;
  /** Deliveries that failed so far. */
  readonly attempts: number;
  /** Epoch ms before which it is not handed out again. */
  readonly nextAt: number;
  /** `msg.error` of the last failed delivery, as text. */
  readonly lastError?: string;
  readonly msg: StoredMsg;
}

export type Settlement =
  | { ok: true }
  | { ok: false; error: string; nextAt: number }
  | { dead: true; error: string };

export interface StorageStats {
  /** Messages waiting, in flight included. */
  count: number;
  /** Of them, handed out and not settled yet. */
  leased: number;
  /** `enqueuedAt` of the oldest waiting message, undefined when none waits. */
  oldestEnqueuedAt?: number;
  /** The earliest `nextAt` of the messages not in flight. */
  nextAt?: number;
}

export interface OutboxStorage {
  /**
   * Stores a new message; resolves once it is durable (on disk, fsynced), not before. Appends
   * that arrive together share one write and one fsync.
   */
  append(msg: StoredMsg, now: number, key?: number): Promise<StoredMessage>;
  /**
   * Up to `limit` messages with `nextAt ≤ now` that are not in flight, earliest `nextAt` first
   * (enqueue order among equals), marked in flight until settled. A message with an order key
   * (not 0) is not handed out while an older message of the same key waits or is in flight,
   * unless that one was unblocked. After a restart nothing is in flight: what was is handed out
   * again (at least once).
   */
  lease(now: number, limit: number): Promise<StoredMessage[]>;
  /** The earliest `nextAt` of the messages not in flight (what `stats().nextAt` says, cheaply). */
  nextDue(): number | undefined;
  /** Ends a lease: delivered (gone), failed (waits until `nextAt`), or dead (gone). */
  settle(message: StoredMessage, outcome: Settlement): Promise<void>;
  /**
   * The message (handed out before, still waiting) no longer holds back the later messages of
   * its key: the hospital refuses it while it accepts others. Kept in memory only.
   */
  unblock(message: StoredMessage): void;
  /** True when every waiting message has the order key of `message` (one patient's queue). */
  soleKey(message: StoredMessage): boolean;
  /** Every waiting message not in flight becomes due at `now`. */
  retryAll(now: number): Promise<void>;
  /** For the status; may cost a scan (the oldest), so not for every message. */
  stats(): StorageStats;
  /** Waits for the writes in progress and releases files (or connections). */
  close(): Promise<void>;
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
