import type { FormatModule } from '../contract';
import { hl7NodeOptions, type Hl7NodeOptions } from './options';
import { HL7_MAPPING_ERROR_CODES, HL7_NOT_RETRYABLE, toOruR01 } from './oru';

/**
 * health-hl7: a reading → one HL7 v2 ORU^R01 (segments joined by `\r`) for `hl7-send`, which
 * reads the push's deadline itself.
 */
export const hl7Format: FormatModule<Hl7NodeOptions, string, 'health-hl7'> = {
  nodeType: 'health-hl7',
  options: hl7NodeOptions,
  errorCodes: HL7_MAPPING_ERROR_CODES,
  notRetryable: HL7_NOT_RETRYABLE,
  patientOptional: (options) => !options.requirePatient,
  map: (reading, options) => ({ payload: toOruR01(reading, options), status: { version: options.version } }),
  httpRequest: false,
};
