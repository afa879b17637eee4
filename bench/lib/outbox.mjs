// Part 5 of bench/run.mjs: the outbox's storage (src/lib/outbox/, issue 13), each measurement in
// a process of its own (bench/lib/outbox-child.mjs): appends with fsync as shipped (one awaited
// at a time, and 50 at once: what an append adds to a push's answer, and how long the event loop
// is blocked meanwhile), COUNT messages of about 1 KB appended, RSS with them all waiting (in the
// process that wrote them, and in a fresh one after a restart), the restart (open) time, and the
// drain (lease 50, settle as delivered). The FileLog is what ships; SQLite (better-sqlite3 12.x,
// not a dependency) is measured beside it when it is installed where HB_SQLITE says (default
// /tmp/sqlite-try/node_modules/better-sqlite3), as the comparison in bench/FINDINGS.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sqliteAvailable } from './outbox-sqlite.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const TARGET_RSS = 200 * 1_048_576;
const TARGET_P99_MS = 50;

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const mib = (bytes) => `${fmt(bytes / 1_048_576, 1)} MiB`;

function child(args, packageDir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', path.join(ROOT, 'bench', 'lib', 'outbox-child.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...(packageDir && { HB_BENCH_PACKAGE: packageDir }) },
    });
    let out = '';
    proc.stdout.on('data', (chunk) => { out += chunk; });
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`outbox-child.mjs ${args.join(' ')} exited with ${code}`))));
  });
}

function diskBytes(directory) {
  return fs.readdirSync(directory).reduce((sum, name) => sum + fs.statSync(path.join(directory, name)).size, 0);
}

/** `log(...)`: bench/run.mjs's progress line. */
export async function benchOutbox(options, log) {
  // file-log.js before the storage was split, file-log/index.js after
  const outbox = path.join(options.packageDir ?? ROOT, 'dist', 'lib', 'outbox');
  const dist = ['file-log.js', 'file-log/index.js'].map((file) => path.join(outbox, file)).find((file) => fs.existsSync(file));
  if (!dist) throw new Error(`${path.join(outbox, 'file-log')} is missing: npm run build first`);
  // like the history part: 1,000,000 unless BENCH_QUICK (a quick check that the part works)
  const count = process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0' ? 100_000 : 1_000_000;
  // half at most: the other half is left for the drain through the queue (a quick run drained it all before)
  const drain = Math.min(Math.floor(count / 2), 200_000);
  const backends = ['file', ...(sqliteAvailable() ? ['sqlite'] : [])];
  const rows = [];
  for (const backend of backends) {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), `hb-bench-outbox-${backend}-`));
    try {
      log(`outbox (${backend}): appends, one at a time and 50 at once`);
      const latency = await child(['latency', path.join(directory, 'latency'), backend], options.packageDir);
      log(`outbox (${backend}): ${fmt(count)} messages of about 1 KB appended, RSS`);
      const fill = await child(['fill', path.join(directory, 'queue'), String(count), backend], options.packageDir);
      const bytes = diskBytes(path.join(directory, 'queue'));
      log(`outbox (${backend}): restart with ${fmt(count)} waiting, then ${fmt(drain)} drained`);
      const open = await child(['open', path.join(directory, 'queue'), String(drain), backend], options.packageDir);
      rows.push({ backend, latency, fill, open, bytes });
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  }
  return { count, drain, rows, sqliteSkipped: !sqliteAvailable() };
}

export function outboxMarkdown(part) {
  const { count, drain, rows } = part;
  const lines = ['## 5. Outbox storage (`FileLog`, dist/lib/outbox/file-log)', ''];
  lines.push(
    'Each figure from a process of its own (`node --expose-gc bench/lib/outbox-child.mjs`), on the disk of os.tmpdir(), fsync ' +
      'as shipped (an fdatasync per group of appends that arrive together). *Append wait*: from `append()` to its promise ' +
      "resolving (the message on disk), which is what the outbox adds to a push's answer; *event loop blocked*: the p99 of " +
      `\`monitorEventLoopDelay\` meanwhile. *Fill*: ${fmt(count)} Node-RED msgs of about 1 KB of JSON, 256 waiting at a time. ` +
      '*RSS added*: after full collections, over the same process with the storage open and empty. *Restart*: a fresh ' +
      `process opening what the fill left. *Drain*: ${fmt(drain)} of them leased 50 at a time and settled as delivered; *through the queue*: ${fmt(drain)} more ` +
      'through `OutboxQueue` (concurrency 50, each delivery answered at once), the scheduling included.' +
      (part.sqliteSkipped ? ' SQLite (the comparison) was not installed (see bench/lib/outbox-sqlite.mjs), so only the file log is here.' : ''),
    '',
    '| storage | appends/s, one at a time | its p99 wait | appends/s, 50 at once | p99 wait (added to a push) | event loop blocked, p99 | fill appends/s | RSS added, fill process | restart (open) | RSS added after restart | drain/s | through the queue/s | on disk |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const { backend, latency, fill, open, bytes } of rows) {
    const name = backend === 'file' ? 'file log (shipped)' : 'SQLite, WAL, synchronous=FULL (comparison)';
    lines.push(
      `| ${name} | ${fmt(latency.serial.perSecond)} | ${fmt(latency.serial.p99Ms, 2)} ms | ${fmt(latency.concurrent.perSecond)} | ${fmt(latency.concurrent.p99Ms, 2)} ms | ` +
        `${fmt(latency.concurrent.loopDelayP99Ms, 1)} ms | ${fmt(fill.load.perSecond)} | ${mib(fill.after.rss - fill.before.rss)} | ${fmt(open.openMs)} ms | ` +
        `${mib(open.opened.rss - open.base.rss)} | ${fmt(open.drainPerSecond)} | ${fmt(open.queueDrainPerSecond)} | ${mib(bytes)} |`,
    );
  }
  lines.push('');
  const file = rows.find((row) => row.backend === 'file');
  const added = Math.max(file.fill.after.rss - file.fill.before.rss, file.open.opened.rss - file.open.base.rss);
  const checks = [
    {
      what: `RSS added by ${fmt(count)} waiting messages ≤ 200 MiB (the larger of the fill process and the restarted one)`,
      figure: mib(added),
      ratio: added / TARGET_RSS,
      ok: added <= TARGET_RSS,
      hint: 'read the index sizes in src/lib/outbox/file-log/slots.ts (33 B a slot) and src/lib/outbox/schedule.ts (49 B a row) against `process.memoryUsage().arrayBuffers` in bench/lib/outbox-child.mjs',
    },
    {
      what: `p99 an append adds to a push's answer ≤ ${TARGET_P99_MS} ms (50 at once)`,
      figure: `${fmt(file.latency.concurrent.p99Ms, 2)} ms`,
      ratio: file.latency.concurrent.p99Ms / TARGET_P99_MS,
      ok: file.latency.concurrent.p99Ms <= TARGET_P99_MS,
      hint: 'profile it with `node --cpu-prof --expose-gc bench/lib/outbox-child.mjs latency /tmp/outbox-latency`',
    },
  ];
  return { lines, checks };
}
