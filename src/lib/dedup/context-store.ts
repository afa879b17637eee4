import { MemoryDedupStore, type DedupMemoryOptions } from './memory';
import type { ClaimResult, DedupStore } from './store';

/**
 * The store of a receiver with `dedupStore`: the memory store, whose confirmed keys are also
 * written to a Node-RED context store, so that a restart in the middle of a vendor's retries does
 * not emit them again.
 *
 * The keys are saved in buckets by the hour they expire in, one context variable a bucket
 * (`health-bridge-dedup-h<hour since 1970>`). A burst of pushes rewrites the bucket of the current
 * hour only (about 1/72 of the keys with the default window), not every key the receiver holds,
 * and a bucket whose hour has passed is deleted whole, without reading it. Release 0.1.0 saved
 * every key in one variable (`health-bridge-dedup`); it is read once, written as buckets, and
 * deleted.
 *
 * A bucket is `{ digests, expires }`: the 16-byte digests concatenated in base64, and each one's
 * expiry in seconds after the bucket's hour began (about 27 characters a key, against about 43 in
 * 0.1.0's `[digest, expiresAtMs]` pairs).
 */

/** Where the keys are kept across restarts: a Node-RED context store, in practice. */
export interface KeyValueStore {
  get(name: string): Promise<unknown>;
  set(name: string, value: unknown): Promise<void>;
  delete(name: string): Promise<void>;
  keys(): Promise<string[]>;
}

export interface ContextDedupOptions extends DedupMemoryOptions {
  /** How long after a change the changed buckets are written (one write per burst). */
  saveDelayMs?: number;
  /**
   * A save that fails costs dedup across a restart, never a push: it is reported here and tried
   * again with the next change. The first load, started at once, is reported here too when it
   * fails; until a load succeeds the claims fail (see DedupStore), each trying it again.
   */
  onError?: (error: unknown) => void;
}

/** The variable release 0.1.0 kept every key in: `[[digest in base64, expiresAtMs], …]`. */
export const LEGACY_CONTEXT_KEY = 'health-bridge-dedup';
const BUCKET_PREFIX = `${LEGACY_CONTEXT_KEY}-h`;
const BUCKET_NAME = /^health-bridge-dedup-h(\d+)$/;
const HOUR_MS = 3_600_000;

interface Bucket {
  digests: string;
  expires: number[];
}

const bucketName = (hour: number): string => `${BUCKET_PREFIX}${hour}`;
const hourOf = (epochMs: number): number => Math.floor(epochMs / HOUR_MS);

