import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import { patientRowSchema, rowToJson } from './rows';
import type { RuntimeRow } from './table';

/**
 * health-patient's run-time rows on disk: one file per node, `{"format":1,"rows":"<sealed>"}`,
 * the rows (patient ids, devices, members) sealed under the operator's at-rest key, so the user
 * directory alone does not tell whose a device is. The file is readable by Node-RED's user alone
 * (0600 in a 0700 directory) and replaced whole: written beside it, flushed, then renamed over it,
 * so a crash leaves the old table or the new one, never half of one.
 */

const FORMAT = 1;

const fileSchema = z.object({ format: z.literal(FORMAT), rows: z.string() });
const storedRows = z.array(
  z.object({ origin: z.enum(['assigned', 'viatom-authorized']) }).passthrough(),
);

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
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CodedError('unreadable', { reason: String((error as NodeJS.ErrnoException).code ?? 'error') });
    }
    await tighten(this.file, 0o600);
    let sealed: z.infer<typeof fileSchema>;
    try {
      sealed = fileSchema.parse(JSON.parse(text));
    } catch {
      throw new CodedError('damaged');
    }
    const plain = this.sealer.openText(sealed.rows);
    let json: unknown;
    try {
      json = JSON.parse(plain);
    } catch {
      throw new CodedError('damaged');
    }
    const parsed = storedRows.safeParse(json);
    if (!parsed.success) throw new CodedError('damaged');
    return parsed.data.flatMap((stored) => {
      const row = patientRowSchema.safeParse(stored);
      return row.success ? [{ ...row.data, origin: stored.origin }] : [];
    });
  }

  /** Replaces the file with `rows`, durably (fsync of the file and of its directory). */
  async save(rows: readonly RuntimeRow[]): Promise<void> {
    const directory = path.dirname(this.file);
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    await tighten(directory, 0o700);
    const plain = JSON.stringify(rows.map((row) => ({ ...rowToJson(row), origin: row.origin })));
    const body = JSON.stringify({ format: FORMAT, rows: this.sealer.sealText(plain) });
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fs.open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(temporary, this.file);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
    const dir = await fs.open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Takes group and other permissions away from a file or directory made by an earlier release or by hand. */
async function tighten(file: string, mode: number): Promise<void> {
  try {
    const stat = await fs.stat(file);
    if ((stat.mode & 0o777) !== mode) await fs.chmod(file, mode);
  } catch {
    // not ours to fix (another owner): reading goes on
  }
}
