import { z } from 'zod';
import { blankIsDefault, numberProperty, textProperty } from '../../zod-helpers';
import { DEFAULT_PATIENT_ID_TYPE, PATIENT_DEFAULTS } from '../patient';
import { CHARSETS } from './charset';
import { HL7_VERSIONS } from './oru';

/**
 * The saved properties of the HL7 v2 nodes (SPEC §7) as the editor writes them (numbers as text,
 * "" for the default), read once when a node starts: `hl7-mllp` (the connection) and `health-hl7`
 * (the ORU^R01 options). Types come from here.
 */

const flag = z.preprocess((value) => value === true || value === 'true' || value === 1 || value === '1', z.boolean());

export const mllpPropertiesSchema = z.object({
  host: z.preprocess(blankIsDefault, z.string().trim().min(1, 'host is required')),
  port: z.preprocess(
    (value) => blankIsDefault(typeof value === 'string' ? value.trim() : value),
    z.coerce.number().int('port must be a whole number').min(1, 'port must be 1–65535').max(65535, 'port must be 1–65535'),
  ),
  tls: flag,
  /** Seconds a send waits for its ACK (including a wait for the connection). */
  timeout: numberProperty(10).pipe(z.number().positive('timeout must be above 0')),
  charset: z.preprocess(blankIsDefault, z.enum(CHARSETS).default('utf-8')),
});
export type MllpProperties = z.infer<typeof mllpPropertiesSchema>;

export const oruPropertiesSchema = z.object({
  sendingApplication: textProperty(''),
  sendingFacility: textProperty(''),
  receivingApplication: textProperty(''),
  receivingFacility: textProperty(''),
  /** `auto` or a `subject` field (src/lib/formats/patient.ts). */
  patientField: textProperty(PATIENT_DEFAULTS.patientField),
  /** A reading of no patient fails with `no-patient`; false: an ORU^R01 without PID. */
  requirePatient: z.preprocess(
    (value) => (blankIsDefault(value) === undefined ? undefined : value === true || value === 'true' ? true : value === false || value === 'false' ? false : value),
    z.boolean().default(PATIENT_DEFAULTS.requirePatient),
  ),
  patientAuthority: textProperty(''),
  /** CX-5 of the hospital's id (HL7 table 0203). */
  patientIdType: textProperty(DEFAULT_PATIENT_ID_TYPE),
  /** MSH-12 (SPEC §7); this node's configuration version is `configVersion` (src/lib/config-version.ts). */
  version: z.preprocess(blankIsDefault, z.enum(HL7_VERSIONS).default('2.5.1')),
});
export type OruProperties = z.infer<typeof oruPropertiesSchema>;
