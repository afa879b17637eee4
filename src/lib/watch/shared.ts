import { z } from 'zod';
import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import type { DeviceState, EpisodeState, Whose } from './engine';
import { deviceRecordSchema, episodeRecordSchema, type WatchSnapshot } from './snapshot';

/**
 * The episodes and device clocks of one watch, shared by every Node-RED instance that runs the
 * same flow (a `health-redis` config node in `state`), so that one glucose episode whose readings
 * reach several instances gives one `firing` and one `resolved` in all, and a device that reports
 * to B is not silent for A.
 *
 * Each instance keeps its own engine (./engine.ts) as a copy; what decides is here, atomically:
 * - before a reading is judged, one script records that its device spoke (its last-seen time for
 *   every instance; a silence it ends is cleared, and only the caller that cleared it is told, so
 *   only that one sends `resolved`) and reads the episodes the reading may change;
 * - a change of an episode (start, repeat, end) is a compare-and-set on its version: of two
 *   instances judging at once, one wins and sends the alert, the other takes the winner's state;
 * - a device's silence is claimed by the instance whose tick finds it due, if the shared clock
 *   agrees: one `silent` in all.
 *
 * Keys (`<prefix>` is the health-redis prefix, `<node>` the watch's id, the same on every instance):
 *   `<prefix>watch:<node>:episode:<id>`  string `<version>|<last alert ms>|<sealed record>`
 *   `<prefix>watch:<node>:device:<id>`   hash `seen`, `window`, `silent`, `alerted` (ms) and
 *                                        `whose` (sealed vendor, kind, subject, device)
 * `<id>` is a keyed hash (HMAC under the at-rest key) of the patient or device, and what names
 * them is sealed with that key: Redis holds no patient's or device's identifier in clear. Both
 * expire `forgetHours` after the last reading of their own (an episode no reading came for, a
 * device long silent: the engine forgets them likewise, without an alert).
 *
 * Times are each instance's clock: the instances' clocks must agree (NTP) to well under the
 * silence window.
 */

/** What the engine's copy needs of the shared state (narrow, so a test can stand in for Redis). */
export interface SharedWatchState {
  /** A reading arrived: see `HEARD` below. */
  heard(input: HeardInput): Promise<{ device?: DeviceState; episodes: Array<EpisodeState | undefined> }>;
  /** Compare-and-set of one episode; when lost, what it is now. */
  swapEpisode(input: EpisodeSwap): Promise<{ won: true } | { won: false; current: EpisodeState | undefined }>;
  /** Claims a device's silence (or a repeat of it) at `now`; `gone`: no longer watched anywhere. */
  claimSilence(owner: string, now: number, repeatMs: number): Promise<{ won: boolean; state: DeviceState } | 'gone'>;
  /** Every episode and device kept, for an instance that starts. */
  load(): Promise<WatchSnapshot>;
  /** What the instances keep now of some episodes and devices (undefined: not kept, so not firing). */
  read(episodes: Array<{ rule: string; owner: string }>, devices: string[]): Promise<{ episodes: Array<EpisodeState | undefined>; devices: Array<DeviceState | undefined> }>;
}

export interface HeardInput {
  now: number;
  device?: { owner: string; windowMs: number; finished: boolean; whose: Whose };
  episodes: Array<{ rule: string; owner: string }>;
}

export interface EpisodeSwap {
  rule: string;
  owner: string;
  /** '' for none */
  expected: string;
  expectedAlertedAt?: number;
  /** undefined: the episode ends */
  next: EpisodeState | undefined;
}

/** The commands the store sends. */
export interface RedisWatchClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }>;
}

/**
 * KEYS: the device (when ARGV[3] is not 0), then the episodes. ARGV: now, forgetMs, device
 * (0 none, 1 heard, 2 finished: no longer watched), its window, its sealed whose. Returns the
 * device's `silent` and `window` before (`0` and `` when it was not kept), then each episode's value
 * ('' for none). An episode read is kept a while longer: its patient spoke.
 */
const HEARD = `
local out = {'0', ''}
local first = 1
if ARGV[3] ~= '0' then
  local before = redis.call('HMGET', KEYS[1], 'silent', 'window')
  out[1] = before[1] or '0'
  out[2] = before[2] or ''
  if ARGV[3] == '2' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'seen', ARGV[1], 'window', ARGV[4], 'silent', '0', 'whose', ARGV[5])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  first = 2
end
for i = first, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    out[#out + 1] = value
  else
    out[#out + 1] = ''
  end
end
return out`;

