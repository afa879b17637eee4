import type { Reading } from '../reading';
import type { Vendor } from '../vendors/manifest';

/**
 * Who a reading belongs to, for both hospital formats (FHIR and HL7 v2): the one definition of
 * `patientField`'s default, of the `auto` rule and of `requirePatient`. health-fhir and
 * health-hl7 read their defaults from here, the editor files get them from the build
 * (scripts/build-assets.mjs), and the configuration step that keeps nodes of the previous release
 * as they were (src/lib/config-version.ts) names what those nodes had.
 *
 * The rule, `auto`:
 *  1. `subject.patientId` where the reading has one: Sinocare's own patient id, or the hospital's
 *     id a node before this one set. It stands under the hospital's system (FHIR `patientSystem`,
 *     HL7 `patientAuthority` and `patientIdType`).
 *  2. Else the vendor's own identifier of the person, the first present of its fields below,
 *     under a system of its own per vendor and field, so that a Lezhi user id and a Viatom member
 *     id that happen to be equal never name the same patient, and neither is mistaken for the
 *     hospital's own id.
 *  3. Else none: with `requirePatient` (the default) the reading fails with `no-patient`.
 *
 * A reading whose receiver pseudonymized it (`context.pii: pseudonymize`) carries HMACs, not ids:
 * whatever field it is read from, its value goes under the vendor's system of that field with the
 * marker `-pseudonym`, never under the hospital's system, whatever `patientField` says.
 */

/** `patientField`'s value that applies the rule above. */
export const PATIENT_FIELD_AUTO = 'auto';

/** The defaults of a new health-fhir or health-hl7 node. */
export const PATIENT_DEFAULTS = { patientField: PATIENT_FIELD_AUTO, requirePatient: true } as const;

/**
 * What a node saved by the previous release (configuration version 1) read, and did with a
 * reading without a patient: the configuration step gives those nodes these values.
 */
export const PATIENT_LEGACY = { patientField: 'patientId', requirePatient: false } as const;

/** The field of the hospital's own id. */
export const HOSPITAL_FIELD = 'patientId';

/**
 * The vendor's own identifiers of the person, in the order `auto` tries them. Lezhi's
 * `associatedId` is the integrator's own id of the user (set when the user was bound), so it wins
 * over Lezhi's `userId`; Viatom's `member_id` is the person measured (an account may hold a
 * family). Sinocare sends the hospital's `patientId`; Expeed knows only a device.
 */
export const VENDOR_PATIENT_FIELDS: Readonly<Partial<Record<Vendor, readonly string[]>>> = {
  lezhi: ['associatedId', 'userId'],
  viatom: ['member_id'],
};

/** The marker a pseudonymized id carries in its system. */
export const PSEUDONYM_MARKER = '-pseudonym';

/** Whose id a reading carries, and how the formats name its system. */
export type PatientRef =
  /** The hospital's id: FHIR `patientSystem`, HL7 `patientAuthority` / `patientIdType`. */
  | { value: string; hospital: true }
  /** A vendor's id (or a pseudonym): its system is made of the vendor and the field. */
  | { value: string; hospital: false; vendor: string; field: string; pseudonym: boolean };

const present = (value: unknown): value is string | number =>
  (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));

/**
 * Vendor values that name no one: the text "null", bare or base64-encoded as Viatom encodes its
 * ids ("bnVsbA==", seen as `member_id` of a measurement by the account holder, not by a member).
 * Taken as an id, every such reading of every account would be filed under one patient.
 */
const NOBODY = new Set(['null', 'undefined', 'bnVsbA==', 'dW5kZWZpbmVk']);

/** True for the value that means the rule (a blank one is the default, which is the rule too). */
export function isAutoField(patientField: string | undefined): boolean {
  return patientField === undefined || patientField.trim() === '' || patientField.trim() === PATIENT_FIELD_AUTO;
}

/**
 * The patient of a reading by `patientField` (`auto` or a `subject` field's name), or undefined
 * when the reading names none. An explicit field is read as before this rule existed: its value
 * is the hospital's id (unless it is a pseudonym).
 */
export function patientOf(reading: Reading, patientField: string | undefined): PatientRef | undefined {
  const subject = reading.subject ?? {};
  const pseudonym = reading.context?.pii === 'pseudonymize';
  const found = (field: string, hospital: boolean): PatientRef | undefined => {
    const value = subject[field];
    if (!present(value) || (!hospital && NOBODY.has(String(value).trim()))) return undefined;
    if (hospital && !pseudonym) return { value: String(value).trim(), hospital: true };
    return { value: String(value).trim(), hospital: false, vendor: reading.vendor, field, pseudonym };
  };
  if (!isAutoField(patientField)) return found((patientField as string).trim(), true);
  const first = found(HOSPITAL_FIELD, true);
  if (first) return first;
  for (const field of VENDOR_PATIENT_FIELDS[reading.vendor] ?? []) {
    const ref = found(field, false);
    if (ref) return ref;
  }
  return undefined;
}

/** FHIR: the identifier system of a vendor's id, `urn:health-bridge:<vendor>:<field>[-pseudonym]`. */
export function vendorSystem(ref: Extract<PatientRef, { hospital: false }>): string {
  return `urn:health-bridge:${ref.vendor}:${ref.field}${ref.pseudonym ? PSEUDONYM_MARKER : ''}`;
}

/** The assigning authority when the node names none: "health bridge". */
export const DEFAULT_AUTHORITY = 'HB';

/**
 * HL7 v2: CX-4 of a vendor's id, `<patientAuthority or HB>-<VENDOR>-<FIELD>[-PSEUDONYM]`, upper
 * case (Lezhi's associatedId under authority HOSP: `HOSP-LEZHI-ASSOCIATEDID`).
 */
export function vendorAuthority(ref: Extract<PatientRef, { hospital: false }>, patientAuthority: string | undefined): string {
  const base = patientAuthority && patientAuthority.trim() !== '' ? patientAuthority.trim() : DEFAULT_AUTHORITY;
  return `${base}-${ref.vendor}-${ref.field}${ref.pseudonym ? PSEUDONYM_MARKER : ''}`.toUpperCase();
}

/** HL7 v2 CX-5 of a vendor's id or pseudonym: "PT", patient external identifier (HL7 table 0203). */
export const VENDOR_ID_TYPE = 'PT';

/** The default CX-5 of the hospital's id: "PI", patient internal identifier (HL7 table 0203). */
export const DEFAULT_PATIENT_ID_TYPE = 'PI';
