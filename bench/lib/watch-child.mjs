// Measures health-watch's library (dist/lib/watch/) in a process of its own, started by
// bench/lib/watch.mjs with --expose-gc, and prints one JSON object on stdout.
//
//   node --expose-gc bench/lib/watch-child.mjs memory [devices]    heap and RSS before and after
//       watching `devices` CGMs (one reading each, then dropped: what is left is what the watch keeps)
//   node --expose-gc bench/lib/watch-child.mjs throughput [devices] [readings]   readings per second
//       through WatchEngine.observe, round-robin over `devices` CGMs, about 1 in 20 values low (an
//       episode starts and ends), with one tick per 10,000 readings; then one tick with none due and
//       one with every device due (all silent: the episodes file then holds every device), the
//       sealed write of the list of devices and of the episodes (snapshot, seal, fsync), and a load
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { settle } from './settle.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const require = createRequire(import.meta.url);
// HB_BENCH_PACKAGE: another copy of the package (bench/run.mjs --package)
const dist = path.join(process.env.HB_BENCH_PACKAGE || ROOT, 'dist', 'lib');
const { WatchEngine, compileRules, DEFAULT_RULES, WatchStore } = require(path.join(dist, 'watch'));
const { Sealer } = require(path.join(dist, 'at-rest'));

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-07T00:00:00Z');

function engine() {
  return new WatchEngine({ rules: compileRules(DEFAULT_RULES), margin: 2, silenceMs: 15 * MINUTE, forgetMs: 24 * 60 * MINUTE, repeatMs: 0 });
}

// the readings' times, made once: formatting a date per reading would be measured as the watch's
const TIMES = Array.from({ length: 1000 }, (_, n) => new Date(T0 + n * 3 * MINUTE).toISOString());

/** A Sinocare CGM reading as the receiver makes it (patient ids as a ward's, the name masked). */
function reading(device, n, value) {
  return {
    id: `sinocare:${device}-${n}`,
    vendor: 'sinocare',
    kind: 'glucose',
    time: TIMES[n % TIMES.length],
    values: { glucose: { value, unit: 'mmol/L' } },
    device: { sn: `CGM${String(device).padStart(9, '0')}` },
    subject: { patientId: `MRN${String(device).padStart(8, '0')}`, visitId: `V${device}`, name: '张*' },
    context: { specimen: 'interstitial', serialNo: n, intervalMinutes: 3, valid: true, sensorState: 'uploading', pii: 'mask' },
    retry: false,
    receivedAt: new Date(T0).toISOString(),
  };
}

async function memory(devices) {
  const before = await settle();
  const watch = engine();
  for (let d = 0; d < devices; d++) watch.observe(reading(d, 0, 6.2), T0);
  const after = await settle();
  if (watch.devices.size !== devices) throw new Error(`expected ${devices} devices, the watch holds ${watch.devices.size}`);
  return { devices, before, after, heapPerDevice: (after.heapUsed - before.heapUsed) / devices, rssPerDevice: (after.rss - before.rss) / devices };
}

async function throughput(devices, readings) {
  const watch = engine();
  // every device known first: the loop below measures the steady state of a ward
  for (let d = 0; d < devices; d++) watch.observe(reading(d, 0, 6.2), T0);
  let alerts = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < readings; i++) {
    const device = i % devices;
    const round = Math.floor(i / devices) + 1;
    // a device in twenty is low for one round in two: an episode starts, then ends
    const value = device % 20 === 0 && round % 2 === 1 ? 3.4 : 6.2 + (i % 7) / 10;
    const now = T0 + round * 3 * MINUTE;
    alerts += watch.observe(reading(device, round, value), now).length;
    if (i % 10_000 === 0) alerts += watch.tick(now).length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const last = T0 + (Math.floor(readings / devices) + 1) * 3 * MINUTE;
  let t = process.hrtime.bigint();
  const quiet = watch.tick(last).length;
  const tickNoneDueMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  const silent = watch.tick(last + 60 * MINUTE).length;
  const tickAllDueMs = Number(process.hrtime.bigint() - t) / 1e6;
  // what is kept: every device and the episodes, sealed and written with fsync
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-watch-'));
  const store = new WatchStore(path.join(dir, 'watch.json'), path.join(dir, 'watch.devices.json'), new Sealer(Buffer.alloc(32, 7), 'watch:bench'));
  t = process.hrtime.bigint();
  await store.saveDevices(watch.devicesSnapshot());
  const saveMs = Number(process.hrtime.bigint() - t) / 1e6;
  const savedBytes = fs.statSync(path.join(dir, 'watch.devices.json')).size;
  t = process.hrtime.bigint();
  await store.saveEpisodes(watch.episodesSnapshot());
  const episodesSaveMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  const loaded = await store.load();
  const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
  fs.rmSync(dir, { recursive: true, force: true });
  if (new Set(loaded.devices.map((device) => device.owner)).size !== devices) throw new Error('the kept devices did not come back');
  return { devices, readings, seconds, perSecond: readings / seconds, alerts, quiet, silent, tickNoneDueMs, tickAllDueMs, saveMs, savedBytes, episodesSaveMs, loadMs };
}

const [mode, devicesArg, readingsArg] = process.argv.slice(2);
const devices = Number(devicesArg ?? 100_000);
const result = mode === 'memory' ? await memory(devices) : mode === 'throughput' ? await throughput(devices, Number(readingsArg ?? 1_000_000)) : undefined;
if (!result) throw new Error('usage: watch-child.mjs memory|throughput [devices] [readings]');
process.stdout.write(JSON.stringify(result));
