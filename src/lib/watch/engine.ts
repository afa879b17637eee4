import type { Reading } from '../reading';
import type { DeviceRecord, EpisodeRecord, WatchSnapshot } from './snapshot';
import { SILENT_RULE, SILENT_SEVERITY, type CompiledRule, type CompiledRules, type Severity } from './rules';
import { inRuleUnit, ruleUnit } from './units';
import { episodeOwner, silenceOwner } from './who';

/**
 * health-watch's logic, without Node-RED and without timers: readings go in (`observe`), the clock
 * goes in (`tick`, called by one timer of the node however many devices are watched), alerts come
 * out, one `firing` when an episode starts and one `resolved` when it ends (and a `firing` again
 * every `repeatMs` while it lasts, when that is set).
 *
 * Value rules: an episode is one rule for one patient. A row fires when its value is below `below`
 * (strict) or at or above `above` (inclusive); a reading whose value the device could not measure
 * (`context.outOfRange` high / low, a "HI" / "LO") counts as past every high / low threshold of its
 * kind. A firing rule resolves only once every row that the reading speaks of is back past its
 * threshold by the margin (a % of the threshold), so a value that hovers at the threshold does not
 * flap; a reading in between changes nothing.
 *
 * Silence: a device that sent a reading and then none for max(silence, 3 × its own interval)
 * fires `silent`; its next reading resolves it. A sensor that says it has finished, and a device
 * silent for `forgetMs`, are no longer watched (no alert: their last one stands). Devices are kept
 * in a Map ordered by their last reading, so a tick reads only the devices that may be due.
 */

export type AlertState = 'firing' | 'resolved';

/** `msg.payload` of an alert (docs/nodes/health-watch.md). */
export interface AlertPayload {
  rule: string;
  state: AlertState;
  severity: Severity;
  vendor: string;
  kind: string;
  subject: Reading['subject'] | null;
  device: Reading['device'] | null;
  /** the value in the rule's unit; null for a silence and for a value the device could not measure */
  value: number | null;
  unit: string;
  /** the threshold passed (or passed back); for `silent` the minutes of silence that fire it */
  threshold: number | null;
  readingId: string | null;
  /** when the episode started: the first firing reading's time; for `silent` its last reading's arrival */
  since: string;
  /** the reading's time; for `silent` when the watch noticed */
  time: string;
}

export interface Alert {
  payload: AlertPayload;
  /** the reading that changed the state; none for `silent` */
  reading?: Reading;
  /**
   * The change of shared state the alert stands for, for a watch whose episodes several instances
   * share (./shared.ts): it leaves only if this instance wins that change. Never sent on.
   */
  transition?: Transition;
}

/**
 * A change an alert stands for. A value rule's episode moves from the version this instance knew
 * (`expected`, '' for none; for a repeat, also the last alert it knew of) to `next` (undefined:
 * resolved). A version names one start of an episode: a repeat keeps it. A device's silence is claimed at the
 * time of the tick (its firing, or a repeat of it); its end is decided when the reading is heard.
 */
export type Transition =
  | { kind: 'episode'; rule: string; owner: string; expected: string; expectedAlertedAt?: number; next: EpisodeState | undefined }
  | { kind: 'silence'; owner: string; repeat: boolean };

/** An episode as instances share it: the record of ./snapshot.ts with its version and last alert. */
export interface EpisodeState extends EpisodeRecord {
  version: string;
  /** epoch ms of the last alert sent for it (a repeat is due `repeatMs` after it) */
  alertedAt: number;
}

/** What the instances share of a device: when it was last heard, its window, whether it is silent. */
export interface DeviceState {
  seenAt: number;
  windowMs: number;
  /** 0, or the arrival of the reading it went silent after */
  silentSince: number;
}

export interface WatchOptions {
  rules: CompiledRules;
  /** % of the threshold */
  margin: number;
  silenceMs: number;
  forgetMs: number;
  /** 0: no repeat */
  repeatMs: number;
  /** A new episode's version (./shared.ts compares them); a counter by default. */
  newVersion?: () => string;
}

/** What an alert tells of whom, kept from the last reading (references to its objects, not copies). */
export interface Whose {
  vendor: string;
  kind: string;
  subject?: Reading['subject'];
  device?: Reading['device'];
}

