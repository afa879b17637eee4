import { notAReading, type Reading } from '../../reading';
import { buildBundle, conditionalPatientReference, type TransactionBundle } from './bundle';
import { buildObservation, deviceIdentifier, patientIdentifier, type Observation } from './observation';
import { FhirMappingError, resolveOptions, type FhirOptions, type ResolvedOptions } from './options';

/**
 * The FHIR R4 half of the hospital side (docs/hospital.md#fhir-r4): `toFhir(reading, options)` is what health-fhir
 * puts in `msg.payload`. No Node-RED and no FHIR library here; the tests check the output against
 * a real FHIR implementation.
 */

export { codeTableMarkdown, CODE_ROWS, KIND_RULES } from '../codes';
export { FHIR_DEFAULTS, FHIR_ERROR_CODES, FhirMappingError, fhirNodeOptions, resolveOptions, type FhirErrorCode, type FhirOptions, type FhirOutput, type FhirPatientMode, type ResolvedOptions } from './options';
export { uuidV5, identifierCondition, conditionalPatientReference, type TransactionBundle } from './bundle';
export type { Observation } from './observation';

export const FHIR_CONTENT_TYPE = 'application/fhir+json';

/** Refuses what is not a reading: an event (a receiver's output 2) or anything else. */
function assertReading(input: unknown): asserts input is Reading {
  const problem = notAReading(input);
  if (problem) throw new FhirMappingError(problem.code, `health-fhir: ${problem.message}`);
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
  return fhirOf(input, resolved);
}

/** toFhir of a reading, with options already read (health-fhir reads them once, when it starts). */
export function fhirOf(reading: Reading, resolved: ResolvedOptions): TransactionBundle | Observation {
  if (resolved.output === 'bundle') return buildBundle(reading, resolved);
  const patient = patientIdentifier(reading, resolved);
  const device = deviceIdentifier(reading, resolved);
  return buildObservation(reading, resolved, {
    ...(patient && { subject: resolved.patient === 'reference' ? conditionalPatientReference(patient) : { type: 'Patient', identifier: patient } }),
    ...(device && { device: { type: 'Device', identifier: device.identifier } }),
  });
}
