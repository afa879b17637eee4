import { createHash } from 'node:crypto';
import type { ClaimResult, DedupStore } from './store';

/**
 * The keys a receiver remembers, for `dedupHours`, in its own process.
 *
 * Each vendor key is stored as the first 16 bytes of its SHA-256 in a one-byte string (a digest),
 * and its expiry as whole seconds since this module loaded (a small integer V8 keeps unboxed), so
 * one remembered key costs well under 100 bytes whatever the vendor's key looks like. A Map keeps
 * insertion order and every key lives for the same window, so the oldest entry is always first:
 * expiry and the hard bound both evict from the front in O(1).
 */

const CLOCK_BASE_MS = Date.now();

export interface DedupMemoryOptions {
  /** 0 turns dedup off. */
  windowMs: number;
  /** The hard bound on remembered keys; past it the oldest are forgotten first. */
  maxKeys: number;
  now?: () => number;
}

/** A vendor key as the stores keep it: the first 16 bytes of its SHA-256, one byte a character. */
export function digestOf(key: string): string {
  return createHash('sha256').update(key).digest().subarray(0, 16).toString('latin1');
}

export class DedupMemory {
  private readonly expiries = new Map<string, number>();
  readonly now: () => number;

  constructor(private readonly options: DedupMemoryOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.expiries.size;
  }

  get windowMs(): number {
    return this.options.windowMs;
  }

  has(key: string): boolean {
    return this.hasDigest(digestOf(key));
  }

  remember(key: string): void {
    this.rememberDigest(digestOf(key));
  }

  hasDigest(digest: string): boolean {
    if (this.options.windowMs <= 0) return false;
    this.evictExpired();
    return this.expiries.has(digest);
  }

  /** Keeps a digest for the window from now (or until `expiresAtMs`); returns its expiry (epoch ms). */
  rememberDigest(digest: string, expiresAtMs = this.now() + this.options.windowMs): number {
    if (this.options.windowMs <= 0) return expiresAtMs;
    const expiry = Math.ceil((expiresAtMs - CLOCK_BASE_MS) / 1000);
    // Re-inserting moves the key to the back, keeping the Map in expiry order (keys restored from
    // a store are restored oldest first for the same reason).
    this.expiries.delete(digest);
    this.expiries.set(digest, expiry);
    this.evictExpired();
    while (this.expiries.size > this.options.maxKeys) this.dropOldest();
    return CLOCK_BASE_MS + expiry * 1000;
  }

  /** When a remembered digest expires (epoch ms), or undefined when it is not remembered. */
  expiryOf(digest: string): number | undefined {
    const expiry = this.expiries.get(digest);
    return expiry === undefined ? undefined : CLOCK_BASE_MS + expiry * 1000;
  }

  private evictExpired(): void {
    const nowSeconds = Math.ceil((this.now() - CLOCK_BASE_MS) / 1000);
    for (const [digest, expiry] of this.expiries) {
      if (expiry > nowSeconds) break;
      this.expiries.delete(digest);
    }
  }

  private dropOldest(): void {
    const oldest = this.expiries.keys().next();
    if (!oldest.done) this.expiries.delete(oldest.value);
  }
}

/**
 * The store of a receiver without `dedupStore`: its keys in memory, gone at a restart. Claims are
 * synchronous underneath, so atomic; a claimed key waits in `claimed` until it is confirmed into
 * the memory or released.
 */
export class MemoryDedupStore implements DedupStore {
  readonly memory: DedupMemory;
  private readonly claimed = new Set<string>();

  constructor(options: DedupMemoryOptions, private readonly onConfirmed?: (digest: string, expiresAtMs: number) => void) {
    this.memory = new DedupMemory(options);
  }

  claim(key: string): Promise<ClaimResult> {
    return Promise.resolve(this.claimNow(key));
  }

  claimNow(key: string): ClaimResult {
    // dedup off: every copy is emitted
    if (this.memory.windowMs <= 0) return 'claimed';
    const digest = digestOf(key);
    if (this.memory.hasDigest(digest)) return 'seen';
    if (this.claimed.has(digest)) return 'pending';
    this.claimed.add(digest);
    return 'claimed';
  }

  confirm(key: string): Promise<void> {
    if (this.memory.windowMs > 0) {
      const digest = digestOf(key);
      this.claimed.delete(digest);
      const expiresAtMs = this.memory.rememberDigest(digest);
      this.onConfirmed?.(digest, expiresAtMs);
    }
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.claimed.delete(digestOf(key));
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