/** A value rule's episode (a rule firing for one patient). */
export interface Episode extends Whose {
  rule: number;
  owner: string;
  /** which start of the episode this is, as instances that share episodes compare them */
  version: string;
  since: string;
  /** arrival (watch clock) of the last alert sent for it, for `repeatMs` */
  alertedAt: number;
  /** arrival of the last reading of its kind for the patient, for `forgetMs` */
  seenAt: number;
}

/** A watched device: what its silence says, and when it last spoke. */
export interface Watched extends Whose {
  /** arrival of its last reading (watch clock, ms) */
  seenAt: number;
  /** its silence window, ms */
  windowMs: number;
  /** 0, or the arrival of the reading it went silent after (its `silent` is firing) */
  silentSince: number;
  alertedAt: number;
}

/** How one rule reads one reading. */
interface Verdict {
  fires: boolean;
  /** every row the reading speaks of is back past its threshold by the margin */
  clear: boolean;
  /** the row whose value the alert shows */
  value: number | null;
  unit: string;
  threshold: number | null;
}

const EPISODE_KEY = '\u0002';

function deviceRecord(owner: string, watched: Watched, silentSince: number): DeviceRecord {
  const { windowMs, vendor, kind, subject, device } = watched;
  return { owner, windowMs, silentSince, vendor, kind, ...(subject && { subject }), ...(device && { device }) };
}
function episodeState(rule: string, episode: Episode): EpisodeState {
  const { owner, version, since, alertedAt, vendor, kind, subject, device } = episode;
  return { rule, owner, version, since, alertedAt, vendor, kind, ...(subject && { subject }), ...(device && { device }) };
}
const round = (value: number): number => Math.round(value * 1000) / 1000;
const iso = (ms: number): string => new Date(ms).toISOString();

export class WatchEngine {
  /** firing value episodes by `<rule index>\u0002<owner>` */
  readonly episodes = new Map<string, Episode>();
  /** watched devices by owner, oldest reading first */
  readonly devices = new Map<string, Watched>();
  private readonly counts: number[];
  private silentCount = 0;
  /** A change no alert tells happened since the last `takeQuietChange()`: a device started or stopped being watched, an episode was forgotten. */
  private changedQuietly = false;
  private versions = 0;
  private readonly newVersion: () => string;

  constructor(private readonly options: WatchOptions) {
    this.counts = options.rules.names.map(() => 0);
    this.newVersion = options.newVersion ?? (() => String(++this.versions));
  }

  /** Every rule (the table's, then `silent`) with its severity and how many episodes fire, 0 included. */
  firing(): { rule: string; severity: string; count: number }[] {
    const { names, severities } = this.options.rules;
    return [
      ...names.map((rule, index) => ({ rule, severity: severities[index]!, count: this.counts[index]! })),
      { rule: SILENT_RULE, severity: SILENT_SEVERITY, count: this.silentCount },
    ];
  }

  /** How many episodes fire now (the status). */
  firingCount(): number {
    return this.counts.reduce((sum, count) => sum + count, this.silentCount);
  }

  /** Whether a change no alert tells happened since the last call (what is kept should follow). */
  takeQuietChange(): boolean {
    const changed = this.changedQuietly;
    this.changedQuietly = false;
    return changed;
  }

  /** The alerts one reading causes, arrived at `now` (ms). */
  observe(reading: Reading, now: number): Alert[] {
    const alerts: Alert[] = [];
    this.hear(reading, now, alerts);
    // a value produced while a sensor warms up is not one to act on; the device spoke all the same
    if (reading.context?.valid === false) return alerts;
    const rules = this.options.rules.byKind.get(reading.kind);
    if (!rules) return alerts;
    const owner = episodeOwner(reading);
    for (const rule of rules) this.judgeRule(rule, reading, owner, now, alerts);
    return alerts;
  }

