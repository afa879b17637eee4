import { addRunning, type RedisStatus } from '../operations/running';
import { perNode, statusGauge } from './registry';

statusGauge('health_bridge_redis_connected', 'Whether the health-redis connection is up (1) or not (0).', 'redis', perNode((s: RedisStatus) => (s.connected ? 1 : 0)));

/** What a health-redis config node shows of its connection, read at each scrape. */
export interface RedisFigures {
  address: string;
  state(): string;
  evictionPolicy(): string | null;
}

/** Puts a health-redis config node's connection in the running table; returns its `close`. */
export function redisMetrics(node: string, name: string, figures: RedisFigures): () => void {
  return addRunning({
    kind: 'redis',
    id: node,
    status: (): RedisStatus => {
      const state = figures.state();
      return { kind: 'redis', id: node, type: 'health-redis', name, address: figures.address, state, connected: state === 'connected', evictionPolicy: figures.evictionPolicy() };
    },
  });
}
