import { createHash } from 'node:crypto';

/**
 * Remembers which pushes a receiver has already handed to the flow, for `dedupHours`, so that a
 * vendor's retry or double push is acknowledged without being emitted twice (SPEC §5).
 *
 * Each vendor key is stored as the first 16 bytes of its SHA-256 in a one-byte string, and its
 * expiry as whole seconds since this module loaded (a small integer V8 keeps unboxed), so one
 * remembered key costs well under 100 bytes whatever the vendor's key looks like. A Map keeps
 * insertion order and every key lives for the same window, so the oldest entry is always first:
 * expiry and the hard bound both evict from the front in O(1).
 */

const CLOCK_BASE_MS = Date.now();

/** Where a receiver keeps its keys across restarts: a Node-RED context store, in practice. */
export interface KeyValueStore {
  get(name: string): Promise<unknown>;
  set(name: string, value: unknown): Promise<void>;
}

export interface DedupOptions {
  /** 0 turns dedup off. */
  windowMs: number;
  /** The hard bound on remembered keys; past it the oldest are forgotten first. */
  maxKeys: number;
  /** Persist the keys here; without it they live in memory only. */
  store?: KeyValueStore;
  /** How long after a change the keys are written to the store (one write per burst). */
  saveDelayMs?: number;
  /** A store that fails to load or save costs dedup, never a push: it is reported, not thrown. */
  onStoreError?: (error: unknown) => void;
  now?: () => number;
}

/** Name of the context variable that holds the keys in a persistent store. */
export const DEDUP_CONTEXT_KEY = 'health-bridge-dedup';

type SavedKeys = Array<[digest: string, expiresAtMs: number]>;

export class DedupMemory {
  private readonly expiries = new Map<string, number>();
  private readonly now: () => number;
  private saveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Settles once keys saved by an earlier run are back; checks wait for it. */
  readonly ready: Promise<void>;

  constructor(private readonly options: DedupOptions) {
    this.now = options.now ?? Date.now;
    this.ready =
      options.store && options.windowMs > 0
        ? this.load(options.store).catch((error: unknown) => options.onStoreError?.(error))
        : Promise.resolve();
  }

  get size(): number {
    return this.expiries.size;
  }

  has(key: string): boolean {
    if (this.options.windowMs <= 0) return false;
    this.evictExpired();
    return this.expiries.has(compactKey(key));
  }

  remember(key: string): void {
    if (this.options.windowMs <= 0) return;
    const compact = compactKey(key);
    // Re-inserting moves the key to the back, keeping the Map in expiry order.
    this.expiries.delete(compact);
    this.expiries.set(compact, this.secondsFromBase(this.now() + this.options.windowMs));
    this.evictExpired();
    while (this.expiries.size > this.options.maxKeys) this.dropOldest();
    this.scheduleSave();
  }

  /** Writes pending changes now; later changes (a push answered while closing) stay in memory. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      await this.save();
    }
  }

  private secondsFromBase(epochMs: number): number {
    return Math.ceil((epochMs - CLOCK_BASE_MS) / 1000);
  }

  private evictExpired(): void {
    const nowSeconds = this.secondsFromBase(this.now());
    for (const [compact, expiry] of this.expiries) {
      if (expiry > nowSeconds) break;
      this.expiries.delete(compact);
    }
  }

  private dropOldest(): void {
    const oldest = this.expiries.keys().next();
    if (!oldest.done) this.expiries.delete(oldest.value);
  }

  private scheduleSave(): void {
    if (!this.options.store || this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch((error: unknown) => this.options.onStoreError?.(error));
    }, this.options.saveDelayMs ?? 1000);
  }

  private async save(): Promise<void> {
    const saved: SavedKeys = [];
    for (const [compact, expiry] of this.expiries) {
      saved.push([Buffer.from(compact, 'latin1').toString('base64'), CLOCK_BASE_MS + expiry * 1000]);
    }
    await this.options.store?.set(DEDUP_CONTEXT_KEY, saved);
  }

  private async load(store: KeyValueStore): Promise<void> {
    const saved = await store.get(DEDUP_CONTEXT_KEY);
    if (!Array.isArray(saved)) return;
    const nowMs = this.now();
    const entries = (saved as SavedKeys)
      .filter(([digest, expiresAt]) => typeof digest === 'string' && typeof expiresAt === 'number' && expiresAt > nowMs)
      .sort((a, b) => a[1] - b[1]);
    for (const [digest, expiresAt] of entries) {
      this.expiries.set(Buffer.from(digest, 'base64').toString('latin1'), this.secondsFromBase(expiresAt));
    }
    while (this.expiries.size > this.options.maxKeys) this.dropOldest();
  }
}

function compactKey(key: string): string {
  return createHash('sha256').update(key).digest().subarray(0, 16).toString('latin1');
}
