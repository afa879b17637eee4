import { loadAtRestKey, Sealer } from '../../at-rest';
import type { RedisConnection } from '../../redis/connection';
import { RedisSettingResults, type ExpeedRedisSubscriber } from './redis-settings';
import { RedisTokenStore } from './redis-token-store';
import type { SettingWaits } from './settings';
import type { TokenStore } from './token-store';

/**
 * What an expeed-account with `state` keeps in Redis (docs/nodes/expeed-account.md#several-instances):
 * its token store and its setting results, under `<prefix>expeed:<account id>:`. The token is
 * sealed with the operator's at-rest key (HEALTH_BRIDGE_KEY) when there is one; without it, it is
 * stored as the platform gave it, as the state file does on disk.
 */

export interface SharedAccountOptions {
  /** The health-redis node's connection (its client connects on first use; its key prefix). */
  connection: RedisConnection;
  accountId: string;
  apiBase: string;
  platformKey: string;
  tz: string;
  timeoutMs: number;
  now(): number;
  onUnreadable?(error: unknown): void;
  onRelayError?(error: unknown): void;
  /** The at-rest key, or the reason there is none; read from the environment by default. */
  atRestKey?: ReturnType<typeof loadAtRestKey>;
}

/** How long a caller waits for a connection that is being made (at deploy, or after a loss) before it fails. */
export const CONNECT_WAIT_MS = 3000;

/** Resolves once `connection` is connected; rejects after `waitMs`. */
export function whenConnected(connection: RedisConnection, waitMs = CONNECT_WAIT_MS): Promise<void> {
  if (connection.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onState = (): void => {
      if (!connection.connected) return;
      clearTimeout(timer);
      connection.off('state', onState);
      resolve();
    };
    const timer = setTimeout(() => {
      connection.off('state', onState);
      reject(new Error(`not connected to ${connection.address}`));
    }, waitMs);
    connection.on('state', onState);
  });
}

export function sharedAccountState(options: SharedAccountOptions): { tokenStore: TokenStore; settings: SettingWaits } {
  const { connection } = options;
  const client = connection.use();
  const connected = (): Promise<void> => whenConnected(connection);
  const keyPrefix = `${connection.prefix}expeed:${options.accountId}:`;
  const key = options.atRestKey ?? loadAtRestKey();
  const sealer = Buffer.isBuffer(key) ? new Sealer(key, `expeed:${options.accountId}`) : undefined;
  const tokenStore = new RedisTokenStore(client, {
    keyPrefix,
    connected,
    apiBase: options.apiBase,
    platformKey: options.platformKey,
    tz: options.tz,
    timeoutMs: options.timeoutMs,
    now: options.now,
    ...(sealer && { sealer }),
    ...(options.onUnreadable && { onUnreadable: options.onUnreadable }),
  });
  const settings = new RedisSettingResults(client, {
    keyPrefix,
    connected,
    subscriber: () => client.duplicate() as unknown as ExpeedRedisSubscriber,
    ...(options.onRelayError && { onError: options.onRelayError }),
  });
  return { tokenStore, settings };
}
