import { collectDefaultMetrics, Registry } from 'prom-client';
import { registry } from './registry';

/**
 * The figures of every health-bridge node in the Prometheus text format.
 *
 * The nodes count here whether or not a health-metrics node is deployed, so the figures start
 * with the node that produces them and a redeploy of the metrics node alone loses nothing; the
 * health-metrics node only serves the page. Counters are counted as things happen; gauges are
 * read from the running nodes' table (src/lib/operations/running.ts) at each scrape. A node's
 * series live while the node runs: its handle's `close` removes them. No label carries anything
 * from a push but the vendor, the reading's kind, the event's name or a rule's name: never a
 * patient or a device.
 */

export { PUSH_OUTCOMES, HL7_ACK_CODES, type PushOutcome, type Hl7AckCode } from '../operations/outcomes';
export { registry } from './registry';
export { receiverMetrics, type ReceiverMetrics } from './receivers';
export { outboxMetrics, type OutboxFigures, type OutboxMetrics } from './outboxes';
export { hl7SendMetrics, mllpMetrics, type Hl7SendMetrics } from './hl7';
export { expeedTokenMetrics, type ExpeedTokenMetrics } from './expeed';
export { watchMetrics } from './watch';
export { redisMetrics, type RedisFigures } from './redis';

/** A second registry with the Node.js process's figures (`processMetrics`), made on first use. */
let processRegistry: Registry | undefined;

/** The page a health-metrics node serves: the package's figures, and the process's when asked. */
export async function metricsPage(processMetrics: boolean): Promise<{ contentType: string; text: string }> {
  if (!processMetrics) return { contentType: registry.contentType, text: await registry.metrics() };
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges whose names end in _total, which Prometheus's own check (promtool) refuses as
    // misleading; their per-type twins (nodejs_active_handles{type=…}, …) stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      processRegistry.removeSingleMetric(name);
    }
  }
  const merged = Registry.merge([registry, processRegistry]);
  return { contentType: registry.contentType, text: await merged.metrics() };
}
