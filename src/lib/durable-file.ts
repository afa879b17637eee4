import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Sealer } from './at-rest';
import { CodedError } from './coded-error';

/**
 * A small file of ours that holds patients' data (sealed by the caller), kept readable by
 * Node-RED's user alone (0600 in a 0700 directory, an older one's permissions tightened) and
 * replaced whole: written beside it, flushed, then renamed over it and the directory flushed, so a
 * crash leaves the old file or the new one, never half of one. health-patient's run-time rows and
 * health-watch's episodes are kept so.
 */

/**
 * The file's text, or undefined when there is none yet. Throws CodedError `unreadable` with the
 * file system's code, never a part of the file.
 */
export async function readPrivateFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CodedError('unreadable', { reason: String((error as NodeJS.ErrnoException).code ?? 'error') });
  }
  await tighten(file, 0o600);
  return text;
}

/** Replaces `file` with `body`, durably (fsync of the file and of its directory). */
export async function replacePrivateFile(file: string, body: string): Promise<void> {
  const directory = path.dirname(file);
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  await tighten(directory, 0o700);
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, file);
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

/** Takes group and other permissions away from a file or directory made by an earlier release or by hand. */
async function tighten(file: string, mode: number): Promise<void> {
  try {
    const stat = await fs.stat(file);
    if ((stat.mode & 0o777) !== mode) await fs.chmod(file, mode);
  } catch {
    // not ours to fix (another owner): reading goes on
  }
}

/** The layout of a sealed file: `{"format": 1, "<field>": "<sealed JSON>"}`. */
const SEALED_FORMAT = 1;

/**
 * The JSON value sealed in `field` of the file, or undefined when there is no file yet. Throws
 * CodedError `unreadable` (the file system's code), `damaged` (not this layout, or not JSON once
 * opened) or `undecryptable` (another key, or damaged bytes): never a part of the file.
 */
export async function readSealedJson(file: string, sealer: Sealer, field: string): Promise<unknown> {
  const text = await readPrivateFile(file);
  if (text === undefined) return undefined;
  let record: Record<string, unknown> | null = null;
  try {
    record = JSON.parse(text) as Record<string, unknown> | null;
  } catch {
    // told below
  }
  const sealed = record?.[field];
  if (record?.format !== SEALED_FORMAT || typeof sealed !== 'string') throw new CodedError('damaged');
  const plain = sealer.openText(sealed);
  try {
    return JSON.parse(plain) as unknown;
  } catch {
    throw new CodedError('damaged');
  }
}

/** Replaces the file with `value` sealed in `field`, durably. */
export function writeSealedJson(file: string, sealer: Sealer, field: string, value: unknown): Promise<void> {
  return replacePrivateFile(file, JSON.stringify({ format: SEALED_FORMAT, [field]: sealer.sealText(JSON.stringify(value)) }));
}
