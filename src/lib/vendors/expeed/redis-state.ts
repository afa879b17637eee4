import { loadAtRestKey, Sealer } from '../../at-rest';
import type { RedisCommands } from '../../redis/connection';
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
  /** The health-redis connection's client (connected on first use) and its key prefix. */
  client: RedisCommands;
  prefix: string;
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

export function sharedAccountState(options: SharedAccountOptions): { tokenStore: TokenStore; settings: SettingWaits } {
  const keyPrefix = `${options.prefix}expeed:${options.accountId}:`;
  const key = options.atRestKey ?? loadAtRestKey();
  const sealer = Buffer.isBuffer(key) ? new Sealer(key, `expeed:${options.accountId}`) : undefined;
  const tokenStore = new RedisTokenStore(options.client, {
    keyPrefix,
    apiBase: options.apiBase,
    platformKey: options.platformKey,
    tz: options.tz,
    timeoutMs: options.timeoutMs,
    now: options.now,
    ...(sealer && { sealer }),
    ...(options.onUnreadable && { onUnreadable: options.onUnreadable }),
  });
  const settings = new RedisSettingResults(options.client, {
    keyPrefix,
    subscriber: () => options.client.duplicate() as unknown as ExpeedRedisSubscriber,
    ...(options.onRelayError && { onError: options.onRelayError }),
  });
  return { tokenStore, settings };
}