  /** The silences due at `now`, repeated ones, and the devices and episodes forgotten. */
  tick(now: number): Alert[] {
    const alerts: Alert[] = [];
    const { silenceMs, forgetMs, repeatMs } = this.options;
    for (const [key, device] of this.devices) {
      // ordered by last reading and no window is shorter than silenceMs: none after this one is due
      if (now - device.seenAt < silenceMs) break;
      if (now - device.seenAt >= forgetMs) {
        this.devices.delete(key);
        this.changedQuietly = true;
        if (device.silentSince) this.silentCount--;
        continue;
      }
      const repeat = device.silentSince !== 0;
      if (!repeat) {
        if (now - device.seenAt < device.windowMs) continue;
        device.silentSince = device.seenAt;
        this.silentCount++;
      } else if (!(repeatMs > 0 && now - device.alertedAt >= repeatMs)) {
        continue;
      }
      device.alertedAt = now;
      alerts.push({ payload: this.silentPayload(device, 'firing', now), transition: { kind: 'silence', owner: key, repeat } });
    }
    for (const [key, episode] of this.episodes) {
      if (now - episode.seenAt >= forgetMs) {
        this.episodes.delete(key);
        this.counts[episode.rule]!--;
        this.changedQuietly = true;
      }
    }
    return alerts;
  }

  /** How often the node should tick: often enough to notice a silence within a quarter of its window. */
  tickEveryMs(): number {
    return Math.min(Math.max(this.options.silenceMs / 4, 200), 30_000);
  }

  /**
   * The episodes firing, `silent` ones included (the devices that went silent): small, and
   * written before each alert leaves (./snapshot.ts).
   */
  episodesSnapshot(): WatchSnapshot {
    const { names } = this.options.rules;
    const episodes: EpisodeRecord[] = [];
    for (const episode of this.episodes.values()) {
      const { owner, version, since, vendor, kind, subject, device } = episode;
      episodes.push({ rule: names[episode.rule]!, owner, version, since, vendor, kind, ...(subject && { subject }), ...(device && { device }) });
    }
    const devices: DeviceRecord[] = [];
    for (const [owner, watched] of this.devices) if (watched.silentSince) devices.push(deviceRecord(owner, watched, watched.silentSince));
    return { episodes, devices };
  }

  /**
   * Every device watched, so that one that never speaks again after a restart still goes silent:
   * large (100,000 devices are about 30 MB), written now and then. Whether a device is silent is
   * the episodes' business: here none is.
   */
  devicesSnapshot(): WatchSnapshot {
    const devices: DeviceRecord[] = [];
    for (const [owner, watched] of this.devices) devices.push(deviceRecord(owner, watched, 0));
    return { episodes: [], devices };
  }

  /**
   * Puts back what a previous run kept (the devices, then the episodes, which say which devices
   * were silent); every clock starts again at `now` (a restart is not a silence). An episode of a
   * rule no longer in the table ends with the rule, without an alert.
   */
  restore(snapshot: WatchSnapshot, now: number): void {
    const { names } = this.options.rules;
    for (const { rule: name, ...episode } of snapshot.episodes) {
      const rule = names.indexOf(name);
      const key = rule + EPISODE_KEY + episode.owner;
      if (rule === -1 || this.episodes.has(key)) continue;
      this.episodes.set(key, { ...episode, version: episode.version ?? this.newVersion(), rule, seenAt: now, alertedAt: now });
      this.counts[rule]!++;
    }
    for (const { owner, ...device } of snapshot.devices) {
      const known = this.devices.get(owner);
      if (known) {
        if (device.silentSince && !known.silentSince) {
          known.silentSince = device.silentSince;
          this.silentCount++;
        }
        continue;
      }
      this.devices.set(owner, { ...device, seenAt: now, alertedAt: now, windowMs: Math.max(device.windowMs, this.options.silenceMs) });
      if (device.silentSince) this.silentCount++;
    }
  }

  // --- what instances share (./shared.ts) ---------------------------------------------------

  /** The episodes a reading may start or end: each rule of its kind, for its patient. */
  episodesOf(reading: Reading): { rule: string; owner: string }[] {
    if (reading.context?.valid === false) return [];
    const owner = episodeOwner(reading);
    return (this.options.rules.byKind.get(reading.kind) ?? []).map((rule) => ({ rule: rule.name, owner }));
  }

  /**
   * Makes an episode what the instances share (undefined: it does not fire), before a reading is
   * judged or after a change this instance proposed was lost. Returns whether anything changed.
   */
  adoptEpisode(rule: string, owner: string, shared: EpisodeState | undefined, now: number): boolean {
    const index = this.options.rules.names.indexOf(rule);
    if (index === -1) return false;
    const key = index + EPISODE_KEY + owner;
    const local = this.episodes.get(key);
    if (!shared) {
      if (!local) return false;
      this.episodes.delete(key);
      this.counts[index]!--;
      return true;
    }
    if (local) {
      const changed = local.version !== shared.version;
      Object.assign(local, { version: shared.version, since: shared.since, alertedAt: shared.alertedAt });
      return changed;
    }
    const { rule: _name, ...record } = shared;
    this.episodes.set(key, { ...record, rule: index, seenAt: now });
    this.counts[index]!++;
    return true;
  }

