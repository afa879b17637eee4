import { Histogram } from 'prom-client';
import { PUSH_OUTCOMES, type PushOutcome } from '../operations/outcomes';
import { addRunning, type ReceiverStatus } from '../operations/running';
import { counter, registry, statusGauge, type Child } from './registry';

const receiverLabels = ['node', 'name', 'vendor'] as const;
const pushes = counter('health_bridge_pushes_total', 'Pushes a receiver answered, by outcome.', [...receiverLabels, 'outcome']);
const readings = counter('health_bridge_readings_total', 'Readings a receiver sent on to the flow, by kind.', [...receiverLabels, 'kind']);
const events = counter('health_bridge_events_total', 'Events a receiver sent on to the flow, by event.', [...receiverLabels, 'event']);
const pushSeconds = new Histogram({
  name: 'health_bridge_push_seconds',
  help: 'Time from the receipt of a push to its answer, in seconds.',
  labelNames: receiverLabels,
  // an answer waits for the flow (up to ackTimeout, 30 s by default): buckets up to a minute
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});
// read from the running table at each scrape: a push only notes the time
statusGauge('health_bridge_last_push_timestamp_seconds', 'When the receiver last answered a push that passed its allow list and key (Unix time, seconds).',
  'receiver', (s: ReceiverStatus) => (s.lastPush === null ? [] : [{ labels: { vendor: s.vendor }, value: Date.parse(s.lastPush) / 1000 }]), ['vendor']);

/** What a receiver counts; one handle per running receiver node. */
export interface ReceiverMetrics {
  /** A push answered with `outcome`, `seconds` after it was received. */
  push(outcome: PushOutcome, seconds: number): void;
  reading(kind: string): void;
  event(event: string): void;
  /** Removes the node's series and its row of the running table; nothing is counted after. */
  close(): void;
}

export function receiverMetrics(node: string, name: string, vendor: string, type: string): ReceiverMetrics {
  // one child handle per outcome, made once: a push costs a Map lookup and an increment
  const byOutcome = new Map<PushOutcome, Child>();
  const counts = Object.fromEntries(PUSH_OUTCOMES.map((outcome) => [outcome, 0])) as Record<PushOutcome, number>;
  for (const outcome of PUSH_OUTCOMES) {
    const child = pushes.labels(node, name, vendor, outcome);
    child.inc(0); // every outcome's series exists from the start, so "none" answers 0, not nothing
    byOutcome.set(outcome, child);
  }
  const byKind = new Map<string, Child>();
  const byEvent = new Map<string, Child>();
  const seconds = pushSeconds.labels(node, name, vendor);
  pushSeconds.zero({ node, name, vendor });
  let lastPushMs: number | undefined;
  let closed = false;
  const leave = addRunning({
    kind: 'receiver',
    id: node,
    status: (): ReceiverStatus => ({
      kind: 'receiver', id: node, type, name, vendor,
      lastPush: lastPushMs === undefined ? null : new Date(lastPushMs).toISOString(),
      pushes: { ...counts },
    }),
  });
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
      counts[outcome]++;
      seconds.observe(elapsed);
      if (outcome !== 'unauthorized' && outcome !== 'too_large') lastPushMs = Date.now();
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
      leave();
      for (const outcome of PUSH_OUTCOMES) pushes.remove(node, name, vendor, outcome);
      for (const kind of byKind.keys()) readings.remove(node, name, vendor, kind);
      for (const event of byEvent.keys()) events.remove(node, name, vendor, event);
      pushSeconds.remove(node, name, vendor);
    },
  };
}
