import { randomBytes } from 'node:crypto';
import { redisFailureText } from '../redis/failure';
import { digestOf } from './memory';
import type { ClaimResult, DedupStore } from './store';

/**
 * The dedup store of a receiver with `state`: its keys in Redis, shared by every Node-RED
 * instance that runs the same flow, so that copies of one push reaching several instances at once
 * are emitted once.
 *
 * One Redis key per vendor key: `<prefix>dedup:<receiver id>:<digest in hex>`. Instances running
 * the same flows have the same receiver ids; two receivers of one instance keep apart, as they do
 * in memory. Its value is the claimer's token while the push is being handled, `seen` once it is
 * confirmed.
 * - claim: `SET key <token> NX PX <ackTimeout + margin>`. Only one caller, on any instance, gets
 *   it; the others read the key and learn `seen` or `pending` (the receiver core asks again while
 *   it is pending, so a copy waiting on another instance gets the outcome of the first). The
 *   expiry frees a claim whose instance died before confirming or releasing it.
 * - confirm: `SET key seen PX <dedupHours>`, whoever holds it now: the push is stored.
 * - release: deleted only if the claim is still ours (a script compares the token), so that a
 *   claim that expired and was taken by another instance is left alone.
 * - `ack: auto` (`confirmAtClaim`): the push is answered with success as soon as it is handed to
 *   the flow, so the claim writes `seen:<token>` for the whole window at once, and confirm writes
 *   nothing: one round trip a push. Release still compares the token.
 * Redis unreachable: the command rejects at once (the connection keeps no offline queue), the
 * claim fails, and the core answers 503.
 */

/** What a store needs of a Redis client: the commands it sends. */
export interface RedisDedupClient {
  set(key: string, value: string, options: { condition?: 'NX'; expiration: { type: 'PX'; value: number } }): Promise<string | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface RedisDedupOptions {
  /** 0 turns dedup off (no key is written). */
  windowMs: number;
  /** How long a push may take (the receiver's ackTimeout): a claim outlives it by CLAIM_MARGIN_MS. */
  ackTimeoutMs: number;
  /** `<health-redis prefix>dedup:<receiver id>:`. */
  keyPrefix: string;
  /**
   * The push is as good as confirmed when claimed (`ack: auto`: it is handed to the flow at once
   * and answered with success): the claim writes the outcome for the whole window, and `confirm`
   * has nothing left to write. One round trip a push instead of two.
   */
  confirmAtClaim?: boolean;
  /** A wait before a claim, while the connection is still being made for the first time (`RedisConnection.firstConnection`). */
  beforeClaim?: () => Promise<void> | undefined;
}

/** How long a claim outlives its push's ackTimeout: time for the confirm or release to arrive. */
export const CLAIM_MARGIN_MS = 5000;

const SEEN = 'seen';
/** The value of a claim made `confirmAtClaim`: seen, and still the claimer's to release. */
const SEEN_BY = 'seen:';

/** DEL the key if it still holds this token (a claim that expired may have been taken since). */
const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export class RedisDedupStore implements DedupStore {
  /** Unique to this store; a claim's token adds a counter to it. */
  private readonly owner = randomBytes(8).toString('hex');
  private counter = 0;
  /** The token of each claim this store holds, by Redis key. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly client: RedisDedupClient, private readonly options: RedisDedupOptions) {}

  async claim(key: string): Promise<ClaimResult> {
    if (this.options.windowMs <= 0) return 'claimed';
    const connecting = this.options.beforeClaim?.();
    if (connecting) await connecting;
    try {
      return await this.claimNow(key);
    } catch (error) {
      // the receiver's rejection and status quote it: say that Redis failed, and how
      throw new Error(redisFailureText(error));
    }
  }

  private async claimNow(key: string): Promise<ClaimResult> {
    const redisKey = this.redisKey(key);
    const atOnce = this.options.confirmAtClaim === true;
    const token = `${atOnce ? SEEN_BY : ''}${this.owner}:${++this.counter}`;
    const set = await this.client.set(redisKey, token, {
      condition: 'NX',
      expiration: { type: 'PX', value: atOnce ? Math.round(this.options.windowMs) : this.options.ackTimeoutMs + CLAIM_MARGIN_MS },
    });
    if (set === 'OK') {
      this.tokens.set(redisKey, token);
      return 'claimed';
    }
    // Gone between the two commands (released, or expired): pending, so that the core asks again.
    const value = await this.client.get(redisKey);
    return value === SEEN || value?.startsWith(SEEN_BY) ? 'seen' : 'pending';
  }

  async confirm(key: string): Promise<void> {
    if (this.options.windowMs <= 0) return;
    const redisKey = this.redisKey(key);
    const token = this.tokens.get(redisKey);
    this.tokens.delete(redisKey);
    if (token?.startsWith(SEEN_BY)) return;
    await this.client.set(redisKey, SEEN, { expiration: { type: 'PX', value: Math.round(this.options.windowMs) } });
  }

  async release(key: string): Promise<void> {
    if (this.options.windowMs <= 0) return;
    const redisKey = this.redisKey(key);
    const token = this.tokens.get(redisKey);
    this.tokens.delete(redisKey);
    if (token !== undefined) await this.client.eval(RELEASE_SCRIPT, { keys: [redisKey], arguments: [token] });
  }

  /** The connection is the config node's, closed with it; claims still held expire by themselves. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private redisKey(key: string): string {
    return `${this.options.keyPrefix}${Buffer.from(digestOf(key), 'latin1').toString('hex')}`;
  }
}

/** The store of a receiver whose `state` cannot be used: every claim fails with the reason (503). */
export class UnavailableDedupStore implements DedupStore {
  constructor(private readonly reason: () => Error) {}
  claim(): Promise<ClaimResult> {
    return Promise.reject(this.reason());
  }
  confirm(): Promise<void> {
    return Promise.resolve();
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