export class ContextDedupStore implements DedupStore {
  private readonly inner: MemoryDedupStore;
  /** Per bucket hour, the digests confirmed into it (some may have left the memory since). */
  private readonly buckets = new Map<number, string[]>();
  private readonly dirty = new Set<number>();
  private loading: Promise<void> | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly store: KeyValueStore, private readonly options: ContextDedupOptions) {
    this.inner = new MemoryDedupStore(options, (digest, expiresAtMs) => {
      this.add(digest, expiresAtMs);
      this.scheduleSave();
    });
    // Start reading at once, so the first push does not wait for it.
    if (options.windowMs > 0) void this.loaded().catch((error: unknown) => options.onError?.(error));
  }

  get size(): number {
    return this.inner.memory.size;
  }

  async claim(key: string): Promise<ClaimResult> {
    // Until the keys of the last run are back, no claim can be answered: a push would be emitted
    // that the last run already handed to the flow.
    if (this.options.windowMs > 0) await this.loaded();
    return this.inner.claimNow(key);
  }

  confirm(key: string): Promise<void> {
    return this.inner.confirm(key);
  }

  release(key: string): Promise<void> {
    return this.inner.release(key);
  }

  /** Writes the changed buckets now; later changes (a push answered while closing) stay in memory. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      await this.save();
    }
    await this.saving;
  }

  /** The load, started once and started again after it failed (the store may be back). */
  private loaded(): Promise<void> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const names = await this.store.keys();
    const nowMs = this.inner.memory.now();
    const entries: Array<[digest: string, expiresAtMs: number]> = [];
    const expired: string[] = [];
    // Hour by hour, each bucket oldest first: the keys come in expiry order, as the memory keeps them.
    const hours = names.flatMap((name) => BUCKET_NAME.exec(name)?.[1] ?? []).map(Number).sort((a, b) => a - b);
    for (const hour of hours) {
      if ((hour + 1) * HOUR_MS <= nowMs) expired.push(bucketName(hour));
      else for (const entry of readBucket(hour, await this.store.get(bucketName(hour)))) entries.push(entry);
    }
    const legacy = names.includes(LEGACY_CONTEXT_KEY) ? readLegacy(await this.store.get(LEGACY_CONTEXT_KEY)) : undefined;
    if (legacy) {
      for (const entry of legacy) entries.push(entry);
      entries.sort((a, b) => a[1] - b[1]);
    }
    for (const [digest, expiresAtMs] of entries) {
      if (expiresAtMs <= nowMs) continue;
      this.add(digest, this.inner.memory.rememberDigest(digest, expiresAtMs));
    }
    for (const name of expired) await this.store.delete(name);
    if (!legacy) {
      // what was just read is what the store holds
      this.dirty.clear();
      return;
    }
    // Written as buckets first (every bucket the keys went into is marked changed), deleted after:
    // a stop in between reads both again next time.
    await this.save();
    await this.store.delete(LEGACY_CONTEXT_KEY);
  }

  private add(digest: string, expiresAtMs: number): void {
    const hour = hourOf(expiresAtMs);
    let digests = this.buckets.get(hour);
    if (!digests) this.buckets.set(hour, (digests = []));
    digests.push(digest);
    this.dirty.add(hour);
  }

  private scheduleSave(): void {
    if (this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch((error: unknown) => this.options.onError?.(error));
    }, this.options.saveDelayMs ?? 1000);
  }

  /** Writes each changed bucket and deletes the buckets whose hour has passed; one save at a time. */
  private save(): Promise<void> {
    const run = this.saving.catch(() => undefined).then(() => this.writeBuckets());
    this.saving = run;
    return run;
  }

  private async writeBuckets(): Promise<void> {
    const nowMs = this.inner.memory.now();
    for (const hour of this.buckets.keys()) {
      if ((hour + 1) * HOUR_MS <= nowMs) this.dirty.add(hour);
    }
    const hours = [...this.dirty];
    this.dirty.clear();
    try {
      for (const hour of hours) {
        const bucket = (hour + 1) * HOUR_MS <= nowMs ? undefined : this.bucketOf(hour);
        if (bucket) {
          await this.store.set(bucketName(hour), bucket);
        } else {
          this.buckets.delete(hour);
          await this.store.delete(bucketName(hour));
        }
      }
    } catch (error) {
      // Written again with the next save.
      for (const hour of hours) this.dirty.add(hour);
      throw error;
    }
  }

  /** The bucket as saved: its digests still in memory and still expiring in its hour, oldest first. */
  private bucketOf(hour: number): Bucket | undefined {
    const memory = this.inner.memory;
    const live = new Map<string, number>();
    for (const digest of this.buckets.get(hour) ?? []) {
      const expiresAtMs = memory.expiryOf(digest);
      if (expiresAtMs !== undefined && hourOf(expiresAtMs) === hour) live.set(digest, expiresAtMs);
    }
    // Compacted: the list loses what was evicted or remembered again into a later bucket.
    this.buckets.set(hour, [...live.keys()]);
    if (live.size === 0) return undefined;
    const sorted = [...live].sort((a, b) => a[1] - b[1]);
    return {
      digests: Buffer.from(sorted.map(([digest]) => digest).join(''), 'latin1').toString('base64'),
      expires: sorted.map(([, expiresAtMs]) => Math.round((expiresAtMs - hour * HOUR_MS) / 1000)),
    };
  }
}

function readBucket(hour: number, value: unknown): Array<[string, number]> {
  const bucket = value as Partial<Bucket> | undefined;
  if (typeof bucket?.digests !== 'string' || !Array.isArray(bucket.expires)) return [];
  const bytes = Buffer.from(bucket.digests, 'base64');
  const entries: Array<[string, number]> = [];
  bucket.expires.forEach((seconds, index) => {
    if (typeof seconds !== 'number' || (index + 1) * 16 > bytes.length) return;
    entries.push([bytes.subarray(index * 16, (index + 1) * 16).toString('latin1'), hour * HOUR_MS + seconds * 1000]);
  });
  return entries;
}

function readLegacy(value: unknown): Array<[string, number]> | undefined {
  if (!Array.isArray(value)) return undefined;
  const entries: Array<[string, number]> = [];
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry)) continue;
    const [digest, expiresAtMs] = entry as unknown[];
    if (typeof digest === 'string' && typeof expiresAtMs === 'number') entries.push([Buffer.from(digest, 'base64').toString('latin1'), expiresAtMs]);
  }
  return entries;
}
