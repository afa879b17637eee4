import fs from 'node:fs';
import path from 'node:path';
import { parsePatientCsv } from './csv';
import type { PatientRow } from './rows';

/**
 * Follows health-patient's CSV file: read at start, and again whenever it changes, also when an
 * editor or a script replaces it by a rename (the directory is watched, not the file, whose inode
 * goes with the rename; a stat poll every few seconds catches what a watch misses, e.g. a network
 * file system). Changes within `debounceMs` are read once. A file that does not parse, or is gone,
 * leaves the last good rows in place: `onProblem` says why, never with a cell's text.
 */

export interface CsvFileOptions {
  file: string;
  onRows(rows: PatientRow[]): void;
  onProblem(problem: string): void;
  debounceMs?: number;
  pollMs?: number;
}

export class CsvFileSource {
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private lastProblem: string | undefined;
  private reading = Promise.resolve();
  private closed = false;
  private readonly debounceMs: number;
  private readonly onStat = (): void => this.schedule();

  constructor(private readonly options: CsvFileOptions) {
    this.debounceMs = options.debounceMs ?? 250;
  }

  /** Reads the file now and follows it; resolves once the first read is done. */
  start(): Promise<void> {
    const { file } = this.options;
    try {
      this.watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === undefined || String(name) === path.basename(file)) this.schedule();
      });
      this.watcher.on('error', () => {
        // the directory went away: the stat poll carries on
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // no directory yet: the stat poll notices the file once it is there
    }
    fs.watchFile(file, { interval: this.options.pollMs ?? 2000, persistent: false }, this.onStat);
    return this.read();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    fs.unwatchFile(this.options.file, this.onStat);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.read();
    }, this.debounceMs);
  }

  /** One read at a time, in order. */
  private read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce());
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (this.closed) return;
    let text: string;
    try {
      text = await fs.promises.readFile(this.options.file, 'utf8');
    } catch (error) {
      this.problem(`the file cannot be read (${String((error as NodeJS.ErrnoException).code ?? 'error')})`);
      return;
    }
    if (this.closed || (text === this.lastText && this.lastProblem === undefined)) return;
    const parsed = parsePatientCsv(text);
    if (!parsed.ok) {
      this.problem(parsed.problem);
      return;
    }
    this.lastText = text;
    this.lastProblem = undefined;
    this.options.onRows(parsed.rows);
  }

  private problem(problem: string): void {
    // the same problem is said once, not at every poll
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.options.onProblem(problem);
  }
}
