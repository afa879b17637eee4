import type { OutboxControl } from '../outbox/control';
import { addRunning, type OutboxStatus } from '../operations/running';
import { counter, perNode, statusGauge, type Child } from './registry';

/** What an outbox shows at each scrape (its queue's status). */
export interface OutboxFigures {
  queued: number;
  inFlight: number;
  oldestAgeMs?: number;
  /** Dead letters kept (see keepDeadLettersDays); 0 where none are kept. */
  deadLetters?: number;
}

/** What an outbox counts; one handle per running outbox node. */
export interface OutboxMetrics {
  delivered(): void;
  retried(): void;
  deadLettered(): void;
  close(): void;
}

statusGauge('health_bridge_outbox_queued', 'Messages waiting in the outbox (in flight included).', 'outbox', perNode((s: OutboxStatus) => s.queued));
statusGauge('health_bridge_outbox_in_flight', 'Messages sent on and not answered yet.', 'outbox', perNode((s: OutboxStatus) => s.inFlight));
statusGauge('health_bridge_outbox_oldest_seconds', 'Age of the oldest waiting message, in seconds (0 when none waits).', 'outbox',
  perNode((s: OutboxStatus) => s.oldestSeconds));
statusGauge('health_bridge_outbox_dead_letters', 'Dead letters the outbox keeps (keepDeadLettersDays).', 'outbox', perNode((s: OutboxStatus) => s.deadLetters));

const outboxLabels = ['node', 'name'] as const;
const deliveredTotal = counter('health_bridge_outbox_delivered_total', 'Messages the outbox delivered.', outboxLabels);
const retriesTotal = counter('health_bridge_outbox_retries_total', 'Deliveries of a message tried before.', outboxLabels);
const deadLetteredTotal = counter('health_bridge_outbox_dead_lettered_total', 'Messages sent to the dead-letter output.', outboxLabels);
const COUNTERS = [deliveredTotal, retriesTotal, deadLetteredTotal] as const;

/** `control`: the outbox's operations, registered with it for the admin API. */
export function outboxMetrics(node: string, name: string, figures: () => OutboxFigures, control?: OutboxControl): OutboxMetrics {
  const counts = { delivered: 0, retries: 0, deadLettered: 0 };
  const [delivered, retried, dead] = COUNTERS.map((family) => {
    const child = family.labels(node, name);
    child.inc(0);
    return child;
  }) as [Child, Child, Child];
  const leave = addRunning({
    kind: 'outbox',
    id: node,
    ...(control && { control }),
    status: (): OutboxStatus => {
      const now = figures();
      return {
        kind: 'outbox', id: node, type: 'health-outbox', name,
        queued: now.queued,
        inFlight: now.inFlight,
        oldestSeconds: now.oldestAgeMs === undefined ? 0 : now.oldestAgeMs / 1000,
        deadLetters: now.deadLetters ?? 0,
        ...counts,
      };
    },
  });
  let closed = false;
  return {
    delivered: () => closed || (delivered.inc(), counts.delivered++),
    retried: () => closed || (retried.inc(), counts.retries++),
    deadLettered: () => closed || (dead.inc(), counts.deadLettered++),
    close() {
      if (closed) return;
      closed = true;
      leave();
      for (const family of COUNTERS) family.remove(node, name);
    },
  };
}
