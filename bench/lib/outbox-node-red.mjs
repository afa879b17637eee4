// Part 7 of bench/run.mjs: health-outbox in a real Node-RED (issue 13, docs/hospital.md#delivery-through-the-hospitals-outages), where part 5
// measured its storage alone. In one Node-RED:
//   - what the outbox adds to a push's answer: unique Sinocare pushes at a fixed rate into
//     sinocare-in (ack: flow) → health-ack (answered at once) and into sinocare-in (ack: flow) →
//     health-outbox → health-ack (answered once the message is on disk); p50/p99 of each;
//   - enqueue throughput with fsync as shipped: as many pushes as 50 connections get answered
//     into sinocare-in → an outbox whose deliveries nobody answers (so nothing drains meanwhile);
//   - drain throughput: that outbox redeployed with its output into health-ack, at the shipped
//     concurrency 1 and at 50, until it is empty.
// Each of the first two is measured for the outbox as shipped (`encrypt` on: every record sealed
// with AES-256-GCM) beside the same outbox with `encrypt` off, in turns (sealed, plain, plain,
// sealed: a machine that gets busier or quieter meanwhile weighs on both alike).
// Then, in a Node-RED of its own: RSS and restart time with 1,000,000 messages waiting (each what
// to fhir hands an outbox: a transaction Bundle and its reading, about 3 KB), written into the
// outbox's directory by the package's FileLog (sealed as the outbox seals them, where the package
// has sealed-storage.js) while Node-RED was stopped, against the same
// Node-RED with the outbox empty. Node-RED runs with --expose-gc; RSS is read after full
// collections (a function node calls gc through functionGlobalContext).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fn, procStatus } from './expeed.mjs';
import { paced, sinocareReading } from './hospital.mjs';
import { combine, slice } from './load.mjs';
import { NodeRed, ROOT, placed } from './node-red.mjs';
import { openOutboxLog } from './outbox-storage.mjs';
import sinocare from './pushes/sinocare.mjs';

const requireCjs = createRequire(import.meta.url);
const dist = (packageDir, file) => requireCjs(path.join(packageDir ?? ROOT, 'dist', 'lib', file));
const outboxDist = (packageDir) => path.join(packageDir ?? ROOT, 'dist', 'lib', 'outbox');

/** p99 the outbox may add to a push's answer: the vendors wait 5 s; a hundredth of that. */
export const TARGET_ADDED_P99_MS = 50;
/** Enqueue rate of the outbox as shipped (encrypted) at least this share of the same outbox in clear. */
export const TARGET_SEALED_ENQUEUE_RATIO = 0.9;
/** p99 the encryption may add to a push's answer over the outbox in clear. */
export const TARGET_SEALED_ADDED_P99_MS = 1;
/** The at-rest key of the Node-RED of the million waiting, so that the fill can seal as the outbox does. */
const MILLION_KEY = '7a1e5c3b9d0f2468ace13579bdf02468ace13579bdf02468ace13579bdf02468';
/** RSS with 1,000,000 waiting over the same Node-RED with an empty outbox (issue 13). */
export const TARGET_RSS_ADDED = 200 * 1_048_576;

const SETTINGS = `functionGlobalContext: {
    benchGc() {
      if (global.gc) { global.gc(); global.gc(); }
      return Boolean(global.gc);
    },
  },`;

const receiver = (id, tab, url, wires) => ({
  id, z: tab, type: 'sinocare-in', name: '', version: 1, path: url, ack: 'flow', ackTimeout: 10, maxBytes: 1048576,
  dedupHours: 72, dedupStore: '', allow: '', pii: 'keep', tz: 'Asia/Shanghai', credentials: { key: '', piiKey: '' }, wires,
});
const outbox = (id, tab, properties, wires) => ({
  id, z: tab, type: 'health-outbox', name: '', version: 1, maxAgeHours: 72, retryMinSeconds: 1, retryMaxSeconds: 600,
  concurrency: 1, ackTimeout: 30, state: '', ...properties, wires,
});

