import { z } from 'zod';
import { blankIsDefault } from '../../zod-helpers';
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

/**
 * health-fhir's saved properties as the editor writes them and as earlier releases saved them:
 * "" (or null, or nothing) is the default; text is trimmed, and text of only spaces is refused as
 * it always was; `requirePatient` is a boolean or its text ("true"/"false"), as the editor saves a
 * checkbox and as config-version's step from version 1 writes it. patientField's default is
 * patient.ts's. The messages name the rule, never the value (a value may be anything a user typed).
 */
const text = (name: string) =>
  z.string({ error: `${name} must be text` }).trim().min(1, `${name} must be text`);
const blankOr = <T extends z.ZodType>(schema: T, fallback: z.util.NoUndefined<z.output<T>>) => z.preprocess(blankIsDefault, schema.default(fallback));
const oneOf = <const V extends readonly [string, ...string[]]>(name: string, values: V) =>
  text(name).pipe(z.enum(values, { error: `${name} must be ${values.map((value) => `"${value}"`).join(' or ')}` }));

export const fhirNodeOptions = z.object({
  output: blankOr(oneOf('output', ['bundle', 'observation']), 'bundle'),
  patientField: blankOr(text('patientField'), PATIENT_DEFAULTS.patientField),
  requirePatient: blankOr(
    z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean({ error: 'requirePatient must be true or false' })),
    PATIENT_DEFAULTS.requirePatient,
  ),
  patient: blankOr(oneOf('patient', ['create', 'reference']), 'create'),
  patientSystem: blankOr(text('patientSystem'), 'urn:health-bridge:patient'),
  deviceSystem: blankOr(text('deviceSystem'), 'urn:health-bridge:device'),
  readingSystem: blankOr(text('readingSystem'), 'urn:health-bridge:reading'),
});

/** What a node's options are once read: every default filled in. */
export type ResolvedOptions = z.output<typeof fhirNodeOptions>;

export const FHIR_DEFAULTS: ResolvedOptions = fhirNodeOptions.parse({});

/** The issues of options that do not parse, as the rules they break ("output must be …"). */
export function describeOptionIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'too_small' ? issue.message : `${issue.path.join('.')}: ${issue.code}`)).join('; ');
}

/** The options with defaults filled in (a blank property, as the editor saves it, is the default). */
export function resolveOptions(options: FhirOptions = {}): ResolvedOptions {
  const parsed = fhirNodeOptions.safeParse(options);
  if (!parsed.success) throw new FhirMappingError('options', `health-fhir: ${describeOptionIssues(parsed.error)}`);
  return parsed.data;
}
