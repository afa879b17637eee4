import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { ClientOfflineError, createClient, createSentinel, type RedisClientType } from '@redis/client';
import { COMMAND_TIMEOUT_MS, safeMessage } from './failure';
import { REDIS_DEFAULTS, displayUrl, sentinelNodes, usesTls, type RedisProperties } from './properties';

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
 * With `sentinels`, the connection asks the Sentinels which server is the primary named
 * `sentinelName`, and follows it through a failover (node-redis's `createSentinel`); see
 * `connectThroughSentinels`.
 *
 * Nothing here writes a credential anywhere: errors are reported with the server's address only.
 */


/** How long a command waits for the first connection after a deploy (see `firstConnection`). */
export const FIRST_CONNECTION_WAIT_MS = 2_000;

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
  private readonly throughSentinels: boolean;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;
  private reportedLoss = false;

  constructor(properties: RedisProperties) {
    super();
    this.prefix = properties.prefix;
    this.address = displayUrl(properties);
    const tls = usesTls(properties);
    const socket = {
      connectTimeout: 5000,
      reconnectStrategy: reconnectDelayMs,
      ...(tls ? { tls: true as const, ...(properties.ca ? { ca: fs.readFileSync(properties.ca) } : {}) } : {}),
    };
    const credentials = {
      ...(properties.username !== undefined && { username: properties.username }),
      ...(properties.password !== undefined && { password: properties.password }),
    };
    // `rejectInFlight`: the timeout also ends a command sent and not answered (the frozen server)
    const commandOptions = { timeout: COMMAND_TIMEOUT_MS, rejectInFlight: true };
    const sentinels = sentinelNodes(properties);
    this.throughSentinels = sentinels.length > 0;
    if (this.throughSentinels) {
      this.client = connectThroughSentinels(properties, sentinels, { socket, credentials, commandOptions });
    } else {
      const url = new URL(properties.url);
      if (tls) url.protocol = 'rediss:';
      this.client = createClient({ url: url.toString(), ...credentials, disableOfflineQueue: true, commandOptions, socket }) as RedisCommands;
    }
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
    // Through Sentinels, `end` also comes when a first connection gave up (node-redis then closes
    // everything it opened): it is tried again below, as a single client does by itself.
    this.client.on('end', () => this.setState(this.throughSentinels ? 'reconnecting' : 'closed'));
  }

  /** The client, connecting it if nobody has yet. */
  use(): RedisCommands {
    if (this.current === 'idle') {
      this.setState('connecting');
      this.connect();
    }
    return this.client;
  }

  private connect(): void {
    // The first attempt may fail too (Redis not up yet): a single client keeps trying by itself;
    // node-redis's Sentinel gives up after some rounds, so it is started again after a pause.
    this.client.connect().then(
      () => (this.attempts = 0),
      (error: unknown) => {
        if (!this.throughSentinels || this.current === 'closed') return;
        if (!this.reportedLoss) {
          this.reportedLoss = true;
          this.emit('problem', `${this.address}: ${safeMessage(error)}`);
        }
        this.retry = setTimeout(() => this.connect(), reconnectDelayMs(this.attempts++));
      },
    );
  }

  get state(): RedisState {
    return this.current;
  }

  /**
   * While the first connection after a deploy is being made: a promise that resolves once it is up
   * or has failed, or after FIRST_CONNECTION_WAIT_MS; otherwise undefined. A push that arrives
   * in the moment after a deploy waits for it rather than get a 503 for a connection nobody has
   * lost; one that arrives after a loss still fails at once.
   */
  firstConnection(): Promise<void> | undefined {
    if (this.current !== 'connecting') return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('state', done);
        resolve();
      };
      const timer = setTimeout(done, FIRST_CONNECTION_WAIT_MS);
      this.on('state', done);
    });
  }

  get connected(): boolean {
    return this.current === 'connected';
  }

  /** Closes the connection: commands sent already are answered first; a reconnection is stopped. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    clearTimeout(this.retry);
    try {
      if (this.client.isReady) await this.client.close();
    } catch {
      // closed meanwhile: destroyed below if still open
    }
    if (this.client.isOpen) await this.client.destroy();
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

interface NodeOptions {
  socket: Record<string, unknown>;
  credentials: { username?: string; password?: string };
  commandOptions: { timeout: number; rejectInFlight: boolean };
}

/**
 * A connection to the primary the Sentinels name, with the commands of a single client: every
 * command our nodes send (plain commands, EVAL/EVALSHA, CONFIG GET) and `duplicate()`, which opens
 * another Sentinel connection that can subscribe (the Expeed setting results). The same user name
 * and password go to the primary and its replicas; the Sentinels themselves are asked without
 * them (Sentinel's own auth is not supported), with the same TLS setting.
 *
 * node-redis's Sentinel has no `disableOfflineQueue`: a command sent while it looks for the
 * primary waits for it. A receiver must answer its vendor promptly, and a claim that goes through
 * late (after the vendor was answered 503) would make the vendor's retry a "duplicate": so a command
 * is refused at once while the connection is not ready, as a single client does.
 */
function connectThroughSentinels(properties: RedisProperties, sentinelRootNodes: { host: string; port: number }[], options: NodeOptions): RedisCommands {
  const database = Number(new URL(properties.url).pathname.slice(1) || '0');
  const sentinel = createSentinel({
    name: properties.sentinelName ?? REDIS_DEFAULTS.sentinelName,
    sentinelRootNodes,
    nodeClientOptions: { ...options.credentials, ...(database > 0 && { database }), disableOfflineQueue: true, socket: options.socket },
    sentinelClientOptions: { socket: options.socket },
    commandOptions: options.commandOptions,
  });
  // Every command of the Sentinel object goes through `_execute` (node-redis 6.4): the one place to refuse it.
  const inner = (sentinel as unknown as { _self: { _execute: (...args: unknown[]) => Promise<unknown> } })._self;
  const execute = inner._execute.bind(inner);
  inner._execute = (...args: unknown[]) => (sentinel.isReady ? execute(...args) : Promise.reject(new ClientOfflineError()));
  return sentinel as unknown as RedisCommands;
}