/**
 * GET /bench/outbox → `{texts, delivered}`: the last status text of every outbox (a Status node
 * keeps them) and the deliveries counted; GET /bench/gc → full collections, then 200.
 */
function probes(tab) {
  return [
    { id: `${tab}-status`, z: tab, type: 'status', name: '', scope: null, wires: [[`${tab}-keep`]] },
    fn(`${tab}-keep`, tab, `
if (msg.status && msg.status.source && msg.status.source.type === 'health-outbox') {
  const texts = global.get('benchOutboxStatus') || {};
  texts[msg.status.source.id] = String(msg.status.text || '');
  global.set('benchOutboxStatus', texts);
}
return null;`),
    { id: `${tab}-get`, z: tab, type: 'http in', name: '', url: '/bench/outbox', method: 'get', upload: false, swaggerDoc: '', wires: [[`${tab}-answer`]] },
    fn(`${tab}-answer`, tab, `
msg.payload = { texts: global.get('benchOutboxStatus') || {}, delivered: global.get('benchDelivered') || 0 };
return msg;`, [[`${tab}-response`]]),
    { id: `${tab}-gcin`, z: tab, type: 'http in', name: '', url: '/bench/gc', method: 'get', upload: false, swaggerDoc: '', wires: [[`${tab}-gc`]] },
    fn(`${tab}-gc`, tab, `msg.payload = { collected: global.get('benchGc')() }; return msg;`, [[`${tab}-response`]]),
    { id: `${tab}-response`, z: tab, type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
  ];
}
const counter = (id, tab, wires) => fn(id, tab, `global.set('benchDelivered', (global.get('benchDelivered') || 0) + 1); return msg;`, wires);

/**
 * The push flows: direct (receiver → ack), into an outbox that delivers to health-ack, into one
 * nobody answers; each outbox as shipped (encrypted) and, `-plain`, with `encrypt` off.
 */
function pushFlow({ holdConcurrency = 1, holdWired = false } = {}) {
  const tab = 'bench-outbox-tab';
  return placed([
    { id: tab, type: 'tab', label: 'outbox bench' },
    receiver('ob-rx-direct', tab, '/bench/direct', [['ob-ack'], ['ob-ack']]),
    receiver('ob-rx-outbox', tab, '/bench/outbox-push', [['ob-box'], ['ob-ack']]),
    outbox('ob-box', tab, {}, [['ob-ack'], []]),
    receiver('ob-rx-outbox-plain', tab, '/bench/outbox-push-plain', [['ob-box-plain'], ['ob-ack']]),
    outbox('ob-box-plain', tab, { encrypt: false }, [['ob-ack'], []]),
    receiver('ob-rx-hold', tab, '/bench/outbox-hold', [['ob-hold'], ['ob-ack']]),
    // its deliveries go nowhere (the fill) or into health-ack, counted (the drain)
    outbox('ob-hold', tab, { concurrency: holdConcurrency, ackTimeout: 3600 }, [holdWired ? ['ob-count'] : [], []]),
    // the same in clear; never drained (the drain measures the outbox as shipped)
    receiver('ob-rx-hold-plain', tab, '/bench/outbox-hold-plain', [['ob-hold-plain'], ['ob-ack']]),
    outbox('ob-hold-plain', tab, { encrypt: false, ackTimeout: 3600 }, [[], []]),
    counter('ob-count', tab, [['ob-ack']]),
    { id: 'ob-ack', z: tab, type: 'health-ack', name: '', wires: [[]] },
    ...probes(tab),
  ]);
}

async function outboxState(nodeRed) {
  const response = await fetch(`${nodeRed.url}/bench/outbox`);
  return response.json();
}

/** The number in "N queued, …" (0 for "empty"), or undefined before the outbox has shown a status. */
function queuedIn(text) {
  if (text === undefined) return undefined;
  const match = /^(\d+) queued/.exec(text);
  return match ? Number(match[1]) : text === 'empty' ? 0 : undefined;
}

async function rssAfterGc(nodeRed) {
  const response = await fetch(`${nodeRed.url}/bench/gc`);
  const { collected } = await response.json();
  if (!collected) throw new Error('Node-RED was not started with --expose-gc');
  // the backing stores of freed typed arrays go back on a background thread: read a settled RSS
  let lowest = Infinity;
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fetch(`${nodeRed.url}/bench/gc`);
    lowest = Math.min(lowest, procStatus(nodeRed.child.pid).rss);
  }
  return lowest;
}

