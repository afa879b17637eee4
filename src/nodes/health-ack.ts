import { catchesStraightToAck, httpRequestsStraightToAck, type FlowNode } from '../lib/ack-copies';
import { reachHealthAck } from '../lib/ack-registry';
import { installCopyCounting } from './ack-copies';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Ends a push in `ack: flow` mode: put it after the sink (and after a Catch node scoped to the
 * sink, for failures). The vendor is answered once every message of the push, and every copy of
 * it that can reach health-ack or an outbox, has arrived here (src/nodes/ack-copies.ts counts the
 * copies); a message with `msg.error` set answers it with the vendor's failure at once, unless
 * the error says no retry can mend it (`retryable: false`): the flow kept that message, and the
 * vendor is answered with success so it does not push it forever.
 */
export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-ack.${key}`, params);
  installCopyCounting(RED);
  warnOfCatchesStraightToAck(RED, t);

  registerNode(RED, 'health-ack', function HealthAckNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    // messages counted toward their push's answer (the status says "acknowledged")
    let counted = 0;
    let kept = 0;
    let failed = 0;
    let warnedNoAck = false;
    let warnedHttpError = false;

    node.on('input', (message, send, done) => {
      const ackId = message._ack;
      if (typeof ackId !== 'string') {
        // Once per deploy: a receiver left in `ack: auto` would otherwise flood the log.
        if (!warnedNoAck) node.warn(t('warn.no-ack'));
        warnedNoAck = true;
        node.status({ fill: 'yellow', shape: 'ring', text: t('warn.no-ack') });
      } else {
        const hasError = message.error !== undefined && message.error !== null && message.error !== false;
        // an HTTP refusal that reached here as a success (no switch on statusCode on the way): told
        // once per deploy, since the vendor or the outbox will not try again
        const statusCode = (message as { statusCode?: unknown }).statusCode;
        if (!hasError && typeof statusCode === 'number' && (statusCode < 200 || statusCode > 299) && !warnedHttpError) {
          warnedHttpError = true;
          node.warn(t('warn.http-error-delivered', { status: statusCode }));
        }
        const result = reachHealthAck(ackId, hasError, hasError ? message.error : undefined);
        if (result === 'not-pending') {
          node.warn(t('warn.not-pending'));
        } else if (result === 'failed') {
          failed++;
        } else if (result === 'kept') {
          kept++;
        } else {
          counted++;
        }
        const parts = [t('status.acknowledged', { count: counted })];
        if (kept) parts.push(t('status.kept', { count: kept }));
        if (failed) parts.push(t('status.failed', { count: failed }));
        node.status({ fill: failed ? 'red' : 'green', shape: 'dot', text: parts.join(' · ') });
      }
      send(message);
      done();
    });
  });
};

/** Runtimes already told to check each deploy (the test helper loads this file once per test). */
const checking = new WeakSet<object>();

/**
 * At each deploy, a health-ack fed straight by a Catch node that hears health-fhir/health-hl7 says
 * so (see catchesStraightToAck): a reading nobody can file would be answered with success and
 * kept nowhere; and one fed straight by an http request (httpRequestsStraightToAck): a hospital's
 * refusal would count as delivered. Said on every deploy while the layout stays.
 */
function warnOfCatchesStraightToAck(RED: NodeRedApi, t: (key: string, params?: Record<string, unknown>) => string): void {
  const events = (RED as { events?: { on?(event: string, listener: (payload?: { config?: { flows?: FlowNode[] } }) => void): void } }).events;
  if (!events?.on || checking.has(events)) return;
  checking.add(events);
  events.on('flows:started', (payload) => {
    for (const { healthAckId, catchName } of catchesStraightToAck(payload?.config?.flows ?? [])) {
      (RED.nodes.getNode(healthAckId) as RuntimeNode | null)?.warn(t('warn.catch-straight', { catch: catchName }));
    }
    for (const { healthAckId, requestName } of httpRequestsStraightToAck(payload?.config?.flows ?? [])) {
      (RED.nodes.getNode(healthAckId) as RuntimeNode | null)?.warn(t('warn.http-straight', { request: requestName }));
    }
  });
}
