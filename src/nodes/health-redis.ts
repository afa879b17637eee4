import { redisMetrics } from '../lib/metrics';
import { RedisConnection, describeRedisIssues, redisPropertiesSchema } from '../lib/redis';
import type { ClientConfigNode } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * A Redis server several Node-RED instances share (config node): URL (or Redis Sentinels and the
 * primary's name), key prefix, TLS, and the
 * user name and password as credentials. It owns one RedisConnection (src/lib/redis), shared by
 * every node that names it in `state`, which reconnects by itself and is closed when the config
 * node is stopped or redeployed. Its connection is in the running table (health_bridge_redis_connected).
 */

const REDIS_CREDENTIALS = { username: { type: 'text' }, password: { type: 'password' } } as const;

export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-redis.${key}`, params);
  registerNode(
    RED,
    'health-redis',
    function HealthRedisNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const node = this as RuntimeNode & ClientConfigNode<RedisConnection>;
      const parsed = redisPropertiesSchema.safeParse({ ...config, ...node.credentials });
      if (!parsed.success) {
        node.configError = t('errors.invalid-config', { issues: describeRedisIssues(parsed.error) });
        node.error(node.configError);
        return;
      }
      let connection: RedisConnection;
      try {
        connection = new RedisConnection(parsed.data);
      } catch (error) {
        // the CA file unreadable: named by its path, which is no secret
        node.configError = t('errors.invalid-config', { issues: (error as Error).message });
        node.error(node.configError);
        return;
      }
      // every node that uses it may listen to its state: no limit on how many
      connection.setMaxListeners(0);
      node.client = connection;
      let policy: string | null = null;
      const warned = new Set<string>();
      connection.on('policy', (found) => {
        policy = found;
        if (found === 'noeviction' || warned.has(found)) return;
        warned.add(found);
        if (found === 'unknown') node.log(t('log.policy-unknown', { address: connection.address }));
        else node.warn(t('errors.eviction', { address: connection.address, policy: found }));
      });
      connection.on('problem', (message) => node.warn(t('errors.connection', { message })));
      connection.on('state', (state) => {
        if (state === 'connected') node.log(t('log.connected', { address: connection.address }));
      });
      const leave = redisMetrics(String(config.id), typeof config.name === 'string' ? config.name : '', {
        address: connection.address,
        state: () => connection.state,
        evictionPolicy: () => policy,
      });
      node.on('close', (_removed, done) => {
        leave();
        connection.close().then(() => done(), () => done());
      });
    },
    { credentials: REDIS_CREDENTIALS },
  );
};
