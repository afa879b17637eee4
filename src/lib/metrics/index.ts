import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The figures of every health-bridge node, kept in a prom-client Registry of the package's own:
 * prom-client's global registry is shared by every package of the process, and a second copy of
 * our families there would clash with (or be mixed into) someone else's page.
 *
 * The runners (the receivers' and the outbox's) count here whether or not a health-metrics node
 * is deployed, so the figures start with the node that produces them and a redeploy of the
 * metrics node alone loses nothing; the health-metrics node only serves `registry`. A node's
 * series live while the node runs: its handle's `close` removes them, so a deleted node's series
 * go away. No label carries anything from a push but the vendor, the reading's kind and the
 * event's name: never a patient or a device.
 */

export const registry = new Registry();

/** How a push ended, as `health_bridge_pushes_total` names it. */
export type PushOutcome = 'accepted' | 'duplicate' | 'rejected' | 'unauthorized' | 'too_large' | 'failed' | 'timeout' | 'unavailable';
export const PUSH_OUTCOMES: readonly PushOutcome[] = ['accepted', 'duplicate', 'rejected', 'unauthorized', 'too_large', 'failed', 'timeout', 'unavailable'];

/** A receiver's counter: node, name, vendor and one label of its own. */
function receiverCounter<L extends string>(name: string, help: string, label: L): Counter<'node' | 'name' | 'vendor' | L> {
  return new Counter({ name, help, labelNames: ['node', 'name', 'vendor', label], registers: [registry] });
}
const pushes = receiverCounter('health_bridge_pushes_total', 'Pushes a receiver answered, by outcome.', 'outcome');
const readings = receiverCounter('health_bridge_readings_total', 'Readings a receiver sent on to the flow, by kind.', 'kind');
const events = receiverCounter('health_bridge_events_total', 'Events a receiver sent on to the flow, by event.', 'event');
const pushSeconds = new Histogram({
  name: 'health_bridge_push_seconds',
  help: 'Time from the receipt of a push to its answer, in seconds.',
  labelNames: ['node', 'name', 'vendor'] as const,
  // an answer waits for the flow (up to ackTimeout, 30 s by default): buckets up to a minute
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});
const lastPush = new Gauge({
  name: 'health_bridge_last_push_timestamp_seconds',
  help: 'When the receiver last answered a push that passed its allow list and key (Unix time, seconds).',
  labelNames: ['node', 'name', 'vendor'] as const,
  registers: [registry],
});

/** What a receiver counts; one handle per running receiver node. */
export interface ReceiverMetrics {
  /** A push answered with `outcome`, `seconds` after it was received. */
  push(outcome: PushOutcome, seconds: number): void;
  reading(kind: string): void;
  event(event: string): void;
  /** Removes the node's series; nothing is counted after. */
  close(): void;
}

type Child = { inc(value?: number): void };

export function receiverMetrics(node: string, name: string, vendor: string): ReceiverMetrics {
  // one child handle per outcome, made once: a push costs a Map lookup and an increment
  const byOutcome = new Map<PushOutcome, Child>();
  for (const outcome of PUSH_OUTCOMES) {
    const child = pushes.labels(node, name, vendor, outcome);
    child.inc(0); // every outcome's series exists from the start, so "none" answers 0, not nothing
    byOutcome.set(outcome, child);
  }
  const byKind = new Map<string, Child>();
  const byEvent = new Map<string, Child>();
  const seconds = pushSeconds.labels(node, name, vendor);
  pushSeconds.zero({ node, name, vendor });
  const last = lastPush.labels(node, name, vendor);
  let closed = false;
  const child = (cache: Map<string, Child>, make: () => Child, key: string): Child | undefined => {
    if (closed) return undefined;
    let found = cache.get(key);
    if (!found) cache.set(key, (found = make()));
    return found;
  };
  return {
    push(outcome, elapsed) {
      if (closed) return;
      byOutcome.get(outcome)?.inc();
      seconds.observe(elapsed);
      if (outcome !== 'unauthorized' && outcome !== 'too_large') last.set(Date.now() / 1000);
    },
    reading(kind) {
      child(byKind, () => readings.labels(node, name, vendor, kind), kind)?.inc();
    },
    event(event) {
      child(byEvent, () => events.labels(node, name, vendor, event), event)?.inc();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const outcome of PUSH_OUTCOMES) pushes.remove(node, name, vendor, outcome);
      for (const kind of byKind.keys()) readings.remove(node, name, vendor, kind);
      for (const event of byEvent.keys()) events.remove(node, name, vendor, event);
      pushSeconds.remove(node, name, vendor);
      lastPush.remove(node, name, vendor);
    },
  };
}

/** What an outbox shows at each scrape (its queue's status). */
export interface OutboxFigures {
  queued: number;
  inFlight: number;
  oldestAgeMs?: number;
}

/** What an outbox counts; one handle per running outbox node. */
export interface OutboxMetrics {
  delivered(): void;
  retried(): void;
  deadLettered(): void;
  close(): void;
}

/** The running outboxes, read at each scrape: their gauges cost nothing between scrapes. */
const outboxes = new Map<string, { name: string; figures: () => OutboxFigures }>();

function outboxGauge(name: string, help: string, pick: (figures: OutboxFigures) => number | undefined): Gauge<'node' | 'name'> {
  return new Gauge({
    name,
    help,
    labelNames: ['node', 'name'] as const,
    registers: [registry],
    collect(this: Gauge<'node' | 'name'>) {
      this.reset();
      for (const [node, outbox] of outboxes) this.set({ node, name: outbox.name }, pick(outbox.figures()) ?? 0);
    },
  });
}
outboxGauge('health_bridge_outbox_queued', 'Messages waiting in the outbox (in flight included).', (figures) => figures.queued);
outboxGauge('health_bridge_outbox_in_flight', 'Messages sent on and not answered yet.', (figures) => figures.inFlight);
outboxGauge('health_bridge_outbox_oldest_seconds', 'Age of the oldest waiting message, in seconds (0 when none waits).', (figures) =>
  figures.oldestAgeMs === undefined ? 0 : figures.oldestAgeMs / 1000);

const outboxCounter = (name: string, help: string): Counter<'node' | 'name'> =>
  new Counter({ name, help, labelNames: ['node', 'name'] as const, registers: [registry] });
const delivered = outboxCounter('health_bridge_outbox_delivered_total', 'Messages the outbox delivered.');
const retries = outboxCounter('health_bridge_outbox_retries_total', 'Deliveries of a message tried before.');
const deadLettered = outboxCounter('health_bridge_outbox_dead_lettered_total', 'Messages sent to the dead-letter output.');

export function outboxMetrics(node: string, name: string, figures: () => OutboxFigures): OutboxMetrics {
  const children = [delivered, retries, deadLettered].map((counter) => {
    const child = counter.labels(node, name);
    child.inc(0);
    return child;
  });
  const [deliveredChild, retriedChild, deadChild] = children as [Child, Child, Child];
  outboxes.set(node, { name, figures });
  let closed = false;
  return {
    delivered: () => closed || deliveredChild.inc(),
    retried: () => closed || retriedChild.inc(),
    deadLettered: () => closed || deadChild.inc(),
    close() {
      if (closed) return;
      closed = true;
      if (outboxes.get(node)?.figures === figures) outboxes.delete(node);
      for (const counter of [delivered, retries, deadLettered]) counter.remove(node, name);
    },
  };
}

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
