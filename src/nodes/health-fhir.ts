import { FORMATS } from '../lib/formats';
import { registerFormatNode } from './format-node';
import type { NodeRedApi } from './node-red';

/**
 * A reading → a FHIR R4 transaction Bundle or Observation in `msg.payload`, with
 * `content-type: application/fhir+json` in `msg.headers`, for the core `http request` node. The
 * format is src/lib/formats/fhir, the node src/nodes/format-node.ts.
 */
export = (RED: NodeRedApi): void => registerFormatNode(RED, FORMATS.fhir);
