// Measures an outbox storage (src/lib/outbox/storage.ts) in a process of its own, started by
// bench/run.mjs with --expose-gc, and prints one JSON object on stdout.
//
//   node --expose-gc bench/lib/outbox-child.mjs latency DIR [file|sqlite]
//       appends awaited one at a time, then 50 at a time: appends/s, the time one append waits
//       (what it adds to a push's answer), and how long the event loop was blocked meanwhile
//   node --expose-gc bench/lib/outbox-child.mjs fill DIR COUNT [file|sqlite]
//       COUNT messages of about 1 KB appended (256 waiting at a time, fsync as shipped):
//       appends/s, and RSS before (storage open and empty) and after (COUNT waiting)
//   node --expose-gc bench/lib/outbox-child.mjs open DIR DRAIN [file|sqlite]
//       opens what `fill` left (a restart): the time to open, RSS with everything waiting, then
//       DRAIN messages leased 50 at a time and settled as delivered: drains/s; then DRAIN more
//       through the queue (OutboxQueue, concurrency 50, each delivery answered at once)
//
// Backends: file = FileLog (dist/lib/outbox/file-log, what the package ships); sqlite =
// bench/lib/outbox-sqlite.mjs on a better-sqlite3 installed outside the repository (HB_SQLITE).
import { createRequire } from 'node:module';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { digits } from './fixed-width.mjs';
import { openOutboxLog } from './outbox-storage.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const require = createRequire(import.meta.url);
const PACKAGE = process.env.HB_BENCH_PACKAGE || ROOT;

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

async function openStorage(backend, directory) {
  if (backend === 'sqlite') {
    const { SqliteOutbox } = await import('./outbox-sqlite.mjs');
    return SqliteOutbox.open({ directory });
  }
  return openOutboxLog(path.join(PACKAGE, 'dist', 'lib', 'outbox'), { directory });
}

/** A Node-RED msg as a receiver emits it (a Sinocare CGM reading), padded to about 1 KB of JSON. */
export function message(i) {
  return {
    topic: 'sinocare/glucose',
    payload: {
      id: `sinocare:cgm:${digits(i, 9)}`,
      kind: 'glucose',
      value: 5.6 + (i % 40) / 10,
      unit: 'mmol/L',
      at: '2026-12-01T08:15:00+08:00',
      patient: { id: `P${digits(i % 100_000, 6)}`, idType: 'hospital' },
      device: { vendor: 'sinocare', model: 'iCan i3', serial: `SN${digits(i % 5000, 8)}` },
      source: { vendor: 'sinocare', pushId: `${digits(i, 12)}`, receivedAt: '2026-12-01T00:15:01.123Z' },
      raw: { testId: digits(240_119_000_000_000 + i, 15), note: 'x'.repeat(560) },
    },
    vendor: 'sinocare',
    req: undefined,
  };
}

/**
 * Full collections until RSS has not shrunk for four in a row: V8 gives the backing stores
 * of freed typed arrays back on a background thread, so one collection and a read of RSS at once
 * is noise (107 or 182 MiB for the same 800,000 messages).
 */
async function settleGc() {
  let lowest = Infinity;
  let still = 0;
  for (let i = 0; i < 30 && still < 4; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { rss } = process.memoryUsage();
    still = rss < lowest - 1_048_576 ? 0 : still + 1;
    lowest = Math.min(lowest, rss);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const ms = (ns) => Number(ns) / 1e6;

/** `total` appends, `parallel` awaited at a time; latencies in ms. */
async function appendLoad(storage, total, parallel, offset) {
  const latencies = new Float64Array(total);
  let next = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < total) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await storage.append(message(offset + i), Date.now());
      latencies[i] = ms(process.hrtime.bigint() - t0);
    }
  }));
  const seconds = ms(process.hrtime.bigint() - started) / 1000;
  delay.disable();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    total, parallel, perSecond: total / seconds,
    p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1],
    loopDelayP99Ms: delay.percentile(99) / 1e6, loopDelayMaxMs: delay.max / 1e6,
  };
}

const [mode, directory, countArg, backendArg] = process.argv.slice(2);
const backend = (mode === 'latency' ? countArg : backendArg) ?? 'file';
let result;
if (mode === 'latency') {
  const storage = await openStorage(backend, directory);
  const serial = await appendLoad(storage, 1000, 1, 0);
  const concurrent = await appendLoad(storage, 20_000, 50, 1000);
  await storage.close();
  result = { backend, serial, concurrent };
} else if (mode === 'fill') {
  const count = Number(countArg);
  const storage = await openStorage(backend, directory);
  const before = await settleGc();
  const load = await appendLoad(storage, count, 256, 0);
  const after = await settleGc();
  const stats = storage.stats();
  if (stats.count !== count) throw new Error(`expected ${count} waiting, the storage has ${stats.count}`);
  await storage.close();
  result = { backend, count, load, before, after };
} else if (mode === 'open') {
  const drain = Number(countArg);
  const base = await settleGc();
  const t0 = process.hrtime.bigint();
  const storage = await openStorage(backend, directory);
  const count = storage.stats().count;
  const openMs = ms(process.hrtime.bigint() - t0);
  const opened = await settleGc();
  const t1 = process.hrtime.bigint();
  let drained = 0;
  while (drained < drain) {
    const batch = await storage.lease(Date.now(), 50);
    if (!batch.length) break;
    await Promise.all(batch.map((m) => storage.settle(m, { ok: true })));
    drained += batch.length;
  }
  const drainSeconds = ms(process.hrtime.bigint() - t1) / 1000;
  // as many again through the queue (dist/lib/outbox/queue.js), concurrency 50, each delivery
  // answered at once: the scheduling's own cost on top of the storage's
  const { OutboxQueue } = require(path.join(PACKAGE, 'dist', 'lib', 'outbox', 'queue.js'));
  let queued = 0;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const t2 = process.hrtime.bigint();
  const queue = new OutboxQueue({
    storage,
    concurrency: 50,
    send: (message) => queueMicrotask(() => {
      if (queued >= drain) return; // enough: the rest stays in flight until the close
      queue.settle(message.id);
      if (++queued === drain) done();
    }),
    deadLetter: () => {},
    onError: (error) => { throw error; },
  });
  if (storage.stats().count > 0) await finished;
  const queueSeconds = ms(process.hrtime.bigint() - t2) / 1000;
  const left = storage.stats().count;
  await queue.close(); // stops handing out; what was in flight waits for the next open
  result = { backend, count, openMs, base, opened, drained, drainPerSecond: drained / drainSeconds, queueDrained: queued, queueDrainPerSecond: queued / queueSeconds, left };
} else {
  throw new Error('mode: latency DIR [backend] | fill DIR COUNT [backend] | open DIR DRAIN [backend]');
}
process.stdout.write(`${JSON.stringify(result)}\n`);
