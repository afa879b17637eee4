import { patientRowSchema, describeRowIssues, type PatientRow, type RowsResult } from './rows';
import { z } from 'zod';

/**
 * health-patient's CSV file: a header line naming the columns (`vendor,field,value,patientId`,
 * optionally `from` and `until`, in any order), then one row per line. RFC 4180 quoting (a cell
 * in double quotes may hold commas, line breaks and "" for a quote), a UTF-8 byte order mark
 * (Excel writes one), CRLF or LF line ends, blank lines and lines starting with `#` are skipped.
 * A problem is told by line and column, never by the cell's text.
 */

const REQUIRED = ['vendor', 'field', 'value', 'patientId'] as const;
const OPTIONAL = ['from', 'until'] as const;
const KNOWN = new Set<string>([...REQUIRED, ...OPTIONAL]);

interface Line {
  /** 1-based line number in the file where the record starts. */
  number: number;
  cells: string[];
}

/** Splits CSV text into records; throws a message (no cell text) for an unterminated quote. */
function records(text: string): Line[] {
  const lines: Line[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let touched = false;
  const endRecord = (): void => {
    cells.push(cell);
    if (touched || cells.length > 1 || cell !== '') lines.push({ number: start, cells });
    cells = [];
    cell = '';
    touched = false;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (char === '\n') line++;
        cell += char;
      }
      continue;
    }
    if (char === '"' && cell === '') {
      quoted = true;
      touched = true;
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
      touched = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      cell += char;
    }
  }
  if (quoted) throw new Error(`line ${start}: a quoted cell is not closed`);
  endRecord();
  return lines;
}

/** The rows of a CSV file's text, or why it does not parse (the last good table then stays). */
export function parsePatientCsv(text: string): RowsResult {
  let lines: Line[];
  try {
    lines = records(text.replace(/^\uFEFF/, '')).filter(
      (line) => !(line.cells.length === 1 && line.cells[0]!.trim() === '') && !line.cells[0]!.trimStart().startsWith('#'),
    );
  } catch (error) {
    return { ok: false, problem: (error as Error).message };
  }
  const header = lines.shift();
  if (!header) return { ok: false, problem: 'the file is empty: it needs a header line (vendor,field,value,patientId,from,until)' };
  const columns = header.cells.map((cell) => cell.trim());
  const missing = REQUIRED.filter((name) => !columns.includes(name));
  if (missing.length) return { ok: false, problem: `line ${header.number}: the header lacks the column(s) ${missing.join(', ')}` };
  const unknown = columns.filter((name) => name !== '' && !KNOWN.has(name));
  if (unknown.length) return { ok: false, problem: `line ${header.number}: unknown column(s) ${unknown.join(', ')}` };

  const rows: PatientRow[] = [];
  for (const line of lines) {
    if (line.cells.length > columns.length && line.cells.slice(columns.length).some((cell) => cell.trim() !== '')) {
      return { ok: false, problem: `line ${line.number}: more cells than the header has columns` };
    }
    const record: Record<string, string> = {};
    columns.forEach((name, index) => {
      if (name !== '') record[name] = line.cells[index] ?? '';
    });
    const parsed = patientRowSchema.safeParse(record);
    if (!parsed.success) {
      // the issues' paths are the columns; the line is the file's
      const text = describeRowIssues(new z.ZodError(parsed.error.issues));
      return { ok: false, problem: `line ${line.number}: ${text}` };
    }
    rows.push(parsed.data);
  }
  return { ok: true, rows };
}
