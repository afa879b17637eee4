import { z } from 'zod';
import { blankIsDefault, textProperty } from '../../zod-helpers';
import { DEFAULT_PATIENT_ID_TYPE, PATIENT_DEFAULTS } from '../patient';
import { DEFAULT_HL7_VERSION, HL7_VERSIONS } from './oru';

/**
 * health-hl7's saved properties (the ORU^R01 options) as the editor writes them and as earlier
 * releases saved them: "" (or null, or nothing) is the default, text is trimmed, `requirePatient`
 * is a boolean or its text. patientField's default is patient.ts's. The node's configuration
 * version is `configVersion`, since `version` is the HL7 version (src/lib/config-version.ts).
 */
export const hl7NodeOptions = z.object({
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
  version: z.preprocess(blankIsDefault, z.enum(HL7_VERSIONS).default(DEFAULT_HL7_VERSION)),
});
export type Hl7NodeOptions = z.output<typeof hl7NodeOptions>;
