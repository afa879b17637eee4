/** health-fhir's properties (SPEC §7) and the errors of the mapping. */

export type FhirOutput = 'bundle' | 'observation';

export interface FhirOptions {
  /** `bundle` (default): a transaction Bundle; `observation`: the Observation alone. */
  output?: FhirOutput;
  /** The `subject` field that identifies the patient (default `patientId`). */
  patientField?: string;
  /** The identifier system of patients (default `urn:health-bridge:patient`). */
  patientSystem?: string;
  /** The identifier system of devices (default `urn:health-bridge:device`). */
  deviceSystem?: string;
  /** The identifier system of readings, the Observation's identifier (default `urn:health-bridge:reading`). */
  readingSystem?: string;
}

export type ResolvedOptions = Required<FhirOptions>;

export const FHIR_DEFAULTS: ResolvedOptions = {
  output: 'bundle',
  patientField: 'patientId',
  patientSystem: 'urn:health-bridge:patient',
  deviceSystem: 'urn:health-bridge:device',
  readingSystem: 'urn:health-bridge:reading',
};

export type FhirErrorCode = 'event' | 'not-a-reading' | 'unknown-kind' | 'unit' | 'no-values' | 'options';

/** Why a message cannot become FHIR; `code` says which case, the message says it to a person. */
export class FhirMappingError extends Error {
  constructor(
    readonly code: FhirErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FhirMappingError';
  }
}

const blank = (value: unknown): boolean => value === undefined || value === null || value === '';

/** The options with defaults filled in (a blank property, as the editor saves it, is the default). */
export function resolveOptions(options: FhirOptions = {}): ResolvedOptions {
  const resolved = { ...FHIR_DEFAULTS };
  for (const name of Object.keys(FHIR_DEFAULTS) as Array<keyof ResolvedOptions>) {
    const value = options[name];
    if (blank(value)) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new FhirMappingError('options', `health-fhir: ${name} must be text`);
    }
    (resolved as Record<string, string>)[name] = value.trim();
  }
  if (resolved.output !== 'bundle' && resolved.output !== 'observation') {
    throw new FhirMappingError('options', `health-fhir: output must be "bundle" or "observation", not "${resolved.output}"`);
  }
  return resolved;
}
