import { z } from 'zod';
import { VENDORS, type Vendor } from '../vendors/manifest';
import { describeIssues } from '../zod-helpers';

/**
 * A row of health-patient's table: which source (a vendor's device, user, member, phone or patient
 * id) belongs to which of the hospital's patients, and when. Rows come from the editor's table (a
 * credential), a CSV file and run-time assignments; all of them are checked here alike.
 */

/** Where a row's `value` is looked for in a reading (see `sourceValueOf`). */
export const PATIENT_FIELDS = ['device', 'userId', 'associatedId', 'member_id', 'account_id', 'phone', 'patientId'] as const;
export type PatientField = (typeof PATIENT_FIELDS)[number];

/** Which of the node's tables a row came from: `context.patientSource` of a reading it matched. */
export const ROW_ORIGINS = ['table', 'file', 'assigned', 'viatom-authorized'] as const;
export type RowOrigin = (typeof ROW_ORIGINS)[number];

/** A row as checked: times as epoch ms, so a match compares numbers. */
export interface PatientRow {
  vendor: Vendor;
  field: PatientField;
  value: string;
  patientId: string;
  /** Inclusive; undefined = since always. */
  from?: number;
  /** Exclusive; undefined = still open. */
  until?: number;
}

/** An id as text: the vendors send some as numbers, and a CSV cell is text anyway. */
export const idText = z.preprocess(
  (value) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim() : value),
  z.string().min(1, 'must not be empty').max(256, 'is longer than 256 characters'),
);

/**
 * A time bound: ISO 8601 (with an offset, or a bare date, taken as UTC as JavaScript does) or epoch
 * ms. Blank means unbounded. A time without an offset is refused: it would mean a different
 * instant on a server in another zone.
 */
export const timeBound = z.preprocess(
  (value) => (value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value),
  z
    .union([z.number().finite(), z.string().trim()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      if (typeof value === 'number') return value;
      const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
      const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value);
      const ms = Date.parse(value);
      if ((!dateOnly && !zoned) || !Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with an offset (e.g. 2026-05-01T08:00:00+08:00)' });
        return z.NEVER;
      }
      return ms;
    }),
);

export const patientRowSchema = z
  .object({
    vendor: z.preprocess((value) => (typeof value === 'string' ? value.trim().toLowerCase() : value), z.enum(VENDORS)),
    field: z.preprocess((value) => (typeof value === 'string' ? value.trim() : value), z.enum(PATIENT_FIELDS)),
    value: idText,
    patientId: idText,
    from: timeBound,
    until: timeBound,
  })
  .superRefine((row, ctx) => {
    if (row.from !== undefined && row.until !== undefined && !(row.until > row.from)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than from' });
    }
  })
  .transform((row): PatientRow => {
    const checked: PatientRow = { vendor: row.vendor, field: row.field, value: row.value, patientId: row.patientId };
    if (row.from !== undefined) checked.from = row.from;
    if (row.until !== undefined) checked.until = row.until;
    return checked;
  });

/** A table is a list of rows; an issue names the row by its number (1 = the first). */
export const patientTableSchema = z.array(patientRowSchema);

export type RowsResult = { ok: true; rows: PatientRow[] } | { ok: false; problem: string };

/** Issues as text that names rows, columns and rules, never a value (ids are patients' data). */
export function describeRowIssues(error: z.ZodError, firstRow = 1): string {
  const shifted = error.issues.map((issue) => {
    const [index, ...rest] = issue.path;
    return typeof index === 'number' ? { ...issue, path: [`row ${index + firstRow}`, ...rest] } : issue;
  });
  return describeIssues(new z.ZodError(shifted as z.core.$ZodIssue[]));
}

/** The editor's table: the `sources` credential, JSON text of an array of rows ("" = none). */
export function parseSourcesCredential(text: string | undefined): RowsResult {
  if (text === undefined || text.trim() === '') return { ok: true, rows: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const parsed = patientTableSchema.safeParse(json);
  return parsed.success ? { ok: true, rows: parsed.data } : { ok: false, problem: describeRowIssues(parsed.error) };
}

/** A row as it is written back (JSON of the run-time rows, the editor's format): ISO times. */
export function rowToJson(row: PatientRow): Record<string, string> {
  return {
    vendor: row.vendor,
    field: row.field,
    value: row.value,
    patientId: row.patientId,
    ...(row.from !== undefined && { from: new Date(row.from).toISOString() }),
    ...(row.until !== undefined && { until: new Date(row.until).toISOString() }),
  };
}

/** The source a row names: vendor, field and value (a phone compared in its normal form). */
export function sourceKey(row: Pick<PatientRow, 'vendor' | 'field' | 'value'>): string {
  return `${row.vendor}\u0000${row.field}\u0000${row.value}`;
}
