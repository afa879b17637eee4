import type { HealthEvent, Reading } from '../reading';
import { normalizePhone } from '../vendors/viatom/phone';
import type { Vendor } from '../vendors/manifest';
import { PATIENT_FIELDS, sourceKey, type PatientField, type PatientRow, type RowOrigin } from './rows';

/**
 * health-patient's matching: which row names a reading's source at the reading's own time, and
 * how run-time assignments and Viatom authorizations change the run-time rows. Pure data, no
 * Node-RED and no disk: the node keeps the rows and stores the run-time ones (store.ts).
 */

/** A row made at run time (a message or a Viatom authorization), as it is kept across restarts. */
export interface RuntimeRow extends PatientRow {
  origin: Extract<RowOrigin, 'assigned' | 'viatom-authorized'>;
}

export interface PatientMatch {
  patientId: string;
  origin: RowOrigin;
}

/** A tie between rows of the same `from` goes to the newer kind of knowledge. */
const ORIGIN_RANK: Record<RowOrigin, number> = { assigned: 3, 'viatom-authorized': 2, file: 1, table: 0 };
/** Then a person's id before a device (a device may be shared, a person's id is theirs). */
const FIELD_RANK: Record<PatientField, number> = { patientId: 6, userId: 5, associatedId: 4, member_id: 3, account_id: 2, phone: 1, device: 0 };

