import path from 'node:path';
import { z } from 'zod';
import { VENDORS } from '../vendors/manifest';
import { idText, PATIENT_FIELDS, timeBound } from './rows';

/** health-patient's properties as the editor saves them ("" = none). */
export const patientPropertiesSchema = z.object({
  file: z.preprocess((value) => (value === null || value === undefined ? '' : value), z.string().trim()),
  state: z.preprocess((value) => (value === null || value === undefined ? '' : value), z.string().trim()),
});

/** The topics of the run-time messages. */
export const ASSIGN_TOPIC = 'health-patient/assign';
export const UNASSIGN_TOPIC = 'health-patient/unassign';

/** An unassignment: the source, optionally the patient whose assignment ends, and when (default now). */
export const unassignSchema = z.object({
  vendor: z.preprocess((value) => (typeof value === 'string' ? value.trim().toLowerCase() : value), z.enum(VENDORS)),
  field: z.preprocess((value) => (typeof value === 'string' ? value.trim() : value), z.enum(PATIENT_FIELDS)),
  value: idText,
  patientId: z.preprocess((value) => (value === '' || value === null ? undefined : value), idText.optional()),
  until: timeBound,
});

/** The CSV path: relative to Node-RED's user directory (where settings.js lives), else as given. */
export function resolveCsvPath(file: string, userDir: string | undefined): string {
  return path.resolve(userDir ?? process.cwd(), file);
}