  /**
   * Makes a device what the instances share: heard later elsewhere (its clock moves on), silent or
   * not (undefined: forgotten or finished elsewhere, no longer watched here either). A device this
   * instance never heard is taken on only when it is silent: its next reading here ends that.
   */
  adoptDevice(owner: string, shared: DeviceState | undefined, whose: Whose): boolean {
    const local = this.devices.get(owner);
    if (!shared) {
      if (!local) return false;
      this.devices.delete(owner);
      if (local.silentSince) this.silentCount--;
      return true;
    }
    if (!local) {
      if (!shared.silentSince) return false;
      this.devices.set(owner, { ...whose, seenAt: shared.seenAt, windowMs: shared.windowMs, silentSince: shared.silentSince, alertedAt: shared.seenAt });
      this.silentCount++;
      return true;
    }
    const changed = Boolean(local.silentSince) !== Boolean(shared.silentSince);
    if (changed) this.silentCount += shared.silentSince ? 1 : -1;
    local.silentSince = shared.silentSince;
    if (shared.windowMs > 0) local.windowMs = shared.windowMs;
    if (shared.seenAt > local.seenAt) {
      // heard elsewhere since: to the end of the Map, which stays (nearly) ordered by last reading
      local.seenAt = shared.seenAt;
      this.devices.delete(owner);
      this.devices.set(owner, local);
    }
    return changed;
  }

  /** What fires here now: each episode (its rule's name and its patient) and each silent device. */
  firingHere(): { episodes: { rule: string; owner: string }[]; silent: { owner: string; whose: Whose }[] } {
    const { names } = this.options.rules;
    const episodes = [...this.episodes.values()].map((episode) => ({ rule: names[episode.rule]!, owner: episode.owner }));
    const silent: { owner: string; whose: Whose }[] = [];
    for (const [owner, device] of this.devices) {
      if (device.silentSince) silent.push({ owner, whose: { vendor: device.vendor, kind: device.kind, ...(device.subject && { subject: device.subject }), ...(device.device && { device: device.device }) } });
    }
    return { episodes, silent };
  }

  /** A silence this instance proposed but could not claim: not silent here either, asked again at the next tick. */
  unclaimSilence(owner: string): void {
    const device = this.devices.get(owner);
    if (!device?.silentSince) return;
    device.silentSince = 0;
    this.silentCount--;
  }

  // --- silence -----------------------------------------------------------------------------

  private hear(reading: Reading, now: number, alerts: Alert[]): void {
    const key = silenceOwner(reading);
    if (key === undefined) return;
    let device = this.devices.get(key);
    if (device) {
      // moved to the end: the Map stays ordered by last reading
      this.devices.delete(key);
      if (device.silentSince) {
        alerts.push({ payload: this.silentPayload(device, 'resolved', now), reading });
        device.silentSince = 0;
        this.silentCount--;
      }
    }
    if (reading.context?.sensorState === 'finished') {
      this.changedQuietly ||= device !== undefined;
      return;
    }
    const windowMs = this.windowOf(reading);
    if (device) {
      device.seenAt = now;
      device.windowMs = windowMs;
      device.kind = reading.kind;
      device.subject = reading.subject;
      device.device = reading.device;
    } else {
      this.changedQuietly = true;
      device = { seenAt: now, windowMs, silentSince: 0, alertedAt: 0, vendor: reading.vendor, kind: reading.kind, subject: reading.subject, device: reading.device };
    }
    this.devices.set(key, device);
  }

  /** How long the device of a reading may stay quiet: max(silence, 3 × its own interval). */
  windowOf(reading: Reading): number {
    const interval = Number(reading.context?.intervalMinutes);
    return Math.max(this.options.silenceMs, Number.isFinite(interval) && interval > 0 ? 3 * interval * 60_000 : 0);
  }

