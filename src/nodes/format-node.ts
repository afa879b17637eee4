import { timeLeftMs } from '../lib/ack-registry';
import { mapPayload, parseFormatOptions, type FormatModule } from '../lib/formats/contract';
import { runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * The Node-RED side of every hospital format node (health-fhir, health-hl7, and what comes): a
 * reading (a receiver's output 1) in `msg.payload` becomes the format's payload, with the reading
 * kept in `msg.reading`. What cannot be mapped (an event, a unit without a code, a reading of no
 * patient) goes to `done(err)` with its code and `msg.payload` unchanged, for a Catch node. A
 * format's node file is one call to `registerFormatNode`; what a format is, is
 * src/lib/formats/contract.ts.
 */

/** How long before a push's deadline the http request after the node gives up. */
const REQUEST_MARGIN_MS = 250;

export function registerFormatNode<Options, Payload>(RED: NodeRedApi, format: FormatModule<Options, Payload>): void {
  const t = translator(RED, format.nodeType);

  registerNode(RED, format.nodeType, function FormatNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const { options, problem } = parseFormatOptions(format, config);
    // said at each deploy: such a node files readings of no patient under nobody
    if (!problem && format.patientOptional(options)) this.warn(t('warn.patient-optional'));

    runAction(
      RED,
      this,
      // the status shows the code alone; the whole text goes with the error
      { translate: t, setupProblem: problem, failureStatus: (error) => t('status.failed', { code: String((error as { code?: unknown }).code ?? 'error') }) },
      async (msg) => {
        // runAction answers every message with the setup problem, so the options are there
        const result = mapPayload(format, msg.payload, options as Options);
        msg.reading = result.reading;
        msg.payload = result.payload;
        // a receiver's message has its topic already; one built by hand gets the reading's
        if (typeof msg.topic !== 'string' || msg.topic === '') msg.topic = result.topic;
        if (result.headers) msg.headers = { ...(msg.headers as object | undefined), ...result.headers };
        if (format.httpRequest) {
          // the push's deadline travels with msg._ack: the core http request node gives up (its
          // per-message timeout, ms, at least 1) a little before it, so its failure, not the
          // receiver's own timer, answers the vendor
          const left = timeLeftMs(msg._ack);
          if (left !== undefined) msg.requestTimeout = Math.max(1, Math.floor(left - REQUEST_MARGIN_MS));
        }
        return { status: { fill: 'green', shape: 'dot', text: t('status.mapped', result.status) }, send: msg };
      },
    );
  });
}
