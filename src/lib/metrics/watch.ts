import { addRunning, type WatchStatus } from '../operations/running';
import { statusGauge } from './registry';

statusGauge('health_bridge_alerts_firing', 'Episodes a health-watch has firing now, by rule.', 'watch',
  (s: WatchStatus) => s.firing.map((row) => ({ labels: { rule: row.rule }, value: row.count })), ['rule']);

/**
 * Puts a health-watch in the running table; `firing` is read at each scrape and each status
 * request (every rule of the watch, at 0 when none fires, so the series exist from the start).
 * Returns its `close`.
 */
export function watchMetrics(node: string, name: string, firing: () => WatchStatus['firing']): () => void {
  return addRunning({
    kind: 'watch',
    id: node,
    status: (): WatchStatus => ({ kind: 'watch', id: node, type: 'health-watch', name, firing: firing() }),
  });
}
