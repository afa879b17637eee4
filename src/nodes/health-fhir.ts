import { timeLeftMs } from '../lib/ack-registry';
import { CodedError } from '../lib/coded-error';
import { FHIR_CONTENT_TYPE, FhirMappingError, resolveOptions, toFhir, type FhirOptions } from '../lib/formats/fhir';
import { runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * A reading (a receiver's output 1) → a FHIR R4 transaction Bundle or Observation in
 * `msg.payload`, with `content-type: application/fhir+json` in `msg.headers`, for the core
 * `http request` node to POST to the FHIR server (its URL is the user's, set there). What cannot
 * be mapped (an event, a unit without a LOINC term, a reading of no patient) goes to `done(err)`
 * with `msg.payload` unchanged. The whole mapping is src/lib/formats/fhir.
 */

const topicOf = (payload: unknown): string => {
  const { vendor, event } = (payload ?? {}) as { vendor?: unknown; event?: unknown };
  return typeof vendor === 'string' ? `${vendor}/${String(event)}` : String(event);
};

/** How long before a push's deadline the http request after this node gives up. */
const REQUEST_MARGIN_MS = 250;

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-fhir');

  registerNode(RED, 'health-fhir', function HealthFhirNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const options: FhirOptions = {
      output: config.output as FhirOptions['output'],
      patientField: config.patientField as string,
      requirePatient: config.requirePatient as FhirOptions['requirePatient'],
      patient: config.patient as FhirOptions['patient'],
      patientSystem: config.patientSystem as string,
      deviceSystem: config.deviceSystem as string,
      readingSystem: config.readingSystem as string,
    };
    let setupProblem: Error | undefined;
    try {
      // said at each deploy: such a node files readings of no patient under nobody
      if (!resolveOptions(options).requirePatient) this.warn(t('warn.patient-optional'));
    } catch (error) {
      setupProblem = new CodedError('invalid-config', { detail: (error as Error).message });
    }

    runAction(
      RED,
      this,
      { translate: t, setupProblem, failureStatus: (error) => t('status.failed', { code: String((error as { code?: unknown }).code ?? 'error') }) },
      async (msg) => {
        let resource;
        try {
          resource = toFhir(msg.payload, options);
        } catch (error) {
          if (!(error instanceof FhirMappingError)) throw error;
          // the lib's sentence names kinds, units and the reading id, never a patient value; a
          // failure no retry can mend says so (`retryable: false`), so the vendor is not made to
          // push the same reading forever
          const coded = new CodedError(error.code, { detail: error.message, topic: error.code === 'event' ? topicOf(msg.payload) : '' });
          throw error.retryable ? coded : Object.assign(coded, { retryable: false });
        }
        // kept beside its Bundle: health-outbox orders by its patient, a sink may log its id
        msg.reading = msg.payload;
        msg.payload = resource;
        msg.headers = { ...(msg.headers as object | undefined), 'content-type': FHIR_CONTENT_TYPE };
        // the push's deadline travels with msg._ack: the core http request node gives up (its
        // per-message timeout, ms, at least 1) a little before it, so its failure, not the
        // receiver's own timer, answers the vendor
        const left = timeLeftMs(msg._ack);
        if (left !== undefined) msg.requestTimeout = Math.max(1, Math.floor(left - REQUEST_MARGIN_MS));
        return { status: { fill: 'green', shape: 'dot', text: t('status.mapped', { resource: resource.resourceType }) }, send: msg };
      },
    );
  });
};
