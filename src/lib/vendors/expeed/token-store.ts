import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ExpeedError } from './errors';
import { dayIn } from './time';

/**
 * Where an Expeed account keeps its access token and the day's count of token calls
 * (docs/nodes/expeed-account.md#the-token-and-its-budget). Two implementations:
 * - `FileTokenStore` (below): this instance alone, in `<userDir>/health-bridge/expeed-<id>.json`,
 *   so a restart neither fetches a new token nor forgets the budget;
 * - `RedisTokenStore` (redis-state.ts): every Node-RED instance running the same flow, through the
 *   health-redis config node the account names in `state`: one token, one refresh at a time, one
 *   count a day for all of them.
 * The account keeps the token it uses in memory and asks its store only when it has none it can
 * use: at start, near the end of its life, or when the platform calls it expired.
 */

export interface KeptToken {
  accessToken: string;
  /** Epoch ms at which it was obtained (its life is `expiresAt - obtainedAt`). */
  obtainedAt: number;
  /** Epoch ms at which the vendor's `expires_in` runs out. */
  expiresAt: number;
}

export interface TokenStore {
  /** Token calls counted today (the day in the account's `tz`), as far as this instance knows. */
  readonly callsToday: number;
  /**
   * A token `usable` accepts: the one kept, or else the one `fetch` gets from the platform, which
   * is then kept. Among everyone sharing the store one fetch runs at a time; the others wait for
   * its token. `fetch` calls `count` before it calls the platform.
   */
  renew(usable: (token: KeptToken) => boolean, fetch: () => Promise<KeptToken>): Promise<KeptToken>;
  /** Counts one token call against `cap` before it is made; throws `token-cap` past it. */
  count(cap: number): Promise<void>;
  /** Waits for what is still being written. */
  close(): Promise<void>;
}

/** What the state file holds: nothing secret but the token itself. */
const savedState = z.object({
  version: z.literal(1),
  apiBase: z.string(),
  platformKey: z.string(),
  day: z.string(),
  tokenCalls: z.number().int().min(0),
  token: z.object({ accessToken: z.string(), obtainedAt: z.number(), expiresAt: z.number() }).optional(),
});
type SavedState = z.infer<typeof savedState>;

export interface FileTokenStoreOptions {
  apiBase: string;
  platformKey: string;
  tz: string;
  /** Where the token and the day's count are kept; memory only without it. */
  stateFile?: string;
  /** A state file that cannot be written costs persistence, never a call: reported, not thrown. */
  onStateError?(error: unknown): void;
  now(): number;
}

/** The token and the day's count of one instance, in a small file (mode 0600) read at start. */
export class FileTokenStore implements TokenStore {
  private state: SavedState;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: FileTokenStoreOptions) {
    this.state = this.load();
  }

  get callsToday(): number {
    return this.state.day === dayIn(this.options.now(), this.options.tz) ? this.state.tokenCalls : 0;
  }

  async renew(usable: (token: KeptToken) => boolean, fetch: () => Promise<KeptToken>): Promise<KeptToken> {
    const kept = this.state.token;
    if (kept && usable(kept)) return kept;
    const token = await fetch();
    this.state = { ...this.state, token };
    await this.save();
    return token;
  }

  async count(cap: number): Promise<void> {
    const day = dayIn(this.options.now(), this.options.tz);
    if (this.state.day !== day) this.state = { ...this.state, day, tokenCalls: 0 };
    if (this.state.tokenCalls >= cap) throw new ExpeedError('token-cap', { cap, day });
    // Counted before the call: a call that fails or a crash mid-way still spent one of the day's.
    this.state = { ...this.state, tokenCalls: this.state.tokenCalls + 1 };
    await this.save();
  }

  close(): Promise<void> {
    return this.saving;
  }

  private fresh(): SavedState {
    return {
      version: 1,
      apiBase: this.options.apiBase,
      platformKey: this.options.platformKey,
      day: dayIn(this.options.now(), this.options.tz),
      tokenCalls: 0,
    };
  }

  private load(): SavedState {
    const file = this.options.stateFile;
    if (!file) return this.fresh();
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.options.onStateError?.(error);
      return this.fresh();
    }
    try {
      const saved = savedState.parse(JSON.parse(text));
      // Another platform or key: its token is no good here. The count stays: it is the same account
      // node, and a user who edits the key should not get a fresh budget by doing so.
      if (saved.apiBase !== this.options.apiBase || saved.platformKey !== this.options.platformKey) {
        const { token: _other, ...rest } = saved;
        return { ...rest, apiBase: this.options.apiBase, platformKey: this.options.platformKey };
      }
      return saved;
    } catch (error) {
      this.options.onStateError?.(error);
      return this.fresh();
    }
  }

  /** Writes the state atomically (a temporary file renamed over it), readable by the owner only. */
  private save(): Promise<void> {
    const file = this.options.stateFile;
    if (!file) return Promise.resolve();
    const text = JSON.stringify(this.state);
    this.saving = this.saving.then(async () => {
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        const temporary = `${file}.${process.pid}.tmp`;
        await fs.promises.writeFile(temporary, text, { mode: 0o600 });
        await fs.promises.chmod(temporary, 0o600);
        await fs.promises.rename(temporary, file);
      } catch (error) {
        this.options.onStateError?.(error);
      }
    });
    return this.saving;
  }
}

/**
 * The store of an account whose `state` cannot be used (no such health-redis config node, or an
 * invalid one): every token it would need fails with the reason. Falling back to this instance's
 * own file would spend the shared daily budget behind the other instances' backs.
 */
export class UnavailableTokenStore implements TokenStore {
  readonly callsToday = 0;
  constructor(private readonly reason: string) {}
  renew(): Promise<KeptToken> {
    return Promise.reject(new ExpeedError('state-unavailable', { message: this.reason }));
  }
  count(): Promise<void> {
    return Promise.reject(new ExpeedError('state-unavailable', { message: this.reason }));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
