import { errorCode } from '../coded-error';
import type { Reading } from '../reading';
import { WatchEngine, type Alert, type Whose } from './engine';
import { compileRules, type WatchProperties } from './rules';
import type { SharedWatchState } from './shared';
import { CoalescedWrites, type WatchStore } from './store';
import { silenceOwner } from './who';

/**
 * A running health-watch without Node-RED: the engine (./engine.ts), its one timer, and what it
 * keeps on disk. An alert leaves only once the episode it starts or ends is on disk, so a restart
 * neither repeats it nor loses it; what no alert tells (a new device, a sensor finished) is
 * written a little later, a few changes at once. Without a store (no at-rest key, no user
 * directory, or a file that could not be read and must not be overwritten) the watch works in
 * memory and its episodes end with the process.
 *
 * With a shared state (./shared.ts, on Redis) the episodes live there instead of a file: before a
 * reading is judged the engine takes what the instances share of it, and an alert leaves only if
 * this instance wins the change it stands for. While the shared state cannot be reached, the
 * instance decides alone and the alert goes out all the same (a nurse must see a 2.8): another
 * instance may then send it too.
 */

/**
 * How long a change no alert tells (a new device, a finished sensor) may wait before it is written:
 * the list of devices is large (100,000 devices take about a second to write, bench part `watch`),
 * and many new devices at once make one write.
 */
const QUIET_WRITE_DELAY_MS = 30_000;
/** How often, with state, what fires here is checked against what the instances keep (one small read, only while something fires). */
const SHARED_REFRESH_MS = 5_000;

export interface WatchHooks {
  /** Alerts, in order, once they are kept. */
  send(alerts: Alert[]): void;
  /** The count firing may have changed (the status). */
  changed(): void;
  /** What is kept could not be written (the file system's code); undefined once a write succeeds again. */
  storeProblem(code: string | undefined): void;
  /** The shared state could not be reached (the error); undefined once it answers again. */
  sharedProblem?(error: unknown): void;
}

export interface WatchSetup {
  properties: WatchProperties;
  store?: WatchStore;
  /** The episodes shared with other instances (then no `store`). */
  shared?: SharedWatchState;
  /** A new episode's version, unique across instances (with `shared`). */
  newVersion?: () => string;
  hooks: WatchHooks;
  now?: () => number;
}