/**
 * KEYS: the episode. ARGV: the version expected ('' none), the last alert expected ('' any), the
 * new value ('' to end it), forgetMs. Returns {1} when set, else {0, value now} ({0} for none).
 */
const SWAP = `
local now = redis.call('GET', KEYS[1])
local version, alerted = '', ''
if now then version, alerted = string.match(now, '^([^|]*)|([^|]*)|') end
if version ~= ARGV[1] or (ARGV[2] ~= '' and alerted ~= ARGV[2]) then
  if now then return {0, now} end
  return {0}
end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
return {1}`;

/**
 * KEYS: the device. ARGV: now, repeatMs. Its silence is claimed when its own window has passed
 * since any instance last heard it; a silence already claimed is repeated once `repeatMs` after
 * the last alert. Returns {won 0/1, seen, window, silent}, or {-1} when the device is not kept.
 */
const CLAIM_SILENCE = `
local f = redis.call('HMGET', KEYS[1], 'seen', 'window', 'silent', 'alerted')
if not f[1] then return {-1} end
local now, seen, window = tonumber(ARGV[1]), tonumber(f[1]), tonumber(f[2])
local silent = f[3] or '0'
if silent == '0' then
  if now - seen < window then return {0, f[1], f[2], '0'} end
  redis.call('HSET', KEYS[1], 'silent', f[1], 'alerted', ARGV[1])
  return {1, f[1], f[2], f[1]}
end
local every = tonumber(ARGV[2])
if every > 0 and now - tonumber(f[4] or '0') >= every then
  redis.call('HSET', KEYS[1], 'alerted', ARGV[1])
  return {1, f[1], f[2], silent}
end
return {0, f[1], f[2], silent}`;

/** KEYS: episodes or devices. Returns for each its value (an episode) or its whose and silent (a device). */
const READ_ALL = `
local out = {}
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local f = redis.call('HMGET', KEYS[i], 'whose', 'window', 'silent')
    out[i] = (f[1] or '') .. '|' .. (f[2] or '') .. '|' .. (f[3] or '0')
  else
    out[i] = redis.call('GET', KEYS[i]) or ''
  end
end
return out`;

const whoseSchema = deviceRecordSchema.pick({ owner: true, vendor: true, kind: true, subject: true, device: true });
const sharedEpisodeSchema = episodeRecordSchema.extend({ version: z.string(), alertedAt: z.number() });

/** A pattern matching `text` literally in SCAN's MATCH (a prefix may hold * ? [ ] \). */
const literal = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

export class RedisWatchState implements SharedWatchState {
  constructor(
    private readonly client: RedisWatchClient,
    private readonly sealer: Sealer,
    private readonly options: {
      /** `<health-redis prefix>watch:<node id>:` */
      keyPrefix: string;
      forgetMs: number;
      /** Settles when the client can take commands (`load` waits for it). */
      ready?: () => Promise<void>;
    },
  ) {}

  async heard(input: HeardInput): Promise<{ device?: DeviceState; episodes: Array<EpisodeState | undefined> }> {
    const { device } = input;
    const keys = [...(device ? [this.deviceKey(device.owner)] : []), ...input.episodes.map(({ rule, owner }) => this.episodeKey(rule, owner))];
    const reply = (await this.client.eval(HEARD, {
      keys,
      arguments: [
        String(input.now), String(Math.round(this.options.forgetMs)), device ? (device.finished ? '2' : '1') : '0',
        String(Math.round(device?.windowMs ?? 0)), device ? this.sealer.sealText(JSON.stringify({ ...device.whose, owner: device.owner })) : '',
      ],
    })) as string[];
    const [silent, window, ...episodes] = reply;
    return {
      // the time it was heard before matters not: this reading is newer
      ...(device && { device: { seenAt: 0, windowMs: Number(window) || 0, silentSince: Number(silent) || 0 } }),
      episodes: episodes.map((value) => this.openEpisode(value)),
    };
  }

