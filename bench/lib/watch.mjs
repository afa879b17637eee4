// Part `watch` of bench/run.mjs: health-watch's library (dist/lib/watch/, no Node-RED), each
// measurement in a process of its own (bench/lib/watch-child.mjs): readings per second through the
// engine with 100,000 CGMs watched, the heap and RSS they take, the one timer's tick over all of
// them, and what keeping them on disk costs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const DEVICES = 100_000;
// ten times the Express 404 floor of part 1 (about 4,000 req/s): the watch is never what limits a receiver
const TARGET_READINGS_PER_SECOND = 40_000;
const TARGET_HEAP = 64 * 1_048_576;
const TARGET_RSS = 128 * 1_048_576;
const TARGET_TICK_MS = 5;

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const mib = (bytes) => `${fmt(bytes / 1_048_576, 1)} MiB`;

function child(args, packageDir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', path.join(ROOT, 'bench', 'lib', 'watch-child.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...(packageDir && { HB_BENCH_PACKAGE: packageDir }) },
    });
    let out = '';
    proc.stdout.on('data', (chunk) => { out += chunk; });
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`watch-child.mjs ${args.join(' ')} exited with ${code}`))));
  });
}

/** `log(...)`: bench/run.mjs's progress line. */
export async function benchWatch(options, log) {
  const dist = path.join(options.packageDir ?? ROOT, 'dist', 'lib', 'watch', 'index.js');
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: npm run build first`);
  const readings = process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0' ? 200_000 : 1_000_000;
  log(`watch: memory of ${fmt(DEVICES)} watched devices`);
  const memory = await child(['memory', String(DEVICES)], options.packageDir);
  log(`watch: ${fmt(readings)} readings over ${fmt(DEVICES)} devices, ticks, and what is kept`);
  const load = await child(['throughput', String(DEVICES), String(readings)], options.packageDir);
  log(`watch: ${fmt(load.perSecond)} readings/s, ${mib(memory.after.heapUsed - memory.before.heapUsed)} heap per ${fmt(DEVICES)} devices`);
  return { memory, load };
}

export function watchMarkdown(part) {
  const { memory, load } = part;
  const heap = memory.after.heapUsed - memory.before.heapUsed;
  const rss = memory.after.rss - memory.before.rss;
  const lines = ['## Watch (`WatchEngine`, dist/lib/watch/)', ''];
  lines.push(
    'Each figure from a process of its own (`node --expose-gc bench/lib/watch-child.mjs`), the library alone with the default ' +
      `rules. *Memory*: ${fmt(memory.devices)} Sinocare CGMs, one reading each (then dropped), heap and RSS after full collections ` +
      `over the same process before. *Readings/s*: ${fmt(load.readings)} readings round-robin over ${fmt(load.devices)} known CGMs, ` +
      `one in twenty low every other round (${fmt(load.alerts)} alerts), a tick every 10,000 readings. *Tick*: the one timer's ` +
      'pass over every device, when none is due and when all are (each then fires `silent`). *Kept*: the sealed list of devices ' +
      'written with fsync (every 30 s at most while devices come and go), the episodes file with all of them silent, and both read back.',
    '',
    `| devices | heap per ${fmt(DEVICES)} | RSS per ${fmt(DEVICES)} | heap per device | readings/s | tick, none due | tick, all due | devices file | its write | episodes write | load |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${fmt(memory.devices)} | **${mib(heap * (DEVICES / memory.devices))}** | **${mib(rss * (DEVICES / memory.devices))}** | ${fmt(memory.heapPerDevice)} B | **${fmt(load.perSecond)}** | ` +
      `${fmt(load.tickNoneDueMs, 2)} ms | ${fmt(load.tickAllDueMs)} ms | ${mib(load.savedBytes)} | ${fmt(load.saveMs)} ms | ${fmt(load.episodesSaveMs)} ms | ${fmt(load.loadMs)} ms |`,
    '',
  );
  const checks = [
    {
      what: `health-watch's library takes ≥ ${fmt(TARGET_READINGS_PER_SECOND)} readings/s with ${fmt(DEVICES)} devices watched (ten times part 1's Express floor)`,
      figure: `${fmt(load.perSecond)} readings/s`,
      ratio: load.perSecond / TARGET_READINGS_PER_SECOND,
      ok: load.perSecond >= TARGET_READINGS_PER_SECOND,
      hint: 'profile it with `node --cpu-prof --expose-gc bench/lib/watch-child.mjs throughput`',
    },
    {
      what: `heap per ${fmt(DEVICES)} watched devices ≤ ${mib(TARGET_HEAP)}`,
      figure: mib(heap * (DEVICES / memory.devices)),
      ratio: heap / TARGET_HEAP,
      ok: heap <= TARGET_HEAP,
      hint: 'read `Watched` in src/lib/watch/engine.ts and the keys of src/lib/watch/who.ts',
    },
    {
      what: `RSS per ${fmt(DEVICES)} watched devices ≤ ${mib(TARGET_RSS)}`,
      figure: mib(rss * (DEVICES / memory.devices)),
      ratio: rss / TARGET_RSS,
      ok: rss <= TARGET_RSS,
    },
    {
      what: `the one timer's tick with ${fmt(DEVICES)} devices and none due ≤ ${TARGET_TICK_MS} ms (it reads only those that may be due)`,
      figure: `${fmt(load.tickNoneDueMs, 2)} ms`,
      ratio: load.tickNoneDueMs / TARGET_TICK_MS,
      ok: load.tickNoneDueMs <= TARGET_TICK_MS,
    },
  ];
  return { lines, checks };
}