export class Watch {
  readonly engine: WatchEngine;
  private readonly now: () => number;
  private writes: CoalescedWrites | undefined;
  private deviceWrites: CoalescedWrites | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly setup: WatchSetup) {
    const { properties } = setup;
    this.now = setup.now ?? Date.now;
    this.engine = new WatchEngine({
      rules: compileRules(properties.rules),
      margin: properties.margin,
      silenceMs: properties.silenceMinutes * 60_000,
      forgetMs: properties.forgetHours * 3_600_000,
      repeatMs: properties.repeatMinutes * 60_000,
      ...(setup.newVersion && { newVersion: setup.newVersion }),
    });
    const store = setup.store;
    this.writes = store && new CoalescedWrites(() => store.saveEpisodes(this.engine.episodesSnapshot()));
    this.deviceWrites = store && new CoalescedWrites(() => store.saveDevices(this.engine.devicesSnapshot()));
  }

  /**
   * Reads what the last run kept (a restart: every clock starts again now) and starts the clock.
   * Rejects with the store's error (`undecryptable`, `damaged`, `unreadable`): the watch then runs
   * without a store rather than overwrite a file the right key would read.
   */
  start(): Promise<void> {
    const loaded = (async () => {
      const kept = await (this.setup.shared ? this.loadShared() : this.setup.store?.load());
      if (kept) this.engine.restore(kept, this.now());
    })();
    // readings that come meanwhile wait for it, in order; a file that cannot be read is left as
    // it is (the right key reads it again) and nothing is written over it
    this.queue = loaded.catch(() => {
      this.writes = undefined;
      this.deviceWrites = undefined;
    });
    this.timer = setInterval(() => void this.enqueue(() => this.tick()), this.engine.tickEveryMs());
    const shared = this.setup.shared;
    if (shared) this.refreshTimer = setInterval(() => void this.enqueue(() => this.refreshShared(shared)), SHARED_REFRESH_MS);
    void this.queue.then(() => this.setup.hooks.changed());
    return loaded;
  }

  /** One reading, in order with the others and with the clock's alerts; resolves once its alerts are sent. */
  observe(reading: Reading): Promise<void> {
    return this.enqueue(() => (this.setup.shared ? this.observeShared(this.setup.shared, reading) : this.engine.observe(reading, this.now())));
  }

  /** Stops the clock and writes what must survive the restart. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.closed = true;
    await this.queue;
    await this.keep(true).catch(() => undefined);
  }

  private enqueue(step: () => Alert[] | Promise<Alert[]>): Promise<void> {
    const run = this.queue.then(async () => {
      const alerts = await step();
      const quiet = this.engine.takeQuietChange();
      if (alerts.length === 0) {
        if (quiet) this.keepSoon();
        return;
      }
      // the episode is on disk before anyone hears of it; a write that fails is told, and the
      // alert still goes out: a nurse must see a 2.8 even on a full disk
      await this.keep().catch(() => undefined);
      this.setup.hooks.send(alerts);
      this.setup.hooks.changed();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  // --- shared with other instances -----------------------------------------------------------

  /** What the instances keep; unreachable, the watch starts empty (each reading reads its own part). */
  private async loadShared(): Promise<Awaited<ReturnType<SharedWatchState['load']>> | undefined> {
    try {
      const kept = await this.setup.shared!.load();
      this.sharedAnswered();
      return kept;
    } catch (error) {
      this.sharedFailed(error);
      return undefined;
    }
  }

  private tick(): Alert[] | Promise<Alert[]> {
    const alerts = this.engine.tick(this.now());
    return this.setup.shared && alerts.length ? this.claim(this.setup.shared, alerts) : alerts;
  }

  /**
   * With state, every few seconds: what the instances keep of what fires here. An episode another
   * instance ended (the reading that ended it went there), or a silence another ended, no longer
   * fires here either, so this instance's status and `alerts_firing` do not stay up until a
   * reading of that patient happens to come here. Sends nothing: the alert was the other's.
   */
  private async refreshShared(shared: SharedWatchState): Promise<Alert[]> {
    const { episodes, silent } = this.engine.firingHere();
    if (episodes.length === 0 && silent.length === 0) return [];
    try {
      const kept = await shared.read(episodes, silent.map(({ owner }) => owner));
      const now = this.now();
      let changed = false;
      episodes.forEach(({ rule, owner }, index) => {
        changed = this.engine.adoptEpisode(rule, owner, kept.episodes[index], now) || changed;
      });
      silent.forEach(({ owner, whose }, index) => {
        changed = this.engine.adoptDevice(owner, kept.devices[index], whose) || changed;
      });
      this.sharedAnswered();
      if (changed) this.setup.hooks.changed();
    } catch (error) {
      this.sharedFailed(error);
    }
    return [];
  }

  private async observeShared(shared: SharedWatchState, reading: Reading): Promise<Alert[]> {
    const now = this.now();
    const episodes = this.engine.episodesOf(reading);
    const owner = silenceOwner(reading);
    const whose: Whose = { vendor: reading.vendor, kind: reading.kind, ...(reading.subject && { subject: reading.subject }), ...(reading.device && { device: reading.device }) };
    const device = owner === undefined ? undefined : { owner, windowMs: this.engine.windowOf(reading), finished: reading.context?.sensorState === 'finished', whose };
    try {
      const kept = await shared.heard({ now, episodes, ...(device && { device }) });
      this.sharedAnswered();
      let changed = owner !== undefined && this.engine.adoptDevice(owner, kept.device, whose);
      episodes.forEach(({ rule, owner: patient }, index) => {
        changed = this.engine.adoptEpisode(rule, patient, kept.episodes[index], now) || changed;
      });
      if (changed) this.setup.hooks.changed();
    } catch (error) {
      // judged on what this instance knows: the alert still goes out
      this.sharedFailed(error);
      return this.engine.observe(reading, now);
    }
    return this.claim(shared, this.engine.observe(reading, now));
  }

  /** The alerts whose change this instance wins; each one lost leaves the engine with the winner's state. */
  private async claim(shared: SharedWatchState, alerts: Alert[]): Promise<Alert[]> {
    const won: Alert[] = [];
    for (const alert of alerts) {
      const transition = alert.transition;
      try {
        if (transition?.kind === 'episode') {
          const swapped = await shared.swapEpisode(transition);
          if (!swapped.won) {
            this.engine.adoptEpisode(transition.rule, transition.owner, swapped.current, this.now());
            continue;
          }
        } else if (transition?.kind === 'silence') {
          const claimed = await shared.claimSilence(transition.owner, this.now(), this.setup.properties.repeatMinutes * 60_000);
          if (claimed === 'gone' || !claimed.won) {
            const { vendor, kind, subject, device } = alert.payload;
            this.engine.adoptDevice(transition.owner, claimed === 'gone' ? undefined : claimed.state, { vendor, kind, ...(subject && { subject }), ...(device && { device }) });
            continue;
          }
        }
        this.sharedAnswered();
      } catch (error) {
        this.sharedFailed(error);
        if (transition?.kind === 'silence') {
          if (transition.repeat) continue;
          // A silence waits for the shared clock: this instance alone cannot tell a device that
          // went quiet from one that reports to another instance. The next tick asks again.
          this.engine.unclaimSilence(transition.owner);
          continue;
        }
      }
      won.push(alert);
    }
    if (won.length < alerts.length) this.setup.hooks.changed();
    return won;
  }

  private sharedProblem = false;

  private sharedAnswered(): void {
    if (!this.sharedProblem) return;
    this.sharedProblem = false;
    this.setup.hooks.sharedProblem?.(undefined);
  }

  /** Told once per outage. */
  private sharedFailed(error: unknown): void {
    if (this.sharedProblem) return;
    this.sharedProblem = true;
    this.setup.hooks.sharedProblem?.(error);
  }

  private keepSoon(): void {
    if (!this.writes || this.quietTimer || this.closed) return;
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      void this.keep(true).catch(() => undefined);
    }, QUIET_WRITE_DELAY_MS);
  }

  /** Writes the episodes, and with `devices` the list of devices too. */
  private async keep(devices = false): Promise<void> {
    if (!this.writes) return;
    try {
      await Promise.all([this.writes.request(), devices ? this.deviceWrites?.request() : undefined]);
      this.setup.hooks.storeProblem(undefined);
    } catch (error) {
      this.setup.hooks.storeProblem(errorCode(error));
      throw error;
    }
  }
}