  async swapEpisode(swap: EpisodeSwap): Promise<{ won: true } | { won: false; current: EpisodeState | undefined }> {
    const value = swap.next ? `${swap.next.version}|${swap.next.alertedAt}|${this.sealer.sealText(JSON.stringify(swap.next))}` : '';
    const reply = (await this.client.eval(SWAP, {
      keys: [this.episodeKey(swap.rule, swap.owner)],
      arguments: [swap.expected, swap.expectedAlertedAt === undefined ? '' : String(swap.expectedAlertedAt), value, String(Math.round(this.options.forgetMs))],
    })) as [number, string?];
    return reply[0] === 1 ? { won: true } : { won: false, current: this.openEpisode(reply[1] ?? '') };
  }

  async claimSilence(owner: string, now: number, repeatMs: number): Promise<{ won: boolean; state: DeviceState } | 'gone'> {
    const reply = (await this.client.eval(CLAIM_SILENCE, { keys: [this.deviceKey(owner)], arguments: [String(now), String(Math.round(repeatMs))] })) as [number, string, string, string];
    if (reply[0] === -1) return 'gone';
    return { won: reply[0] === 1, state: { seenAt: Number(reply[1]), windowMs: Number(reply[2]), silentSince: Number(reply[3]) } };
  }

  /**
   * Every episode and device this watch keeps (a few SCANs and one script per page). The devices
   * come back with their silence; their clocks start again at the engine's restore, as after a
   * restart of one instance. A value the key does not open throws `undecryptable`.
   */
  async load(): Promise<WatchSnapshot> {
    await this.options.ready?.();
    const snapshot: WatchSnapshot = { episodes: [], devices: [] };
    const match = `${literal(this.options.keyPrefix)}*`;
    let cursor = '0';
    do {
      const page = await this.client.scan(cursor, { MATCH: match, COUNT: 500 });
      cursor = String(page.cursor);
      if (page.keys.length === 0) continue;
      const values = (await this.client.eval(READ_ALL, { keys: page.keys, arguments: [] })) as string[];
      page.keys.forEach((key, index) => {
        const value = values[index] ?? '';
        if (value === '') return;
        if (key.startsWith(`${this.options.keyPrefix}episode:`)) {
          const episode = this.openEpisode(value);
          if (episode) snapshot.episodes.push(episode);
          return;
        }
        const [sealed = '', window = '', silent = '0'] = value.split('|');
        if (sealed === '' || !(Number(window) > 0)) return;
        // what names the device, and the key the engine keeps it by, are sealed together
        const whose = whoseSchema.safeParse(JSON.parse(this.sealer.openText(sealed)));
        if (!whose.success) throw new CodedError('damaged');
        snapshot.devices.push({ ...whose.data, windowMs: Number(window), silentSince: Number(silent) || 0 });
      });
    } while (cursor !== '0');
    return snapshot;
  }

  async read(episodes: Array<{ rule: string; owner: string }>, devices: string[]): Promise<{ episodes: Array<EpisodeState | undefined>; devices: Array<DeviceState | undefined> }> {
    const keys = [...episodes.map(({ rule, owner }) => this.episodeKey(rule, owner)), ...devices.map((owner) => this.deviceKey(owner))];
    if (keys.length === 0) return { episodes: [], devices: [] };
    const values = (await this.client.eval(READ_ALL, { keys, arguments: [] })) as string[];
    return {
      episodes: episodes.map((_, index) => this.openEpisode(values[index] ?? '')),
      devices: devices.map((_, index) => {
        const [sealed = '', window = '', silent = '0'] = (values[episodes.length + index] ?? '').split('|');
        // the clock is left as this instance has it (seenAt 0): only the silence is taken
        return sealed === '' ? undefined : { seenAt: 0, windowMs: Number(window) || 0, silentSince: Number(silent) || 0 };
      }),
    };
  }

  private openEpisode(value: string): EpisodeState | undefined {
    if (value === '') return undefined;
    const sealed = value.split('|')[2] ?? '';
    const parsed = sharedEpisodeSchema.safeParse(JSON.parse(this.sealer.openText(sealed)));
    if (!parsed.success) throw new CodedError('damaged');
    return parsed.data;
  }

  private episodeKey(rule: string, owner: string): string {
    return `${this.options.keyPrefix}episode:${this.sealer.keyedId(`${rule}\u0000${owner}`)}`;
  }

  private deviceKey(owner: string): string {
    return `${this.options.keyPrefix}device:${this.sealer.keyedId(owner)}`;
  }
}
