import { Histogram } from 'prom-client';
import { HL7_ACK_CODES, type Hl7AckCode } from '../operations/outcomes';
import { addRunning, type MllpStatus } from '../operations/running';
import { counter, registry, statusGauge, perNode, type Child } from './registry';

const acks = counter('health_bridge_hl7_acks_total', 'Answers an hl7-send had to its messages, by code (or why none came).', ['node', 'name', 'code']);
const ackSeconds = new Histogram({
  name: 'health_bridge_hl7_ack_seconds',
  help: 'Time from sending an HL7 message to its application acknowledgment, in seconds.',
  labelNames: ['node', 'name'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
statusGauge('health_bridge_mllp_connected', 'Whether the hl7-mllp connection is open (1) or not (0).', 'mllp', perNode((s: MllpStatus) => (s.connected ? 1 : 0)));

/** What an hl7-send counts; one handle per running hl7-send node. */
export interface Hl7SendMetrics {
  /** The send ended with `code`; `seconds` from sending to the acknowledgment where one came. */
  answered(code: Hl7AckCode, seconds?: number): void;
  close(): void;
}

export function hl7SendMetrics(node: string, name: string): Hl7SendMetrics {
  const byCode = new Map<Hl7AckCode, Child>();
  for (const code of HL7_ACK_CODES) {
    const child = acks.labels(node, name, code);
    child.inc(0);
    byCode.set(code, child);
  }
  ackSeconds.zero({ node, name });
  const seconds = ackSeconds.labels(node, name);
  let closed = false;
  return {
    answered(code, elapsed) {
      if (closed) return;
      byCode.get(code)?.inc();
      if (elapsed !== undefined) seconds.observe(elapsed);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const code of HL7_ACK_CODES) acks.remove(node, name, code);
      ackSeconds.remove(node, name);
    },
  };
}

/** Puts an hl7-mllp config node's connection in the running table; returns its `close`. */
export function mllpMetrics(node: string, name: string, address: string, state: () => string): () => void {
  return addRunning({
    kind: 'mllp',
    id: node,
    status: (): MllpStatus => {
      const now = state();
      return { kind: 'mllp', id: node, type: 'hl7-mllp', name, address, state: now, connected: now === 'connected' || now === 'waiting' };
    },
  });
}
