import { FORMATS } from '../lib/formats';
import { registerFormatNode } from './format-node';
import type { NodeRedApi } from './node-red';

/**
 * A reading → one HL7 v2 ORU^R01 in `msg.payload` (segments joined by `\r`), for `hl7-send`. The
 * format is src/lib/formats/hl7v2 (format.ts), the node src/nodes/format-node.ts.
 */
export = (RED: NodeRedApi): void => registerFormatNode(RED, FORMATS.hl7);
