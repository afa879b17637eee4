import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { createClient, type RedisClientType } from '@redis/client';
import { displayUrl, usesTls, type RedisProperties } from './properties';

/**
 * One connection to Redis, shared by every node that names the same `health-redis` config node
 * in `state`. It connects when the first of them asks for it (`use`: a config node nobody uses
 * opens nothing, as an example flow's would not), reconnects by itself with a growing pause after a loss, and
 * is closed with its config node.
 *
 * Commands fail at once while it is not connected (node-redis's `disableOfflineQueue`) instead of
 * waiting in a queue for the connection to come back: a receiver must answer a vendor within its
 * ackTimeout, and a prompt 503 (which the vendor retries) is worth more than an answer that comes
 * too late or never.
 *
 * At each (re)connection it asks the server for `maxmemory-policy`: a server that may evict keys
 * loses dedup keys (a duplicate emitted) and queued readings (a reading lost), so anything but
 * `noeviction` is reported (the `policy` event). A server that refuses CONFIG (renamed or denied
 * by an ACL, as managed services do) cannot be checked; that is reported as `unknown`.
 *
 * Nothing here writes a credential anywhere: errors are reported with the server's address only.
 */

/**
 * How long a command may take before it fails. A server that stopped answering without closing
 * the connection (frozen, a network that drops packets) would otherwise leave every command
 * waiting for ever, and a receiver's vendor without an answer: after this it gets the 503 it
 * retries, well inside the seconds a vendor waits (Sinocare: 5). Blocking reads are not cut
 * (node-redis leaves commands that block on the server alone once sent).
 */
export const COMMAND_TIMEOUT_MS = 2_000;

export type RedisState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Pauses between reconnection attempts: 100 ms doubling up to 5 s, with some jitter. */
export function reconnectDelayMs(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 10), 5000) + Math.floor(Math.random() * 100);
}

export interface RedisConnectionEvents {
  /** The state changed. */
  state: [state: RedisState];
  /** The server's eviction policy, read after a connection (`unknown`: CONFIG refused). */
  policy: [policy: string];
  /** A connection error, its text without credentials (reported once per loss, not per retry). */
  problem: [message: string];
}

export type RedisCommands = RedisClientType;

export class RedisConnection extends EventEmitter<RedisConnectionEvents> {
  private readonly client: RedisCommands;
  /** The key prefix every user of the connection writes under. */
  readonly prefix: string;
  /** Where it connects to, fit to be shown: no user name, no password. */
  readonly address: string;
  private current: RedisState = 'idle';
  private reportedLoss = false;

  constructor(properties: RedisProperties) {
    super();
    this.prefix = properties.prefix;
    this.address = displayUrl(properties);
    const tls = usesTls(properties);
    const url = new URL(properties.url);
    if (tls) url.protocol = 'rediss:';
    this.client = createClient({
      url: url.toString(),
      ...(properties.username !== undefined && { username: properties.username }),
      ...(properties.password !== undefined && { password: properties.password }),
      disableOfflineQueue: true,
      // `rejectInFlight`: the timeout also ends a command sent and not answered (the frozen server)
      commandOptions: { timeout: COMMAND_TIMEOUT_MS, rejectInFlight: true },
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: reconnectDelayMs,
        ...(tls ? { tls: true as const, ...(properties.ca ? { ca: fs.readFileSync(properties.ca) } : {}) } : {}),
      },
    }) as RedisCommands;
    // Without a listener an 'error' event would end the process; each loss is reported once.
    this.client.on('error', (error: unknown) => {
      if (this.reportedLoss || this.current === 'closed') return;
      this.reportedLoss = true;
      this.emit('problem', `${this.address}: ${safeMessage(error)}`);
    });
    this.client.on('ready', () => {
      this.reportedLoss = false;
      this.setState('connected');
      void this.checkEviction();
    });
    this.client.on('reconnecting', () => this.setState('reconnecting'));
    this.client.on('end', () => this.setState('closed'));
  }

  /** The client, connecting it if nobody has yet. */
  use(): RedisCommands {
    if (this.current === 'idle') {
      this.setState('connecting');
      // The first attempt may fail too (Redis not up yet): the client keeps trying by itself.
      this.client.connect().catch(() => undefined);
    }
    return this.client;
  }

  get state(): RedisState {
    return this.current;
  }

  get connected(): boolean {
    return this.current === 'connected';
  }

  /** Closes the connection: commands sent already are answered first; a reconnection is stopped. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    try {
      if (this.client.isReady) await this.client.close();
    } catch {
      // closed meanwhile: destroyed below if still open
    }
    if (this.client.isOpen) this.client.destroy();
  }

  private setState(state: RedisState): void {
    if (this.current === state || (this.current === 'closed' && state !== 'closed')) return;
    this.current = state;
    this.emit('state', state);
  }

  private async checkEviction(): Promise<void> {
    let policy = 'unknown';
    try {
      const reply = (await this.client.configGet('maxmemory-policy')) as Record<string, string>;
      policy = reply['maxmemory-policy'] ?? 'unknown';
    } catch {
      // CONFIG renamed away or denied: nothing to check against
    }
    if (this.current === 'connected') this.emit('policy', policy);
  }
}

/** An error's text without what a URL may carry before its host (a user name and password). */
export function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\b(rediss?:\/\/)[^@\s/]*@/g, '$1');
}
