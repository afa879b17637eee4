import type { RedisConnection } from './connection';

/**
 * Resolves once the connection is up, or after `timeoutMs` whatever its state (the caller's first
 * command then fails and says why). A node that reads what the instances keep when it starts waits
 * for this: a deploy opens the connection, and its commands fail at once until it is connected
 * (no offline queue).
 */
export function whenConnected(connection: Pick<RedisConnection, 'connected' | 'on' | 'off'>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (connection.connected) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      connection.off('state', onState);
      resolve();
    };
    const onState = (state: string): void => {
      if (state === 'connected' || state === 'closed') done();
    };
    const timer = setTimeout(done, timeoutMs);
    connection.on('state', onState);
  });
}