async function waitUntil(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What to fhir hands an outbox for Sinocare push `n`: the stored msg and its patient's order key (`hash`: the outbox's). */
function storedMessages(packageDir) {
  const readingOf = sinocareReading(packageDir);
  const { toFhir } = dist(packageDir, 'formats/fhir/index.js');
  const { patientKeyOf } = dist(packageDir, 'outbox/properties.js');
  return (n, hash) => {
    const body = JSON.parse(sinocare.unique(n));
    // a thousand patients
    body.data.patientId = `P${String(n % 1000).padStart(6, '0')}`;
    const reading = readingOf(body);
    const msg = {
      topic: `sinocare/${reading.kind}`, vendor: 'sinocare', reading,
      payload: toFhir(reading, { output: 'bundle', patientField: 'patientId' }),
      headers: { 'content-type': 'application/fhir+json' },
    };
    return { msg, key: hash ? patientKeyOf(msg, hash) : patientKeyOf(msg) };
  };
}

async function fill(directory, count, packageDir, log) {
  const make = storedMessages(packageDir);
  // sealed as the outbox as shipped seals (a package from before encryption: plain, as it wrote)
  let sealedStorage;
  const storage = await openOutboxLog(outboxDist(packageDir), { directory }, (log) => {
    if (!fs.existsSync(path.join(outboxDist(packageDir), 'sealed-storage.js'))) return log;
    const { SealedStorage } = dist(packageDir, 'outbox/sealed-storage.js');
    const { Sealer } = dist(packageDir, 'at-rest.js');
    sealedStorage = new SealedStorage(log, { encrypt: true, sealer: new Sealer(Buffer.from(MILLION_KEY, 'hex'), 'outbox:ob-million') });
    return sealedStorage;
  });
  const sealed = sealedStorage !== undefined;
  const started = performance.now();
  let next = 0;
  let bytes = 0;
  await Promise.all(Array.from({ length: 256 }, async () => {
    while (next < count) {
      const n = next++;
      const { msg, key } = make(n, sealed ? sealedStorage.orderKey : undefined);
      if (n === 0) bytes = Buffer.byteLength(JSON.stringify(msg));
      await storage.append(msg, Date.now(), key);
      if (n % 200_000 === 0 && n) log(`outbox in Node-RED: ${n.toLocaleString('en-US')} written`);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const waiting = storage.stats().count;
  await storage.close();
  if (waiting !== count) throw new Error(`the fill left ${waiting} waiting, not ${count}`);
  return { seconds, bytes, sealed };
}

/**
 * What the encryption itself costs one message, in this process and without fsync (so the disk
 * does not hide it): the same messages appended and then leased (read back and opened) through the
 * package's FileLog alone and through SealedStorage around it, in turns (plain, sealed, sealed,
 * plain). A push's answer cannot grow by more than this unless Node-RED is waiting for the CPU.
 */
async function sealingCost(packageDir, count) {
  if (!fs.existsSync(path.join(packageDir ?? ROOT, 'dist', 'lib', 'outbox', 'sealed-storage.js'))) return undefined;
  const { SealedStorage } = dist(packageDir, 'outbox/sealed-storage.js');
  const { Sealer } = dist(packageDir, 'at-rest.js');
  const { patientKeyOf } = dist(packageDir, 'outbox/properties.js');
  const make = storedMessages(packageDir);
  const micros = { plain: [], sealed: [] };
  let n = 0;
  for (const kind of ['plain', 'sealed', 'sealed', 'plain']) {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-seal-'));
    try {
      let sealedStorage;
      const storage = await openOutboxLog(outboxDist(packageDir), { directory, fsync: false }, (log) => {
        if (kind === 'plain') return log;
        sealedStorage = new SealedStorage(log, { encrypt: true, sealer: new Sealer(Buffer.from(MILLION_KEY, 'hex'), 'outbox:bench') });
        return sealedStorage;
      });
      const messages = Array.from({ length: count }, () => make(n++).msg);
      const started = performance.now();
      for (const msg of messages) {
        await storage.append(msg, Date.now(), kind === 'plain' ? patientKeyOf(msg) : patientKeyOf(msg, sealedStorage.orderKey));
      }
      let leased = 0;
      while (leased < count) {
        const batch = await storage.lease(Infinity, 256);
        if (batch.length === 0) break;
        for (const message of batch) await storage.settle(message, { ok: true });
        leased += batch.length;
      }
      micros[kind].push(((performance.now() - started) * 1000) / count);
      await storage.close();
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  return { count, plainUs: mean(micros.plain), sealedUs: mean(micros.sealed), addedUs: mean(micros.sealed) - mean(micros.plain) };
}

/**
 * Runs of `paced` taken in turns, as one row: counts added up, the percentiles the mean of the
 * runs' (each run keeps only its own sorted latencies), the maximum the largest.
 */
function mergePaced(runs) {
  const sum = (key) => runs.reduce((total, run) => total + (run[key] ?? 0), 0);
  const mean = (pick) => {
    const values = runs.map(pick).filter((value) => value !== undefined);
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
  };
  return {
    sent: sum('sent'), answered: sum('answered'), ok: sum('ok'), non2xx: sum('non2xx'), errors: sum('errors'),
    p50: mean((run) => run.p50), p90: mean((run) => run.p90), p99: mean((run) => run.p99),
    max: Math.max(...runs.map((run) => run.max ?? 0)), p99s: runs.map((run) => run.p99),
    cores: { pid1: mean((run) => run.cores?.pid1) },
  };
}

function diskBytes(directory) {
  return fs.readdirSync(directory).reduce((sum, name) => sum + fs.statSync(path.join(directory, name)).size, 0);
}

export async function benchOutboxNodeRed(options, log) {
  const quick = options.quick;
  const rate = options.pushRate;
  const seconds = quick ? 2 : 10;
  const million = quick ? 100_000 : 1_000_000;
  const result = { rate, seconds, million };
  const jsonHeaders = { 'content-type': 'application/json' };

  // 1. pushes, enqueue and drain
  let nodeRed = await NodeRed.start({ packageDir: options.packageDir, settings: SETTINGS, execArgv: ['--expose-gc'] });
  try {
    await nodeRed.deploy(pushFlow());
    let counter = 80_000_000;
    for (const url of ['/bench/direct', '/bench/outbox-push', '/bench/outbox-push-plain']) {
      const check = await fetch(`${nodeRed.url}${url}`, { method: 'POST', body: sinocare.unique(counter++), headers: jsonHeaders });
      if (check.status !== 200) throw new Error(`${url} answered ${check.status} ${await check.text()}`);
    }
    log(`outbox in Node-RED: ${seconds} s of unique pushes at ${rate}/s answered at once, then answered once on the outbox's disk`);
    const push = (url, time) => paced(`${nodeRed.url}${url}`, { rate, seconds: time, nextBody: () => sinocare.unique(counter++), headers: jsonHeaders, pids: [nodeRed.child.pid] });
    result.direct = await push('/bench/direct', seconds);
    // the outbox as shipped and in clear, each for two halves taken in turns (sealed, plain, plain, sealed)
    const halves = { viaOutbox: [], viaOutboxPlain: [] };
    for (const name of ['viaOutbox', 'viaOutboxPlain', 'viaOutboxPlain', 'viaOutbox']) {
      halves[name].push(await push(name === 'viaOutbox' ? '/bench/outbox-push' : '/bench/outbox-push-plain', seconds / 2));
    }
    result.viaOutbox = mergePaced(halves.viaOutbox);
    result.viaOutboxPlain = mergePaced(halves.viaOutboxPlain);
    log(`outbox in Node-RED: p99 ${result.direct.p99?.toFixed(1)} ms at once, ${result.viaOutbox.p99?.toFixed(1)} ms through the outbox (encrypted), ${result.viaOutboxPlain.p99?.toFixed(1)} ms in clear`);

    log(`outbox in Node-RED: ${seconds} s of pushes over 50 connections into an outbox that does not drain, encrypted and in clear in turns`);
    const slices = { 'ob-hold': [], 'ob-hold-plain': [] };
    for (const id of ['ob-hold', 'ob-hold-plain', 'ob-hold-plain', 'ob-hold']) {
      const url = `${nodeRed.url}/bench/${id === 'ob-hold' ? 'outbox-hold' : 'outbox-hold-plain'}`;
      slices[id].push(await slice({ url, nextBody: () => sinocare.unique(counter++), connections: 50, seconds: seconds / 2 }));
    }
    for (const [id, name] of [['ob-hold', 'enqueue'], ['ob-hold-plain', 'enqueuePlain']]) {
      const enqueue = combine(`${nodeRed.url}/bench/${id}`, 50, slices[id]);
      const answered = enqueue.statuses['2xx'] ?? 0;
      // every push answered 200 is a message on disk: the outbox counts them all (and the one in flight)
      const held = await waitUntil(async () => {
        const count = queuedIn((await outboxState(nodeRed)).texts[id]);
        return count !== undefined && count >= answered ? count : undefined;
      }, 30_000, `${id} to count ${answered} messages`);
      result[name] = { answered, total: enqueue.total, errors: enqueue.errors, timeouts: enqueue.timeouts, perSecond: answered / enqueue.seconds, p99: enqueue.p99, held, slices: enqueue.slices };
      log(`outbox in Node-RED: ${id}: ${answered} pushes answered (${(answered / enqueue.seconds).toFixed(0)}/s), ${held} held`);
    }

    for (const concurrency of [1, 50]) {
      await nodeRed.deploy(pushFlow({ holdConcurrency: concurrency, holdWired: true }));
      const before = (await outboxState(nodeRed)).delivered;
      const started = performance.now();
      const limit = concurrency === 1 ? Math.min(10, seconds) * 1000 : 300_000;
      let left;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = queuedIn((await outboxState(nodeRed)).texts['ob-hold']);
        if (left === 0 || performance.now() - started > limit) break;
      }
      const delivered = (await outboxState(nodeRed)).delivered - before;
      const elapsed = (performance.now() - started) / 1000;
      result[`drain${concurrency}`] = { concurrency, delivered, seconds: elapsed, perSecond: delivered / elapsed, left };
      log(`outbox in Node-RED: drained ${delivered} at concurrency ${concurrency} in ${elapsed.toFixed(1)} s`);
    }
  } finally {
    await nodeRed.stop();
  }

  result.sealing = await sealingCost(options.packageDir, quick ? 2000 : 5000);
  if (result.sealing) {
    log(`outbox in Node-RED: a message appended, leased and settled without fsync: ${result.sealing.plainUs.toFixed(1)} µs in clear, ${result.sealing.sealedUs.toFixed(1)} µs encrypted`);
  }

  // 2. RSS and restart with a million waiting
  const tab = 'bench-outbox-million';
  const flow = placed([
    { id: tab, type: 'tab', label: 'a million waiting' },
    outbox('ob-million', tab, { ackTimeout: 3600 }, [[], []]),
    ...probes(tab),
  ]);
  const env = { HEALTH_BRIDGE_KEY: MILLION_KEY };
  nodeRed = await NodeRed.start({ packageDir: options.packageDir, settings: SETTINGS, execArgv: ['--expose-gc'], env });
  const userDir = nodeRed.userDir;
  const directory = path.join(userDir, 'health-bridge', 'outbox-ob-million');
  try {
    await nodeRed.deploy(flow);
    await nodeRed.stop({ keep: true });
    const startAndOpen = async () => {
      const t0 = performance.now();
      nodeRed = await NodeRed.start({ packageDir: options.packageDir, settings: SETTINGS, execArgv: ['--expose-gc'], userDir, env });
      const started = performance.now() - t0;
      const queued = await waitUntil(async () => {
        const count = queuedIn((await outboxState(nodeRed)).texts['ob-million']);
        return count === undefined ? undefined : { count };
      }, 600_000, 'the outbox to open');
      return { startMs: started, openMs: performance.now() - t0, queued: queued.count };
    };
    const idle = await startAndOpen();
    idle.rss = await rssAfterGc(nodeRed);
    await nodeRed.stop({ keep: true });
    log(`outbox in Node-RED: idle ${(idle.rss / 1_048_576).toFixed(1)} MiB; writing ${million.toLocaleString('en-US')} messages into the stopped outbox`);
    const filled = await fill(directory, million, options.packageDir, log);
    const loaded = await startAndOpen();
    loaded.rss = await rssAfterGc(nodeRed);
    log(`outbox in Node-RED: ${loaded.queued} waiting, opened ${(loaded.openMs / 1000).toFixed(1)} s after the start, ${(loaded.rss / 1_048_576).toFixed(1)} MiB`);
    result.memory = { idle, loaded, fill: filled, disk: diskBytes(directory) };
  } finally {
    await nodeRed.stop();
  }
  return result;
}

export function outboxNodeRedMarkdown(part, { fmt }) {
  const mib = (bytes) => `${fmt(bytes / 1_048_576, 1)} MiB`;
  const ms = (value) => (value === undefined ? '–' : fmt(value, 1));
  const { direct, viaOutbox, viaOutboxPlain, enqueue, enqueuePlain, memory } = part;
  const lines = ['## 7. `health-outbox` in Node-RED (bench/lib/outbox-node-red.mjs)', ''];
  lines.push(
    `**A push's answer.** Unique Sinocare pushes at a fixed ${fmt(part.rate)}/s for ${fmt(part.seconds)} s each (the paced open loop of part 6) ` +
      'into `sinocare-in` (ack: flow) → `health-ack`, answered at once, and into `sinocare-in` (ack: flow) → `health-outbox` → ' +
      '`health-ack`, answered once the outbox has the message on disk (fdatasync, group commit, as shipped), with `encrypt` ' +
      'on as shipped and off (in clear): each of those two for two halves of the time taken in turns (encrypted, in clear, in ' +
      'clear, encrypted); their percentiles are the mean of the two halves\'.',
    '',
    '| path | pushes | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors | CPU Node-RED |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const pathRows = [['receiver → health-ack', direct], ['receiver → health-outbox, encrypted (as shipped; answered on disk)', viaOutbox]];
  if (viaOutboxPlain) pathRows.push(['receiver → health-outbox, `encrypt` off', viaOutboxPlain]);
  for (const [label, row] of pathRows) {
    lines.push(`| ${label} | ${fmt(row.sent)} | ${ms(row.p50)} | ${ms(row.p90)} | **${ms(row.p99)}** | ${ms(row.max)} | ${fmt(row.non2xx)} | ${fmt(row.errors)} | ${fmt(row.cores?.pid1, 2)} |`);
  }
  const added = viaOutbox.p99 - direct.p99;
  lines.push(
    '',
    `**Enqueue and drain.** *Enqueue*: as many pushes as 50 connections (autocannon) get answered in ${fmt(part.seconds)} s into ` +
      '`sinocare-in` → an outbox whose deliveries nobody answers, so nothing drains meanwhile: each answered push is one message ' +
      'stored with fsync. *Drain*: the same outbox redeployed with its output 1 into `health-ack` (through a counting function ' +
      'node), at the shipped concurrency 1 (10 s) and then at 50 until it is empty: each delivery is a message read from disk, ' +
      'sent, answered by health-ack, and its end written (fsync).',
    '',
    '| measurement | figure |',
    '|---|---:|',
    `| enqueue, encrypted (as shipped): pushes answered 200 (each a message on disk) | **${fmt(enqueue.perSecond)}/s** (${fmt(enqueue.answered)} of ${fmt(enqueue.total)}, p99 ${fmt(enqueue.p99)} ms, ${fmt(enqueue.errors)} errors; the outbox then held ${fmt(enqueue.held)}: the pushes still in flight when the time was up were stored too) |`,
    ...(enqueuePlain
      ? [`| enqueue, \`encrypt\` off (halves taken in turns with the encrypted one) | **${fmt(enqueuePlain.perSecond)}/s** (${fmt(enqueuePlain.answered)} of ${fmt(enqueuePlain.total)}, p99 ${fmt(enqueuePlain.p99)} ms, ${fmt(enqueuePlain.errors)} errors; held ${fmt(enqueuePlain.held)}) |`]
      : []),
    ...(part.sealing
      ? [`| what the encryption costs one message (append, lease, settle; in the runner's process, without fsync, in turns) | **+${fmt(part.sealing.addedUs, 1)} µs** (${fmt(part.sealing.sealedUs, 1)} against ${fmt(part.sealing.plainUs, 1)} µs, ${fmt(part.sealing.count)} messages a turn) |`]
      : []),
    `| drain at concurrency 1 (shipped default) | **${fmt(part.drain1.perSecond)}/s** (${fmt(part.drain1.delivered)} in ${fmt(part.drain1.seconds, 1)} s) |`,
    `| drain at concurrency 50 | **${fmt(part.drain50.perSecond)}/s** (${fmt(part.drain50.delivered)} in ${fmt(part.drain50.seconds, 1)} s, ${fmt(part.drain50.left)} left) |`,
    '',
    `**A million waiting.** ${fmt(part.million)} messages as \`health-fhir\` hands them to an outbox (a transaction Bundle and its reading, ` +
      `${fmt(memory.fill.bytes)} bytes of JSON each, a thousand patients) written by the package's \`FileLog\`${memory.fill.sealed ? ', encrypted as the outbox encrypts them,' : ''} into the outbox's directory ` +
      `while Node-RED was stopped (${fmt(part.million / memory.fill.seconds)}/s, ${mib(memory.disk)} on disk), then Node-RED started on it. ` +
      '*Start*: from the fork to "Started flows"; *open*: from the fork to the outbox\'s status counting what waits (the status is ' +
      'redrawn at most every 500 ms, so up to that much of it is the wait for a redraw). RSS of the Node-RED ' +
      'process after full collections, against the same Node-RED and flow with the outbox empty. One delivery is in flight (unanswered). ' +
      'The log is replayed a segment (64 MiB) at a time with the event loop free in between, so the flows start while it is read.',
    '',
    '| outbox | start | open | RSS |',
    '|---|---:|---:|---:|',
    `| empty | ${fmt(memory.idle.startMs)} ms | ${fmt(memory.idle.openMs)} ms | ${mib(memory.idle.rss)} |`,
    `| ${fmt(memory.loaded.queued)} waiting | ${fmt(memory.loaded.startMs)} ms | **${fmt(memory.loaded.openMs)} ms** | ${mib(memory.loaded.rss)} (**+${mib(memory.loaded.rss - memory.idle.rss)}**) |`,
    '',
  );
  const rssAdded = memory.loaded.rss - memory.idle.rss;
  const sealedChecks = [];
  if (viaOutboxPlain && enqueuePlain) {
    const enqueueRatio = enqueue.perSecond / enqueuePlain.perSecond;
    const perTurn = enqueue.slices?.map((rate, i) => rate / enqueuePlain.slices[i]).filter(Number.isFinite) ?? [];
    sealedChecks.push(
      {
        what: `enqueue of the outbox as shipped (encrypted) ≥ ${fmt(TARGET_SEALED_ENQUEUE_RATIO, 1)}× the same outbox with \`encrypt\` off`,
        figure: `${fmt(enqueueRatio, 2)}× (${fmt(enqueue.perSecond)} against ${fmt(enqueuePlain.perSecond)}/s${perTurn.length > 1 ? `; per turn ${fmt(Math.min(...perTurn), 2)}–${fmt(Math.max(...perTurn), 2)}` : ''})`,
        ratio: enqueueRatio / TARGET_SEALED_ENQUEUE_RATIO,
        ok: enqueueRatio >= TARGET_SEALED_ENQUEUE_RATIO,
        hint: 'profile Node-RED (`--cpu-prof`) during the enqueue: sealing is src/lib/outbox/sealed-storage.ts',
      },
    );
    const sealedAdded = viaOutbox.p99 - viaOutboxPlain.p99;
    sealedChecks.push({
      what: `p99 of a push's answer through the outbox as shipped (encrypted) within ${fmt(TARGET_SEALED_ADDED_P99_MS)} ms of the same outbox with \`encrypt\` off`,
      figure: `${sealedAdded >= 0 ? '+' : ''}${ms(sealedAdded)} ms (${ms(viaOutbox.p99)} against ${ms(viaOutboxPlain.p99)} ms)`,
      ratio: Math.max(0, sealedAdded) / TARGET_SEALED_ADDED_P99_MS,
      ok: sealedAdded <= TARGET_SEALED_ADDED_P99_MS,
      ...(part.sealing && { measured: `The encryption's own CPU time is ${fmt(part.sealing.addedUs, 1)} µs a message (the table above): a larger difference is the machine, not the sealing.` }),
      hint: 'compare the halves (p99 of each turn) before reading much into one run on a busy machine',
    });
  }
  const checks = [
    {
      what: `p99 the outbox adds to a push's answer at ${fmt(part.rate)} pushes/s ≤ ${fmt(TARGET_ADDED_P99_MS)} ms`,
      figure: `${ms(added)} ms (p99 ${ms(viaOutbox.p99)} against ${ms(direct.p99)} ms)`,
      ratio: added / TARGET_ADDED_P99_MS,
      ok: added <= TARGET_ADDED_P99_MS && viaOutbox.non2xx === 0 && viaOutbox.errors === 0,
      measured: `${fmt(viaOutbox.non2xx)} non-2xx, ${fmt(viaOutbox.errors)} errors through the outbox`,
      hint: 'profile Node-RED (`--cpu-prof`) during this part',
    },
    {
      what: `RSS with ${fmt(memory.loaded.queued)} messages waiting, over the same Node-RED with the outbox empty, < 200 MiB`,
      figure: mib(rssAdded),
      ratio: rssAdded / TARGET_RSS_ADDED,
      ok: rssAdded < TARGET_RSS_ADDED && memory.loaded.queued === part.million,
      hint: 'read the index size in src/lib/outbox/file-log.ts (65 B a slot) against a heap snapshot of the restarted Node-RED',
    },
    ...sealedChecks,
  ];
  return { lines, checks };
}