/** A value as compared: phone numbers in one form (+86 and spaces removed), ids as they are. */
export function normalValue(field: PatientField, value: string): string {
  if (field !== 'phone') return value;
  const phone = normalizePhone(value);
  return phone.ok ? phone.phone : value.trim();
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;

/**
 * Where a field's value sits in a reading (or an event): `device` is the reading's `device.sn`,
 * for Expeed the device id (`device.id`: Expeed's devices are known by it, the sn is optional);
 * every other field is in `subject` (Lezhi: userId, associatedId; Viatom: account_id, member_id;
 * Sinocare: patientId; phone wherever a vendor puts one there).
 */
export function sourceValueOf(item: Pick<Reading, 'vendor' | 'device' | 'subject'>, field: PatientField): string | undefined {
  if (field === 'device') return text(item.vendor === 'expeed' ? item.device?.id : item.device?.sn);
  const value = text(item.subject?.[field]);
  return value === undefined ? undefined : normalValue(field, value);
}

const covers = (row: Pick<PatientRow, 'from' | 'until'>, time: number): boolean =>
  Number.isNaN(time)
    ? row.from === undefined && row.until === undefined
    : (row.from === undefined || time >= row.from) && (row.until === undefined || time < row.until);

interface Candidate {
  row: PatientRow;
  origin: RowOrigin;
}

const better = (a: Candidate, b: Candidate): boolean => {
  const fromA = a.row.from ?? -Infinity;
  const fromB = b.row.from ?? -Infinity;
  if (fromA !== fromB) return fromA > fromB;
  if (ORIGIN_RANK[a.origin] !== ORIGIN_RANK[b.origin]) return ORIGIN_RANK[a.origin] > ORIGIN_RANK[b.origin];
  return FIELD_RANK[a.row.field] > FIELD_RANK[b.row.field];
};

export class PatientTable {
  private readonly byOrigin: Record<RowOrigin, PatientRow[]> = { table: [], file: [], assigned: [], 'viatom-authorized': [] };
  private index = new Map<string, Candidate[]>();

  /** Replaces the rows of one origin (the editor's table, the file, or all run-time rows). */
  setRows(origin: 'table' | 'file', rows: PatientRow[]): void {
    this.byOrigin[origin] = rows;
    this.reindex();
  }

  setRuntimeRows(rows: RuntimeRow[]): void {
    this.byOrigin.assigned = rows.filter((row) => row.origin === 'assigned');
    this.byOrigin['viatom-authorized'] = rows.filter((row) => row.origin === 'viatom-authorized');
    this.reindex();
  }

  rowsOf(origin: RowOrigin): readonly PatientRow[] {
    return this.byOrigin[origin];
  }

  /** How many sources (vendor, field, value) some row names. */
  get sourceCount(): number {
    return this.index.size;
  }

  private reindex(): void {
    const index = new Map<string, Candidate[]>();
    for (const origin of Object.keys(this.byOrigin) as RowOrigin[]) {
      for (const row of this.byOrigin[origin]) {
        const key = sourceKey({ ...row, value: normalValue(row.field, row.value) });
        const list = index.get(key);
        if (list) list.push({ row, origin });
        else index.set(key, [{ row, origin }]);
      }
    }
    this.index = index;
  }

  /** The best row naming this source at `time` (ms; NaN matches only rows without bounds). */
  private best(vendor: Vendor, fields: readonly PatientField[], valueOf: (field: PatientField) => string | undefined, time: number): Candidate | undefined {
    let found: Candidate | undefined;
    for (const field of fields) {
      const value = valueOf(field);
      if (value === undefined) continue;
      for (const candidate of this.index.get(sourceKey({ vendor, field, value })) ?? []) {
        if (covers(candidate.row, time) && (!found || better(candidate, found))) found = candidate;
      }
    }
    return found;
  }

  /**
   * The patient of a reading, by its vendor and the value of each field, at the reading's own
   * `time`: a late push from a device that has since moved goes to the patient who had it then.
   */
  match(reading: Pick<Reading, 'vendor' | 'device' | 'subject' | 'time'>): PatientMatch | undefined {
    const found = this.best(reading.vendor, PATIENT_FIELDS, (field) => sourceValueOf(reading, field), Date.parse(reading.time));
    return found && { patientId: found.row.patientId, origin: found.origin };
  }

  /** The patient of a Viatom phone at `time` (the `phone` rows), for an authorization. */
  patientOfPhone(phone: string, time: number): string | undefined {
    return this.best('viatom', ['phone'], () => normalValue('phone', phone), time)?.row.patientId;
  }
}

/**
 * The run-time rows after an assignment of `row`: the source's assignment that is open at the new
 * row's `from` is closed there, one with the same `from` is replaced, and a new row that starts
 * before a later assignment of the source ends where that one starts (history stays one line).
 * `from` defaults to `now`.
 */
export function applyAssignment(rows: readonly RuntimeRow[], row: PatientRow, origin: RuntimeRow['origin'], now: number): RuntimeRow[] {
  const from = row.from ?? now;
  const added: RuntimeRow = { ...row, from, origin };
  const key = sourceKey(normalized(row));
  const next: RuntimeRow[] = [];
  for (const existing of rows) {
    if (sourceKey(normalized(existing)) !== key) {
      next.push(existing);
      continue;
    }
    const existingFrom = existing.from ?? -Infinity;
    if (existingFrom === from) continue; // the same source and from: replaced
    if (existingFrom < from && (existing.until === undefined || existing.until > from)) {
      next.push({ ...existing, until: from });
    } else {
      if (existingFrom > from && (added.until === undefined || added.until > existingFrom)) added.until = existingFrom;
      next.push(existing);
    }
  }
  next.push(added);
  return next;
}

/**
 * The run-time rows after ending the source's assignment open at `until` (of `origin` only, and of
 * `patientId` only, where given); `ended` counts the rows it closed (0: nothing was open).
 */
export function applyUnassignment(
  rows: readonly RuntimeRow[],
  source: Pick<PatientRow, 'vendor' | 'field' | 'value'>,
  until: number,
  filter: { origin?: RuntimeRow['origin']; patientId?: string } = {},
): { rows: RuntimeRow[]; ended: number } {
  const key = sourceKey(normalized(source));
  let ended = 0;
  const next = rows.flatMap((existing): RuntimeRow[] => {
    if (sourceKey(normalized(existing)) !== key) return [existing];
    if (filter.origin !== undefined && existing.origin !== filter.origin) return [existing];
    if (filter.patientId !== undefined && existing.patientId !== filter.patientId) return [existing];
    const open = (existing.from === undefined || existing.from <= until) && (existing.until === undefined || existing.until > until);
    if (!open) return [existing];
    ended++;
    // an assignment ended at its own start never held: it goes
    return existing.from !== undefined && existing.from === until ? [] : [{ ...existing, until }];
  });
  return { rows: next, ended };
}

const normalized = <T extends Pick<PatientRow, 'field' | 'value'>>(row: T): T => ({ ...row, value: normalValue(row.field, row.value) });

/** What a Viatom authorization event says: the member, the phone and when. */
export interface ViatomAuthorization {
  member?: string;
  phone?: string;
  time: number;
}

/** The member, phone and time of a `viatom/authorized` or `viatom/deauthorized` event. */
export function viatomAuthorizationOf(event: HealthEvent, now: number): ViatomAuthorization {
  const data = event.data as { phone?: unknown } | null | undefined;
  const time = event.time !== undefined ? Date.parse(event.time) : NaN;
  const member = text(event.subject?.member_id);
  const phone = text(data?.phone);
  return { ...(member !== undefined && { member }), ...(phone !== undefined && { phone }), time: Number.isFinite(time) ? time : now };
}
