import { CodedError } from '../lib/coded-error';
import { Hl7MappingError, oruPropertiesSchema, toOruR01 } from '../lib/formats/hl7v2';
import type { Reading } from '../lib/reading';
import { describeIssues } from '../lib/zod-helpers';
import { runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * A reading (a receiver's output 1) → one HL7 v2 ORU^R01 in `msg.payload` (segments joined by
 * `\r`), for `hl7-send`. An event or anything else that is not a reading goes to `done(err)` with
 * `msg.payload` unchanged. The whole mapping is src/lib/formats/hl7v2/oru.ts.
 */

const topicOf = (payload: unknown): string => {
  const { vendor, event } = (payload ?? {}) as { vendor?: unknown; event?: unknown };
  return typeof vendor === 'string' ? `${vendor}/${String(event)}` : String(event);
};

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-hl7');

  registerNode(RED, 'health-hl7', function HealthHl7Node(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const parsed = oruPropertiesSchema.safeParse(config);
    const setupProblem = parsed.success ? undefined : new CodedError('invalid-config', { issues: describeIssues(parsed.error) });
    // said at each deploy: such a node files readings of no patient under nobody
    if (parsed.success && !parsed.data.requirePatient) this.warn(t('warn.patient-optional'));

    runAction(
      RED,
      this,
      { translate: t, setupProblem, failureStatus: (error) => t('status.failed', { code: String((error as { code?: unknown }).code ?? 'error') }) },
      async (msg) => {
        if (!parsed.success) throw setupProblem;
        let message: string;
        try {
          message = toOruR01(msg.payload as Reading, parsed.data);
        } catch (error) {
          if (!(error instanceof Hl7MappingError)) throw error;
          // `retryable: false` where no retry can mend it (no-patient, a kind with no mapping)
          const coded = new CodedError(error.code, { detail: error.message, topic: error.code === 'event' ? topicOf(msg.payload) : '' });
          throw error.retryable ? coded : Object.assign(coded, { retryable: false });
        }
        // kept beside its ORU^R01: health-outbox orders by its patient, a sink may log its id
        msg.reading = msg.payload;
        msg.payload = message;
        return { status: { fill: 'green', shape: 'dot', text: t('status.mapped', { version: parsed.data.version }) }, send: msg };
      },
    );
  });
};
