import { z } from 'zod';
import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import { readSealedJson, writeSealedJson } from '../durable-file';
import { patientRowSchema, rowToJson } from './rows';
import type { RuntimeRow } from './table';

/**
 * health-patient's run-time rows on disk: one file per node, `{"format":1,"rows":"<sealed>"}`,
 * the rows (patient ids, devices, members) sealed under the operator's at-rest key, so the user
 * directory alone does not tell whose a device is. The file is readable by Node-RED's user alone
 * (0600 in a 0700 directory) and replaced whole: written beside it, flushed, then renamed over it,
 * so a crash leaves the old table or the new one, never half of one.
 */

const storedRows = z.array(
  z.object({ origin: z.enum(['assigned', 'viatom-authorized']) }).passthrough(),
);

/** Run-time rows from their JSON (a file's, or a Redis field's): CodedError `damaged` if not ours; a row no longer valid is left out. */
export function runtimeRowsFromJson(json: unknown): RuntimeRow[] {
  const parsed = storedRows.safeParse(json);
  if (!parsed.success) throw new CodedError('damaged');
  return parsed.data.flatMap((stored) => {
    const row = patientRowSchema.safeParse(stored);
    return row.success ? [{ ...row.data, origin: stored.origin }] : [];
  });
}

/** Run-time rows as they are kept: the editor's format (ISO times) and their origin. */
export function runtimeRowsToJson(rows: readonly RuntimeRow[]): Array<Record<string, string>> {
  return rows.map((row) => ({ ...rowToJson(row), origin: row.origin }));
}

export class RuntimeRowStore {
  constructor(
    readonly file: string,
    private readonly sealer: Sealer,
  ) {}

  /**
   * The rows kept by the last run ([] when there is no file yet). Throws CodedError `unreadable`
   * (the file system's code), `damaged` (not our format) or `undecryptable` (another key, or
   * damaged bytes): never a part of the file in its text.
   */
  async load(): Promise<RuntimeRow[]> {
    const json = await readSealedJson(this.file, this.sealer, 'rows');
    return json === undefined ? [] : runtimeRowsFromJson(json);
  }

  /** Replaces the file with `rows`, durably. */
  save(rows: readonly RuntimeRow[]): Promise<void> {
    return writeSealedJson(this.file, this.sealer, 'rows', runtimeRowsToJson(rows));
  }
}