  private silentPayload(device: Watched, state: AlertState, now: number): AlertPayload {
    return {
      rule: SILENT_RULE,
      state,
      severity: SILENT_SEVERITY,
      vendor: device.vendor,
      kind: device.kind,
      subject: device.subject ?? null,
      device: device.device ?? null,
      value: null,
      unit: 'min',
      threshold: round(device.windowMs / 60_000),
      readingId: null,
      since: iso(device.silentSince),
      time: iso(now),
    };
  }

  // --- value rules -------------------------------------------------------------------------

  private judgeRule(rule: CompiledRule, reading: Reading, owner: string, now: number, alerts: Alert[]): void {
    const verdict = this.verdict(rule, reading);
    if (!verdict) return;
    const key = rule.index + EPISODE_KEY + owner;
    const episode = this.episodes.get(key);
    if (!episode) {
      if (!verdict.fires) return;
      const started: Episode = {
        rule: rule.index, owner, version: this.newVersion(), since: reading.time, alertedAt: now, seenAt: now,
        vendor: reading.vendor, kind: reading.kind, subject: reading.subject, device: reading.device,
      };
      this.episodes.set(key, started);
      this.counts[rule.index]!++;
      alerts.push(this.valueAlert(rule, started, 'firing', verdict, reading, ''));
      return;
    }
    episode.seenAt = now;
    episode.subject = reading.subject;
    episode.device = reading.device;
    if (verdict.fires) {
      const { repeatMs } = this.options;
      if (repeatMs > 0 && now - episode.alertedAt >= repeatMs) {
        const expectedAlertedAt = episode.alertedAt;
        episode.alertedAt = now;
        alerts.push(this.valueAlert(rule, episode, 'firing', verdict, reading, episode.version, expectedAlertedAt));
      }
    } else if (verdict.clear) {
      this.episodes.delete(key);
      this.counts[rule.index]!--;
      alerts.push(this.valueAlert(rule, episode, 'resolved', verdict, reading, episode.version));
    }
  }

  /**
   * What the reading says of a rule, or undefined when it says nothing (no row's value in it, or a
   * value in a unit that cannot be converted).
   */
  private verdict(rule: CompiledRule, reading: Reading): Verdict | undefined {
    const outOfRange = reading.context?.outOfRange;
    const unmeasured = reading.context?.unmeasured;
    const margin = this.options.margin / 100;
    let spoken: Verdict | undefined;
    let clear = true;
    for (const row of rule.rows) {
      const quantity = reading.values[row.value];
      let value: number | undefined;
      if (quantity) value = inRuleUnit(row.value, quantity);
      else if ((outOfRange === 'high' || outOfRange === 'low') && (!Array.isArray(unmeasured) || unmeasured.includes(row.value))) {
        // beyond what the device measures: past every threshold on that side
        value = outOfRange === 'high' ? Infinity : -Infinity;
      }
      if (value === undefined) continue;
      const unit = ruleUnit(row.value) || quantity?.unit || '';
      const shown = Number.isFinite(value) ? round(value) : null;
      const passedBelow = row.below !== undefined && value < row.below;
      const passedAbove = row.above !== undefined && value >= row.above;
      if (passedBelow || passedAbove) {
        return { fires: true, clear: false, value: shown, unit, threshold: passedBelow ? row.below! : row.above! };
      }
      const backBelow = row.below === undefined || value >= row.below + Math.abs(row.below) * margin;
      const backAbove = row.above === undefined || value <= row.above - Math.abs(row.above) * margin;
      clear &&= backBelow && backAbove;
      spoken ??= { fires: false, clear: false, value: shown, unit, threshold: row.below ?? row.above ?? null };
    }
    return spoken && { ...spoken, clear };
  }

  private valueAlert(rule: CompiledRule, episode: Episode, state: AlertState, verdict: Verdict, reading: Reading, expected: string, expectedAlertedAt?: number): Alert {
    const next = state === 'resolved' ? undefined : episodeState(rule.name, episode);
    return {
      transition: { kind: 'episode', rule: rule.name, owner: episode.owner, expected, ...(expectedAlertedAt !== undefined && { expectedAlertedAt }), next },
      payload: {
        rule: rule.name,
        state,
        severity: rule.severity,
        vendor: reading.vendor,
        kind: reading.kind,
        subject: reading.subject ?? null,
        device: reading.device ?? null,
        value: verdict.value,
        unit: verdict.unit,
        threshold: verdict.threshold,
        readingId: reading.id,
        since: episode.since,
        time: reading.time,
      },
      reading,
    };
  }
}
