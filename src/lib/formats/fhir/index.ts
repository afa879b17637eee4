import type { Reading } from '../../reading';
import { buildBundle, conditionalPatientReference, type TransactionBundle } from './bundle';
import { buildObservation, deviceIdentifier, patientIdentifier, type Observation } from './observation';
import { FhirMappingError, resolveOptions, type FhirOptions } from './options';

/**
 * The FHIR R4 half of the hospital side (SPEC §7): `toFhir(reading, options)` is what health-fhir
 * puts in `msg.payload`. No Node-RED and no FHIR library here; the tests check the output against
 * a real FHIR implementation.
 */

export { codeTableMarkdown, CODE_ROWS, KIND_RULES } from '../codes';
export { FHIR_DEFAULTS, FHIR_ERROR_CODES, FhirMappingError, fhirNodeOptions, resolveOptions, type FhirErrorCode, type FhirOptions, type FhirOutput, type FhirPatientMode } from './options';
export { uuidV5, identifierCondition, conditionalPatientReference, type TransactionBundle } from './bundle';
export type { Observation } from './observation';

export const FHIR_CONTENT_TYPE = 'application/fhir+json';

/** Refuses what is not a reading: an event (SPEC §3, output 2 of a receiver) or anything else. */
function assertReading(input: unknown): asserts input is Reading {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FhirMappingError('not-a-reading', 'health-fhir: msg.payload is not a reading (expected an object from a receiver\'s output 1)');
  }
  const candidate = input as Record<string, unknown>;
  if (typeof candidate.event === 'string' && candidate.kind === undefined) {
    throw new FhirMappingError(
      'event',
      `health-fhir: "${String(candidate.vendor)}/${candidate.event}" is an event, not a reading: events (a receiver's output 2) have no FHIR Observation; wire only output 1 to health-fhir`,
    );
  }
  const missing = ['id', 'kind', 'time'].filter((name) => typeof candidate[name] !== 'string' || candidate[name] === '');
  if (missing.length || typeof candidate.values !== 'object' || candidate.values === null) {
    throw new FhirMappingError('not-a-reading', `health-fhir: msg.payload is not a reading (missing ${missing.length ? missing.join(', ') : 'values'})`);
  }
}

/**
 * A reading → a transaction Bundle (`output: bundle`, the default) or the Observation alone
 * (`output: observation`, which names the Patient and the Device by logical reference on their
 * identifiers; with `patient: reference` the Patient by a conditional reference). Throws
 * FhirMappingError for an event, for what is not a reading, for a reading it cannot map (a unit
 * without a LOINC term) and for a reading of no patient while `requirePatient` holds.
 */
export function toFhir(input: unknown, options: FhirOptions = {}): TransactionBundle | Observation {
  const resolved = resolveOptions(options);
  assertReading(input);
  if (resolved.output === 'bundle') return buildBundle(input, resolved);
  const patient = patientIdentifier(input, resolved);
  const device = deviceIdentifier(input, resolved);
  return buildObservation(input, resolved, {
    ...(patient && { subject: resolved.patient === 'reference' ? conditionalPatientReference(patient) : { type: 'Patient', identifier: patient } }),
    ...(device && { device: { type: 'Device', identifier: device.identifier } }),
  });
}
