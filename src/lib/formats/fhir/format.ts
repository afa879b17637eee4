import type { FormatModule } from '../contract';
import { FHIR_CONTENT_TYPE, fhirOf, type Observation, type TransactionBundle } from './index';
import { FHIR_ERROR_CODES, FHIR_NOT_RETRYABLE, fhirNodeOptions, type ResolvedOptions } from './options';

/**
 * health-fhir: a reading → a FHIR R4 transaction Bundle or Observation, with its content type, for
 * the core `http request` node to POST to the FHIR server (its URL is the user's, set there).
 */
export const fhirFormat: FormatModule<ResolvedOptions, TransactionBundle | Observation, 'health-fhir'> = {
  nodeType: 'health-fhir',
  options: fhirNodeOptions,
  errorCodes: FHIR_ERROR_CODES,
  notRetryable: FHIR_NOT_RETRYABLE,
  patientOptional: (options) => !options.requirePatient,
  map: (reading, options) => {
    const resource = fhirOf(reading, options);
    return { payload: resource, headers: { 'content-type': FHIR_CONTENT_TYPE }, status: { resource: resource.resourceType } };
  },
  httpRequest: true,
};
