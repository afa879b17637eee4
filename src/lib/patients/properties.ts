import path from 'node:path';
import { z } from 'zod';
import { VENDORS } from '../vendors/manifest';
import { PATIENT_FIELDS } from './rows';

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
  value: z.preprocess((value) => (typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : value), z.string().min(1)),
  patientId: z.preprocess((value) => (typeof value === 'number' ? String(value) : value === '' || value === null ? undefined : value), z.string().optional()),
  until: z.preprocess(
    (value) => (value === '' || value === null ? undefined : value),
    z.union([z.number().finite(), z.string()]).optional().transform((value, ctx) => {
      if (value === undefined) return undefined;
      const ms = typeof value === 'number' ? value : /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()) ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with an offset' });
        return z.NEVER;
      }
      return ms;
    }),
  ),
});

/** The CSV path: relative to Node-RED's user directory (where settings.js lives), else as given. */
export function resolveCsvPath(file: string, userDir: string | undefined): string {
  return path.resolve(userDir ?? process.cwd(), file);
}
