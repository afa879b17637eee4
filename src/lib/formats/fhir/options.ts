import { PATIENT_DEFAULTS } from '../patient';

/** health-fhir's properties and the errors of the mapping. */

export type FhirOutput = 'bundle' | 'observation';

/** `create`: the Bundle creates the Patient if the server has none; `reference`: only points at it. */
export type FhirPatientMode = 'create' | 'reference';

export interface FhirOptions {
  /** `bundle` (default): a transaction Bundle; `observation`: the Observation alone. */
  output?: FhirOutput;
  /** The `subject` field that identifies the patient, or `auto` (the default: src/lib/formats/patient.ts). */
  patientField?: string;
  /** A reading without a patient fails with `no-patient` (default true); false: an Observation without `subject`. */
  requirePatient?: boolean | string;
  /** `create` (default): a conditional-create Patient in the Bundle; `reference`: a conditional reference the server resolves or refuses. */
  patient?: FhirPatientMode;
  /** The identifier system of the hospital's patient ids (default `urn:health-bridge:patient`). */
  patientSystem?: string;
  /** The identifier system of devices (default `urn:health-bridge:device`). */
  deviceSystem?: string;
  /** The identifier system of readings, the Observation's identifier (default `urn:health-bridge:reading`). */
  readingSystem?: string;
}

export interface ResolvedOptions {
  output: FhirOutput;
  patientField: string;
  requirePatient: boolean;
  patient: FhirPatientMode;
  patientSystem: string;
  deviceSystem: string;
  readingSystem: string;
}

export const FHIR_DEFAULTS: ResolvedOptions = {
  output: 'bundle',
  patientField: PATIENT_DEFAULTS.patientField,
  requirePatient: PATIENT_DEFAULTS.requirePatient,
  patient: 'create',
  patientSystem: 'urn:health-bridge:patient',
  deviceSystem: 'urn:health-bridge:device',
  readingSystem: 'urn:health-bridge:reading',
};

/** Every code a FhirMappingError carries (health-fhir's own codes add `invalid-config`). */
export const FHIR_ERROR_CODES = ['event', 'not-a-reading', 'unknown-kind', 'unit', 'no-values', 'no-patient', 'options'] as const;
export type FhirErrorCode = (typeof FHIR_ERROR_CODES)[number];

/**
 * The failures no retry can mend: the same reading will never map, however often the vendor
 * pushes it (a flow's wiring mistake, an event or not a reading, is mended by fixing the flow).
 */
export const FHIR_NOT_RETRYABLE: ReadonlySet<FhirErrorCode> = new Set(['unknown-kind', 'unit', 'no-values', 'no-patient']);

/** Why a message cannot become FHIR; `code` says which case, the message says it to a person. */
export class FhirMappingError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: FhirErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FhirMappingError';
    this.retryable = !FHIR_NOT_RETRYABLE.has(code);
  }
}

const blank = (value: unknown): boolean => value === undefined || value === null || value === '';

const TEXT_OPTIONS = ['output', 'patientField', 'patient', 'patientSystem', 'deviceSystem', 'readingSystem'] as const;

/** The options with defaults filled in (a blank property, as the editor saves it, is the default). */
export function resolveOptions(options: FhirOptions = {}): ResolvedOptions {
  const resolved = { ...FHIR_DEFAULTS };
  for (const name of TEXT_OPTIONS) {
    const value = options[name];
    if (blank(value)) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new FhirMappingError('options', `health-fhir: ${name} must be text`);
    }
    (resolved as unknown as Record<string, string>)[name] = value.trim();
  }
  const require = options.requirePatient;
  if (!blank(require)) {
    if (require === true || require === 'true') resolved.requirePatient = true;
    else if (require === false || require === 'false') resolved.requirePatient = false;
    else throw new FhirMappingError('options', 'health-fhir: requirePatient must be true or false');
  }
  if (resolved.output !== 'bundle' && resolved.output !== 'observation') {
    throw new FhirMappingError('options', `health-fhir: output must be "bundle" or "observation", not "${resolved.output}"`);
  }
  if (resolved.patient !== 'create' && resolved.patient !== 'reference') {
    throw new FhirMappingError('options', `health-fhir: patient must be "create" or "reference", not "${resolved.patient}"`);
  }
  return resolved;
}
