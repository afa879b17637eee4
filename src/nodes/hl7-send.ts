import { timeLeftMs } from '../lib/ack-registry';
import { CodedError } from '../lib/coded-error';
import { MllpSendError, type ConnectionState, type LateAck, type MllpConnection } from '../lib/formats/hl7v2';
import { hl7SendMetrics, type Hl7AckCode } from '../lib/metrics';
import { configClient, runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Sends `msg.payload` (an HL7 v2 message, as health-hl7 makes it) on the connection of its
 * `hl7-mllp` config node and waits for the ACK whose MSA-2 is the message's MSH-10:
 * `msg.payload = {code, controlId, text}` on AA/CA; AE/AR/CE/CR, a timeout or a lost connection
 * go to `done(err)` with the code and the hospital's MSA-3/ERR text, `msg.payload` unchanged.
 * The status follows the shared connection (connecting, connected, waiting (n), error): it names
 * the address and counts, never a part of a message.
 *
 * A message of a push in `ack: flow` mode (or of an outbox delivery) carries its deadline with
 * `msg._ack`: the send gives up DEADLINE_MARGIN_MS before it, with code `deadline`, where that
 * comes before the connection's own timeout, so that its failure reaches health-ack before the
 * receiver answers 503 on its own and the Catch node hears why. An ACK that comes after the send
 * gave up is only a debug line: the vendor (or the outbox) sends the reading again, and the HIS
 * knows it again by OBR-3.
 */

/** How long before a push's deadline hl7-send gives up: time for the failure to reach health-ack. */
const DEADLINE_MARGIN_MS = 250;

/**
 * How a failed send is counted in health_bridge_hl7_acks_total: the hospital's refusals by their
 * code, a send given up by why; a connection lost or closed before the answer is one thing to an
 * operator (no answer will come on it), `closed`. A message that was never sent (not HL7, a control
 * id already waiting) is the flow's mistake, not an answer: not counted.
 */
function countedAs(code: MllpSendError['code']): Hl7AckCode | undefined {
  switch (code) {
    case 'connection-lost':
      return 'closed';
    case 'invalid-message':
    case 'duplicate-control-id':
      return undefined;
    default:
      return code;
  }
}

/** The codes that come in an application acknowledgment: only these have a time to answer. */
const ANSWERED: ReadonlySet<string> = new Set(['AA', 'AE', 'AR', 'CA', 'CE', 'CR']);

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'hl7-send');

  function statusOf(state: ConnectionState, address: string): NodeStatus {
    switch (state.state) {
      case 'idle':
        return { fill: 'grey', shape: 'ring', text: t('status.idle') };
      case 'connecting':
        return { fill: 'yellow', shape: 'ring', text: t('status.connecting', { address, attempt: state.attempt }) };
      case 'connected':
        return { fill: 'green', shape: 'dot', text: t('status.connected', { address }) };
      case 'waiting':
        return { fill: 'blue', shape: 'dot', text: t('status.waiting', { count: state.pending }) };
      case 'error':
        // the connection's own text: address and errno, no message content
        return { fill: 'red', shape: 'ring', text: t('status.error', { reason: state.message }) };
      case 'closed':
        return { fill: 'grey', shape: 'ring', text: t('status.closed') };
    }
  }

  registerNode(RED, 'hl7-send', function Hl7SendNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const found = configClient<MllpConnection>(RED, config.connection, 'hl7-mllp');
    const connection = found.client;
    const metrics = hl7SendMetrics(String(config.id), typeof config.name === 'string' ? config.name : '');
    node.on('close', (_removed, done) => {
      metrics.close();
      done();
    });
    if (connection) {
      const follow = (state: ConnectionState): void => node.status(statusOf(state, connection.address));
      connection.on('state', follow);
      node.on('close', (_removed, done) => {
        connection.off('state', follow);
        done();
      });
      follow(connection.state);
      // the first hl7-send of a connection opens it; the others find it open (or opening)
      connection.connect();
    }

    runAction(
      RED,
      this,
      {
        translate: t,
        setupProblem: found.problem,
        // the code only: the hospital's text may quote the message
        failureStatus: (error) => t('status.failed', { code: String((error as { code?: unknown }).code ?? 'error') }),
      },
      async (msg) => {
        if (!connection) throw found.problem;
        const left = timeLeftMs(msg._ack);
        const budgetMs = left === undefined ? undefined : left - DEADLINE_MARGIN_MS;
        const onLateAck = (late: LateAck): void =>
          (node as RuntimeNode & { debug?(text: string): void }).debug?.(t('debug.late-ack', {
            controlId: late.controlId, code: late.code, gaveUp: late.gaveUp, seconds: (late.lateMs / 1000).toFixed(1),
          }));
        const sentAt = performance.now();
        const seconds = (): number => (performance.now() - sentAt) / 1000;
        try {
          const ack = await connection.send(msg.payload as string, { budgetMs, onLateAck });
          metrics.answered(ack.code, seconds());
          msg.payload = { code: ack.code, controlId: ack.controlId, text: ack.text };
        } catch (error) {
          if (!(error instanceof MllpSendError)) throw error;
          const counted = countedAs(error.code);
          if (counted) metrics.answered(counted, ANSWERED.has(counted) ? seconds() : undefined);
          throw new CodedError(error.code, {
            code: error.code,
            controlId: error.controlId ?? '',
            text: error.ackText ?? '',
            // the hospital's text after a colon, or nothing where it sent none
            detail: error.ackText ? `: ${error.ackText}` : '',
            address: connection.address,
            timeout: connection.timeoutMs / 1000,
            // what the deadline left this send, for the `deadline` text
            budget: budgetMs === undefined ? 0 : Math.max(0, Math.round(budgetMs) / 1000),
          });
        }
        // no status of its own: the connection's next state (connected, waiting) is shown
        return { send: msg };
      },
    );
  });
};
