import { z } from 'zod';
import { blankIsDefault, numberProperty } from '../../zod-helpers';
import { CHARSETS } from './charset';

/**
 * The saved properties of the HL7 v2 nodes (docs/hospital.md#hl7-v2) as the editor writes them (numbers as text,
 * "" for the default), read once when a node starts: `hl7-mllp` (the connection); health-hl7's
 * options (the ORU^R01's) are in options.ts. Types come from here.
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

/** health-hl7's options moved to options.ts (`hl7NodeOptions`); these names stay for their callers. */
export { hl7NodeOptions as oruPropertiesSchema, type Hl7NodeOptions as OruProperties } from './options';
