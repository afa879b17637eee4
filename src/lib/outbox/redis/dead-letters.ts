import type { DeadLetter, Selection } from '../dead-letters';
import type { Clock } from '../queue';
import { KeptUnreadable, type StoredMsg } from '../storage';
import { flat, runScript, type DeadRecord, type RecordCodec, type RedisScriptClient } from './records';
import { DEAD_EXPIRE, DEAD_PAGE, DEAD_REMOVE } from './scripts';

/**
 * The dead letters of an outbox on Redis, shared by its instances: the queue's settle script
 * keeps a letter in the same step that removes the message (scripts.ts REMOVE), and this lists,
 * retries, discards and expires them (`keepDeadLettersDays`) with the API of the file store
 * (../dead-letters.ts), so the admin API and the sidebar work the same. Their count is the
 * queue's figure, read from Redis.
 */

export interface RedisDeadLetterOptions {
  client: RedisScriptClient;
  keyPrefix: string;
  codec: RecordCodec;
  keepMs: number;
  clock: Clock;
  /** The count as last read from Redis (the queue's figures). */
  count(): number;
  onError?(error: unknown): void;
}

/** Letters read, queued again and removed at a time. */
const BATCH = 200;
/** How often the expired letters are removed (by whichever instance; it is the same work). */
const EXPIRE_EVERY_MS = 60_000;

interface KeptLetter {
  msg?: unknown;
  queuedAt?: unknown;
  tries?: unknown;
  error?: unknown;
}

export class RedisDeadLetters {
  private timer: unknown;
  private closed = false;

  constructor(private readonly options: RedisDeadLetterOptions) {
    const { clock } = options;
    const tick = (): unknown => clock.setTimeout(() => {
      this.expire().catch((error: unknown) => options.onError?.(error));
      if (!this.closed) this.timer = tick();
    }, EXPIRE_EVERY_MS);
    this.timer = tick();
  }

  count(): number {
    return this.options.count();
  }

  /** A page, with the count of all kept letters read with it (the shared count, not this instance's). */
  async page(after: number, limit: number): Promise<{ letters: DeadLetter[]; more: boolean; total: number }> {
    await this.expire();
    const letters: DeadLetter[] = [];
    const total = await this.read(after, limit + 1, letters);
    return { letters: letters.slice(0, limit), more: letters.length > limit, total };
  }

  /**
   * The selected letters back into the queue (through `requeue`, in the order the outbox first
   * accepted them), then removed here: a crash between the two sends one twice, never none.
   */
  async retry(selection: Selection, requeue: (letters: DeadLetter[]) => Promise<void>): Promise<number> {
    await this.expire();
    let count = 0;
    const take = async (letters: DeadLetter[]): Promise<void> => {
      const readable = letters.filter((letter) => letter.msg !== undefined);
      readable.sort((a, b) => a.queuedAt! - b.queuedAt! || a.seq - b.seq);
      if (!readable.length) return;
      await requeue(readable);
      await this.remove(readable.map((letter) => letter.seq));
      count += readable.length;
    };
    if ('all' in selection) {
      let after = 0;
      for (;;) {
        const letters = await this.read(after, BATCH);
        if (!letters.length) break;
        await take(letters);
        after = letters[letters.length - 1].seq;
      }
    } else {
      const wanted = [...new Set(selection.entries)].sort((a, b) => a - b);
      for (let at = 0; at < wanted.length; at += BATCH) {
        const wantedBatch = new Set(wanted.slice(at, at + BATCH));
        const letters = (await this.readIds([...wantedBatch]));
        await take(letters);
      }
    }
    return count;
  }

  async discard(selection: Selection): Promise<number> {
    if (!('all' in selection)) return this.remove([...new Set(selection.entries)]);
    let count = 0;
    for (;;) {
      const letters = await this.read(0, BATCH);
      if (!letters.length) return count;
      count += await this.remove(letters.map((letter) => letter.seq));
    }
  }

  async expire(): Promise<void> {
    const before = this.options.clock.now() - this.options.keepMs;
    await runScript(this.options.client, DEAD_EXPIRE, this.keys(), [this.options.keepMs <= 0 ? Number.MAX_SAFE_INTEGER : before]);
  }

  close(): Promise<void> {
    this.closed = true;
    this.options.clock.clearTimeout(this.timer);
    return Promise.resolve();
  }

  private keys(): string[] {
    return [`${this.options.keyPrefix}dead:index`, `${this.options.keyPrefix}dead`];
  }

  private async remove(ids: number[]): Promise<number> {
    if (!ids.length) return 0;
    return Number(await runScript(this.options.client, DEAD_REMOVE, this.keys(), ids));
  }

  /** Reads letters after `after` into `into` (or a new list); returns the count of all or, without `into`, the letters. */
  private async read(after: number, limit: number): Promise<DeadLetter[]>;
  private async read(after: number, limit: number, into: DeadLetter[]): Promise<number>;
  private async read(after: number, limit: number, into?: DeadLetter[]): Promise<DeadLetter[] | number> {
    const reply = flat(await runScript(this.options.client, DEAD_PAGE, this.keys(), [after, limit]));
    const letters = into ?? [];
    for (let at = 1; at + 1 < reply.length; at += 2) letters.push(this.letter(Number(reply[at]), reply[at + 1]));
    return into ? Number(reply[0] ?? 0) : letters;
  }

  private async readIds(ids: number[]): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    // ids are sorted: read the span they cover, keep the wanted ones
    const wanted = new Set(ids);
    let after = ids[0] - 1;
    const last = ids[ids.length - 1];
    while (after < last) {
      const page = await this.read(after, BATCH);
      if (!page.length) break;
      for (const letter of page) if (wanted.has(letter.seq)) letters.push(letter);
      after = page[page.length - 1].seq;
    }
    return letters;
  }

  private letter(seq: number, text: string): DeadLetter {
    const record = JSON.parse(text) as DeadRecord;
    const known = { seq, deadAt: record.d, key: record.k };
    try {
      const kept = this.options.codec.open(record.r) as KeptLetter;
      return {
        ...known,
        msg: isRecord(kept.msg) ? (kept.msg as StoredMsg) : {},
        queuedAt: typeof kept.queuedAt === 'number' ? kept.queuedAt : record.d,
        tries: typeof kept.tries === 'number' ? kept.tries : 0,
        error: typeof kept.error === 'string' ? kept.error : '',
      };
    } catch (error) {
      return { ...known, unreadable: error instanceof KeptUnreadable ? error.reason : 'format' };
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
