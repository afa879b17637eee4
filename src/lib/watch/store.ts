import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import { readSealedJson, writeSealedJson } from '../durable-file';
import { snapshotSchema, type WatchSnapshot } from './snapshot';

/**
 * A watch's episodes and devices on disk, sealed under the operator's at-rest key
 * (src/lib/at-rest.ts) as the outbox's messages are: subjects and devices are patients' data. Two
 * files per node, each readable by Node-RED's user alone and replaced whole
 * (src/lib/durable-file.ts): the episodes (small, written before each alert leaves) and every
 * device watched (large, written now and then: a device added since the last write and never
 * heard of again after a crash is not watched for silence, nothing worse).
 */
export class WatchStore {
  constructor(
    readonly file: string,
    readonly devicesFile: string,
    private readonly sealer: Sealer,
  ) {}

  /**
   * What the last run kept (the devices first, then the episodes, as the engine restores them),
   * undefined when there is nothing yet. Throws CodedError `unreadable`, `damaged` or
   * `undecryptable` (another key, damage): never a part of a file.
   */
  async load(): Promise<WatchSnapshot | undefined> {
    const devices = await this.read(this.devicesFile);
    const episodes = await this.read(this.file);
    if (!devices && !episodes) return undefined;
    return { episodes: episodes?.episodes ?? [], devices: [...(devices?.devices ?? []), ...(episodes?.devices ?? [])] };
  }

  saveEpisodes(snapshot: WatchSnapshot): Promise<void> {
    return writeSealedJson(this.file, this.sealer, 'watch', snapshot);
  }

  saveDevices(snapshot: WatchSnapshot): Promise<void> {
    return writeSealedJson(this.devicesFile, this.sealer, 'watch', snapshot);
  }

  private async read(file: string): Promise<WatchSnapshot | undefined> {
    const json = await readSealedJson(file, this.sealer, 'watch');
    if (json === undefined) return undefined;
    const parsed = snapshotSchema.safeParse(json);
    if (!parsed.success) throw new CodedError('damaged');
    return parsed.data;
  }
}

/**
 * Writes that may be asked for faster than they finish: one at a time, and each request answered
 * by a write that started after it (so what it asked to keep is in it). Requests made while a
 * write runs share the next one.
 */
export class CoalescedWrites {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly write: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.running) return (this.running = this.run());
    this.next ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  /** Settles once no write runs and none waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  private start(): Promise<void> {
    this.next = undefined;
    return (this.running = this.run());
  }

  private run(): Promise<void> {
    const done = this.write();
    const clear = (): void => {
      if (this.running === done) this.running = undefined;
    };
    done.then(clear, clear);
    return done;
  }
}
