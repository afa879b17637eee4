// `npm run bench` (= `npm run build && node bench/run.mjs`): measures the package in a real
// Node-RED and writes bench/RESULTS.md: what this run measured, and nothing else. What profiling
// found about causes lives in bench/FINDINGS.md, dated; a missed target links its entry there by
// anchor (FINDING below) instead of explaining itself, so no explanation outlives its cause here.
//
//   1. receivers: every vendor's receiver in the registry (src/lib/registry.ts) whose dist file
//      exists, with its push from bench/lib/pushes/<vendor>.mjs and its expected answer from its
//      protocol (bench/lib/pushes.mjs), loaded with autocannon next to, on the same Node-RED in
//      the same run, a bare `http in` → `http response` flow, the same vendor handled by hand (`http in` →
//      `function` → `http response`) and the Express 404 floor (a path no route has); each with
//      a duplicate-heavy load (the same push every time) and a unique-reading load (a new
//      reading every request), bodies of one size per vendor.
//   2. dedup: DedupMemory's heap and RSS per remembered key at 1,000,000 keys and the time of one
//      lookup at 10k, 100k and 1M keys (bench/lib/dedup-child.mjs, a process of its own).
//   3. tokens: token calls of an Expeed account for 10,000 queries a simulated day, twice
//      (bench/lib/token-child.mjs: ExpeedAccount and the emulator on one simulated clock), and
//      1,000 queries at once into one `expeed-query` in a real Node-RED (bench/lib/expeed.mjs).
//   4. history: one `expeed-query` (history, allPages) reading 1,000,000 points from the emulator
//      in a fresh Node-RED, once per page size: points per second, order and completeness, and
//      Node-RED's peak RSS (bench/lib/expeed.mjs).
//   5. hospital: readings per second through `health-fhir` (bundle, observation) and `health-hl7`
//      alone in a real Node-RED beside the library alone, and unique Sinocare pushes at a fixed
//      rate through sinocare-in (ack: flow) → health-fhir → `http request` → a real FHIR server
//      (test/harness/fhir-server.mjs, Node 22) → health-ack: latency, and Observations stored
//      (bench/lib/hospital.mjs).
//   8. metrics: every receiver with a health-metrics node deployed and scraped each second beside
//      the same receiver without one, two Node-REDs in one run, unique-reading loads interleaved;
//      and the counting calls of one push alone (bench/lib/metrics.mjs).
//   watch: health-watch's library, readings per second and heap/RSS per 100,000 watched devices
//      (bench/lib/watch.mjs).
//   outbox-redis: health-outbox's enqueue with `state` (the queue in Redis, appendfsync everysec
//      and always) beside the file outbox, in this process (bench/lib/outbox-redis.mjs).
//
// Options (any of them makes a quick run, printed and not written to RESULTS.md unless --out):
//   --only receivers|dedup|tokens|history|outbox|hospital|outbox-node-red|metrics|watch|redis|outbox-redis   one part (or several, comma-separated)
//   --duration S               seconds measured per target, in all (10)
//   --warmup S                 seconds of unmeasured load on each target first (1)
//   --slice S                  measure targets in turns of S seconds, interleaved (1)
//   --connections N            (50)
//   --types a,b                receiver types (all the registry's)
//   --targets floor,bare,receiver,manual
//   --loads duplicate,unique
//   --token-queries N          queries per simulated day (10000)
//   --burst N                  queries at once into expeed-query in Node-RED (1000)
//   --history-points N         points in the emulator's series (1000000)
//   --history-limits a,b       page sizes (`limit`) to read the history with (100,6000)
//   --push-rate N              pushes per second into the hospital flow (200)
//   --push-seconds S           seconds of those pushes, measured (20)
//   --cpu-prof                 Node-RED runs with --cpu-prof; profiles and their summaries go to
//                              bench/profiles/<time>/ (bench/lib/profile.mjs summarizes one)
//   --package DIR              load the nodes from another copy of the package (an experiment:
//                              a patched dist/ measured against the same baselines)
//   --quiet-wait S             wait up to S seconds for other processes to leave the CPU before
//                              starting (30; what they used is in RESULTS.md either way)
//   --out FILE                 write the Markdown there
//
// BENCH_QUICK=1 in the environment: a quick check that every part works end to end (2 s per
// target, a 100,000-point history, 1 s of hospital pushes, no quiet wait), printed and not written unless --out.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { burst, DEVICE, history, KEYS, MEMORY_SETTINGS, procStatus } from './lib/expeed.mjs';
import { benchHospital, FHIR_SERVER_FINDING, hospitalMarkdown } from './lib/hospital.mjs';
import { cpuSnapshot, cpuUse, interleave } from './lib/load.mjs';
import { NodeRed, ROOT, nodeRedVersion, placed } from './lib/node-red.mjs';
import { summarize } from './lib/profile.mjs';
import { PUSHES, RECEIVERS } from './lib/pushes.mjs';
import { benchOutbox, outboxMarkdown } from './lib/outbox.mjs';
import { benchOutboxNodeRed, outboxNodeRedMarkdown } from './lib/outbox-node-red.mjs';
import { benchMetrics, metricsMarkdown } from './lib/metrics.mjs';
import { benchWatch, watchMarkdown } from './lib/watch.mjs';
import { benchRedis, redisMarkdown } from './lib/redis.mjs';
import { benchOutboxRedis, outboxRedisMarkdown } from './lib/outbox-redis.mjs';

const TARGET_RATIO = 0.9;
const AIM_RATIO = 0.95;
const TARGET_P99_MS = 50;
const TARGET_BYTES_PER_KEY = 100;
const DEDUP_KEYS = 1_000_000;
const TARGET_TOKEN_CALLS = 13;
const TOKEN_LIFETIME_S = 7200;
const TARGET_PEAK_RSS = 150 * 1_048_576;
const PARTS = ['receivers', 'dedup', 'tokens', 'history', 'outbox', 'hospital', 'outbox-node-red', 'metrics', 'watch', 'redis', 'outbox-redis'];

/**
 * The entries of bench/FINDINGS.md that a missed target links, by anchor. Only findings that are
 * still open belong here: a miss whose finding was fixed has a new cause, not explained yet.
 */
const FINDING = {
  historyPeakRss: '2026-11-23-history-peak-rss',
  dedupFreshRss: '2026-11-23-dedup-fresh-rss',
  hospitalFhirServer: FHIR_SERVER_FINDING,
};
const FINDINGS_FILE = path.join(ROOT, 'bench', 'FINDINGS.md');

let findingTitles;
/** `{ date, title }` of the FINDINGS.md entry with anchor `id` (`<a id="…"></a>` above `## date: title`). */
function finding(id) {
  if (!findingTitles) {
    findingTitles = new Map();
    const text = fs.existsSync(FINDINGS_FILE) ? fs.readFileSync(FINDINGS_FILE, 'utf8') : '';
    for (const match of text.matchAll(/^<a id="([^"]+)"><\/a>\n#+ (\d{4}-\d{2}-\d{2}): (.+)$/gm)) {
      findingTitles.set(match[1], { date: match[2], title: match[3].trim() });
    }
  }
  const entry = findingTitles.get(id);
  if (!entry) throw new Error(`bench/FINDINGS.md has no entry with <a id="${id}"></a> above a "## date: title" heading`);
  return entry;
}

/** The Markdown link to finding `id`, from RESULTS.md (beside FINDINGS.md). */
function findingLink(id) {
  const { date, title } = finding(id);
  return `[FINDINGS.md, ${date}: ${title}](FINDINGS.md#${id})`;
}

const ALL_TARGETS = ['floor', 'bare', 'receiver', 'manual'];
const ALL_LOADS = ['duplicate', 'unique'];

function parseArgs(argv, env = process.env) {
  const options = {
    only: PARTS, duration: 10, warmup: 1, slice: 1, connections: 50, types: undefined,
    targets: ALL_TARGETS, loads: ALL_LOADS, cpuProf: false, packageDir: undefined, quietWait: 30, out: undefined, quick: false,
    tokenQueries: 10_000, tokenDays: 2, burst: 1000, historyPoints: 1_000_000, historyLimits: [100, 6000],
    pushRate: 200, pushSeconds: 20,
  };
  if (env.BENCH_QUICK && env.BENCH_QUICK !== '0') {
    Object.assign(options, { duration: 2, warmup: 0.5, quietWait: 0, historyPoints: 100_000, pushSeconds: 1, quick: true });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const list = () => value().split(',').map((item) => item.trim()).filter(Boolean);
    switch (arg) {
      case '--only': options.only = list(); break;
      case '--duration': options.duration = Number(value()); break;
      case '--warmup': options.warmup = Number(value()); break;
      case '--slice': options.slice = Number(value()); break;
      case '--connections': options.connections = Number(value()); break;
      case '--types': options.types = list(); break;
      case '--targets': options.targets = list(); break;
      case '--loads': options.loads = list(); break;
      case '--token-queries': options.tokenQueries = Number(value()); break;
      case '--burst': options.burst = Number(value()); break;
      case '--history-points': options.historyPoints = Number(value()); break;
      case '--history-limits': options.historyLimits = list().map(Number); break;
      case '--push-rate': options.pushRate = Number(value()); break;
      case '--push-seconds': options.pushSeconds = Number(value()); break;
      case '--cpu-prof': options.cpuProf = true; break;
      case '--package': options.packageDir = path.resolve(value()); break;
      case '--out': options.out = value(); continue;
      case '--quiet-wait': options.quietWait = Number(value()); continue;
      default: throw new Error(`unknown option ${arg} (see the top of bench/run.mjs)`);
    }
    options.quick = true;
  }
  for (const part of options.only) if (!PARTS.includes(part)) throw new Error(`--only ${PARTS.join('|')} (comma-separated for several)`);
  for (const type of options.types ?? []) {
    if (!RECEIVERS.some((receiver) => receiver.type === type)) throw new Error(`--types: ${type} is no receiver of the registry (${RECEIVERS.map((r) => r.type).join(', ')})`);
  }
  for (const target of options.targets) if (!ALL_TARGETS.includes(target)) throw new Error(`unknown target ${target}`);
  for (const kind of options.loads) if (!ALL_LOADS.includes(kind)) throw new Error(`unknown load ${kind}`);
  for (const limit of options.historyLimits) if (!Number.isInteger(limit) || limit < 1 || limit > 6000) throw new Error('--history-limits: 1 to 6000 each');
  return options;
}

const log = (...parts) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

/**
 * Cores that other processes use, over `seconds`; waits (up to `maxWait` seconds) until that is
 * below `quiet`, since the machine may be shared with test runs.
 */
async function waitForQuiet(maxWait, quiet = 0.2, seconds = 3) {
  const started = Date.now();
  for (;;) {
    const before = cpuSnapshot([process.pid]);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const others = cpuUse(before, cpuSnapshot([process.pid]))?.others;
    if (others === undefined || others < quiet || (Date.now() - started) / 1000 >= maxWait) return others;
    log(`other processes use ${others.toFixed(2)} cores; waiting for quiet (up to ${maxWait} s)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Part 1: receivers

/** The registry's receivers (bench/lib/pushes.mjs), those of --types; a receiver not built or without a push is reported, not measured. */
function receiverTypes(options) {
  const packageDir = options.packageDir ?? ROOT;
  const included = [];
  const skipped = [];
  for (const { type, vendor, runtime } of RECEIVERS) {
    if (options.types && !options.types.includes(type)) continue;
    if (!fs.existsSync(path.join(packageDir, runtime))) skipped.push({ type, reason: `\`${runtime}\` does not exist (node not built)` });
    else if (!PUSHES[type]) skipped.push({ type, reason: `no push for it: write \`bench/lib/pushes/${vendor}.mjs\`` });
    else included.push(type);
  }
  return { included, skipped };
}

/**
 * A receiver with the editor's defaults (ack auto, dedup 72 h in memory, pii keep), as a user
 * drops it in, plus what its vendor needs (expeed-in: its account).
 */
function receiverNode(type, id, where) {
  return {
    id, type, name: '', path: where, ack: 'auto', ackTimeout: 4, maxBytes: 1048576,
    dedupHours: 72, dedupStore: '', allow: '', pii: 'keep', tz: 'Asia/Shanghai',
    ...PUSHES[type].properties,
    credentials: { key: '', piiKey: '' },
  };
}

/** The config nodes the receivers of `types` need, once each (config nodes have no x/y and no z). */
function configNodes(types) {
  const nodes = new Map();
  for (const type of types) for (const node of PUSHES[type].configNodes ?? []) nodes.set(node.id, node);
  return [...nodes.values()];
}

function benchFlow(types) {
  const tab = 'bench-tab';
  const nodes = [
    { id: tab, type: 'tab', label: 'benchmark' },
    { id: 'bare-in', z: tab, type: 'http in', name: '', url: '/bare', method: 'post', upload: false, swaggerDoc: '', wires: [['bare-out']] },
    { id: 'bare-out', z: tab, type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
  ];
  for (const type of types) {
    const { vendor, manual } = PUSHES[type];
    nodes.push(
      { ...receiverNode(type, `rx-${type}`, `/${type}`), z: tab, wires: [[], []] },
      { id: `manual-in-${vendor}`, z: tab, type: 'http in', name: '', url: `/manual-${vendor}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`manual-fn-${vendor}`]] },
      {
        id: `manual-fn-${vendor}`, z: tab, type: 'function', name: `${vendor} by hand`, func: manual, outputs: 2,
        timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [[`manual-out-${vendor}`], []],
      },
      { id: `manual-out-${vendor}`, z: tab, type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
    );
  }
  return [...placed(nodes), ...configNodes(types)];
}

function targetsOf(type) {
  const { vendor } = PUSHES[type];
  return {
    floor: { path: '/no-such-route', label: 'Express 404 floor (POST to a path no route has)' },
    bare: { path: '/bare', label: 'bare `http in` → `http response`' },
    receiver: { path: `/${type}`, label: `\`${type}\` (ack auto, dedup 72 h)` },
    manual: { path: `/manual-${vendor}`, label: '`http in` → `function` (validate + dedup by hand) → `http response`' },
  };
}

/**
 * Before the measured flow: a flow of its own in which the receiver's and the hand-written
 * function's reading outputs count what they emit, fed two duplicates and three readings of
 * which one is repeated. Both must emit exactly 3 pushes' worth (3 readings, 6 for Expeed's
 * two-point push): the two loads send what they claim to send
 * (a duplicate-heavy load really is answered from dedup, a unique one really emits).
 */
async function checkEmission(nodeRed, types) {
  const tab = 'check-tab';
  const counter = (id, name) => ({ id, z: tab, type: 'function', name, func: `flow.set(${JSON.stringify(name)}, (flow.get(${JSON.stringify(name)}) || 0) + 1);\nreturn null;`, outputs: 1, wires: [[]] });
  const nodes = [{ id: tab, type: 'tab', label: 'emission check' }];
  for (const type of types) {
    const { vendor, manual } = PUSHES[type];
    nodes.push(
      { ...receiverNode(type, `check-rx-${type}`, `/check/${type}`), z: tab, wires: [[`check-count-rx-${type}`], []] },
      counter(`check-count-rx-${type}`, `rx-${type}`),
      { id: `check-manual-in-${vendor}`, z: tab, type: 'http in', name: '', url: `/check/manual-${vendor}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`check-manual-fn-${vendor}`]] },
      { id: `check-manual-fn-${vendor}`, z: tab, type: 'function', name: '', func: manual, outputs: 2, libs: [], wires: [[`check-manual-out-${vendor}`], [`check-count-manual-${vendor}`]] },
      { id: `check-manual-out-${vendor}`, z: tab, type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
      counter(`check-count-manual-${vendor}`, `manual-${vendor}`),
    );
  }
  await nodeRed.deploy([...placed(nodes), ...configNodes(types)]);
  const failures = new Map();
  for (const type of types) {
    const push = PUSHES[type];
    try {
      for (const where of [`/check/${type}`, `/check/manual-${push.vendor}`]) {
        for (const body of [push.body, push.body, push.unique(1), push.unique(2), push.unique(2)]) {
          const response = await fetch(`${nodeRed.url}${where}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
          const text = await response.text();
          if (response.status !== 200) throw new Error(`POST ${where} answered ${response.status} ${text}`);
        }
      }
    } catch (error) {
      failures.set(type, error.message);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const type of types) {
    if (failures.has(type)) continue;
    for (const name of [`rx-${type}`, `manual-${PUSHES[type].vendor}`]) {
      const response = await fetch(`${nodeRed.url}/context/flow/${tab}/${name}`);
      const emitted = Number((await response.json()).msg);
      const expected = 3 * (PUSHES[type].readings ?? 1);
      if (emitted !== expected) failures.set(type, `${name} emitted ${emitted} readings for 3 distinct and 2 repeated pushes of ${PUSHES[type].readings ?? 1} each, expected ${expected}`);
    }
  }
  return failures;
}

/** One request per endpoint before loading it: a load of refusals would measure nothing. */
async function checkEndpoints(nodeRed, types) {
  const failures = new Map();
  for (const type of types) {
    const push = PUSHES[type];
    const targets = targetsOf(type);
    const post = async (where, body) => {
      const response = await fetch(`${nodeRed.url}${where}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      return { status: response.status, text: await response.text() };
    };
    const expectAccepted = async (where, body) => {
      const { status, text } = await post(where, body);
      if (status !== push.accepted.status || text !== JSON.stringify(push.accepted.body)) {
        throw new Error(`POST ${where} answered ${status} ${text}, expected ${push.accepted.status} ${JSON.stringify(push.accepted.body)}`);
      }
    };
    try {
      for (const body of [push.body, push.unique(0)]) {
        await expectAccepted(targets.receiver.path, body);
        await expectAccepted(targets.manual.path, body);
        const bare = await post(targets.bare.path, body);
        if (bare.status !== 200 || JSON.stringify(JSON.parse(bare.text)) !== body) throw new Error(`POST /bare answered ${bare.status} ${bare.text}`);
      }
      const floor = await post(targets.floor.path, push.body);
      if (floor.status !== 404) throw new Error(`POST ${targets.floor.path} answered ${floor.status}, expected 404`);
    } catch (error) {
      failures.set(type, error.message);
    }
  }
  return failures;
}

async function benchReceivers(options) {
  const { included: candidates, skipped } = receiverTypes(options);
  let included = candidates;
  const drop = (failures, what) => {
    for (const [type, reason] of failures) skipped.push({ type, reason: `${what} failed: ${reason.replaceAll('|', '\\|')}` });
    included = included.filter((type) => !failures.has(type));
  };
  const rows = [];
  if (included.length === 0) return { rows, skipped, included };
  let profileDir;
  const execArgv = [];
  if (options.cpuProf) {
    profileDir = path.join(ROOT, 'bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
    fs.mkdirSync(profileDir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', profileDir);
  }
  log(`starting Node-RED${options.cpuProf ? ' with --cpu-prof' : ''}`);
  const nodeRed = await NodeRed.start({ execArgv, packageDir: options.packageDir });
  try {
    drop(await checkEmission(nodeRed, included), 'the emission check (2 duplicates and 3 distinct pushes must emit 3 pushes\' readings)');
    log(`emission check: duplicates dropped, distinct readings emitted, by ${included.length ? included.join(', ') : 'none'} and their hand-written flows`);
    await nodeRed.deploy(benchFlow(included));
    drop(await checkEndpoints(nodeRed, included), 'the check of its answers before loading');
    for (const { type, reason } of skipped) log(`${type}: not measured: ${reason}`);
    log(`deployed: /bare and ${included.map((type) => `/${type}, /manual-${PUSHES[type].vendor}`).join(', ')}`);
    for (const type of included) {
      const push = PUSHES[type];
      const targets = targetsOf(type);
      // one counter per vendor, never reset: every unique request (warm-ups included) is a new reading
      let counter = 1;
      const nextBody = () => push.unique(counter++);
      const plan = [];
      if (options.targets.includes('floor')) plan.push(['floor', 'duplicate']);
      for (const kind of options.loads) for (const target of ['bare', 'receiver', 'manual']) if (options.targets.includes(target)) plan.push([target, kind]);
      log(`${type}: ${plan.length} targets, ${options.duration} s each in slices of ${options.slice} s, interleaved, after ${options.warmup} s of warm-up each`);
      const measured = await interleave(
        plan.map(([target, kind]) => ({
          name: `${target}/${kind}`,
          url: `${nodeRed.url}${targets[target].path}`,
          ...(kind === 'unique' ? { nextBody } : { body: push.body }),
        })),
        {
          connections: options.connections,
          seconds: options.duration,
          sliceSeconds: options.slice,
          warmup: options.warmup,
          pids: [process.pid, nodeRed.child.pid],
          onSlice: (name, round, result, cpu) =>
            log(`  round ${round + 1} ${name.padEnd(18)} ${String(Math.round(result.totalCompletedRequests / result.duration)).padStart(6)} req/s` +
              (cpu === undefined ? '' : `, Node-RED ${cpu.pids[1].toFixed(2)} cores, runner ${cpu.pids[0].toFixed(2)}, other processes ${cpu.others.toFixed(2)}`)),
        },
      );
      for (const [target, kind] of plan) {
        const result = measured.get(`${target}/${kind}`);
        rows.push({ type, vendor: push.vendor, bytes: Buffer.byteLength(push.body), target, kind, label: targets[target].label, path: targets[target].path, ...result });
        log(`${type} ${target}/${kind}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, 2xx ${result.statuses['2xx']}, errors ${result.errors}`);
      }
    }
  } finally {
    await nodeRed.stop();
  }
  const expected = /Projects disabled|Encrypted credentials not found/;
  const printed = nodeRed.log.split('\n').filter((line) => /\[(warn|error)\]/.test(line) && !expected.test(line));
  if (printed.length) {
    console.error(printed.join('\n'));
    NOTES.push(`- Node-RED printed during the run (warnings and errors; the first 10):\n\n  \`\`\`\n${printed.slice(0, 10).map((line) => `  ${line}`).join('\n')}\n  \`\`\``);
  }
  let profiles = [];
  if (profileDir) {
    profiles = fs.readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile')).map((file) => path.join(profileDir, file));
    for (const file of profiles) {
      const text = summarize(file, 30, options.packageDir ?? ROOT);
      fs.writeFileSync(`${file}.txt`, `${text}\n`);
      console.log(text);
    }
  }
  return { rows, skipped, included, profiles };
}

// ---------------------------------------------------------------------------------------------
// Part 2: dedup memory

/** Runs bench/lib/<script> in a node of its own and parses the one JSON line it prints. */
function runChild(script, args, { packageDir, execArgv = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, path.join(ROOT, 'bench', 'lib', script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...(packageDir && { HB_BENCH_PACKAGE: packageDir }) },
    });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${script} ${args.join(' ')} exited with ${code}`))));
  });
}

async function benchDedup(options) {
  const lib = path.join(options.packageDir ?? ROOT, 'dist', 'lib');
  const dist = [path.join(lib, 'dedup', 'index.js'), path.join(lib, 'dedup.js')].find((file) => fs.existsSync(file)) ?? path.join(lib, 'dedup');
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: npm run build first`);
  const dedupChild = (args) => runChild('dedup-child.mjs', args, { packageDir: options.packageDir, execArgv: ['--expose-gc'] });
  log(`dedup: memory of ${DEDUP_KEYS} keys (a fresh process)`);
  const cold = await dedupChild(['memory', String(DEDUP_KEYS)]);
  log(`dedup: memory of ${DEDUP_KEYS} keys (a process that did the same work once)`);
  const warm = await dedupChild(['memory-warm', String(DEDUP_KEYS)]);
  log('dedup: lookups at 10k, 100k, 1M keys');
  const lookup = await dedupChild(['lookup', String(DEDUP_KEYS)]);
  return { cold, warm, lookup };
}

// ---------------------------------------------------------------------------------------------
// Parts 3 and 4: the Expeed API nodes against the emulator

const requireCjs = createRequire(import.meta.url);

/** The Expeed emulator of this checkout (dist/sandbox), on a port the OS picks. */
function startExpeedCloud(options) {
  const { ExpeedCloud } = requireCjs(path.join(ROOT, 'dist', 'sandbox', 'expeed-cloud.js'));
  return ExpeedCloud.start({ ...KEYS, devices: [DEVICE], ...options });
}

/** Node-RED's warnings and errors other than the two every fresh user directory prints. */
function nodeRedProblems(nodeRed) {
  const expected = /Projects disabled|Encrypted credentials not found/;
  return nodeRed.log.split('\n').filter((line) => /\[(warn|error)\]/.test(line) && !expected.test(line));
}

async function benchTokens(options) {
  log(`tokens: ${options.tokenQueries} queries a simulated day for ${options.tokenDays} days (ExpeedAccount and the emulator on one simulated clock)`);
  const simulated = await runChild('token-child.mjs', [String(options.tokenQueries), String(options.tokenDays), String(TOKEN_LIFETIME_S)], {
    packageDir: options.packageDir,
  });
  for (const day of simulated.days) log(`tokens: ${day.day}: ${day.queries} queries, ${day.tokenCalls} token calls, ${day.expiredAnswers} expired answers`);
  log(`tokens: ${options.burst} expeed-query messages at once in Node-RED`);
  const cloud = await startExpeedCloud({ tokenLifetimeSeconds: TOKEN_LIFETIME_S });
  let nodeRed;
  let concurrent;
  try {
    nodeRed = await NodeRed.start({ packageDir: options.packageDir });
    concurrent = await burst(nodeRed, cloud, { count: options.burst, timeoutMs: 120_000 });
  } finally {
    await nodeRed?.stop();
    await cloud.close();
  }
  log(`tokens: ${concurrent.answers} answers, ${concurrent.errors} errors, ${concurrent.tokenCalls} token calls, ${concurrent.statusCalls} status calls`);
  const problems = nodeRedProblems(nodeRed);
  if (problems.length) NOTES.push(`- Node-RED printed during the token burst:\n\n  \`\`\`\n${problems.slice(0, 10).map((line) => `  ${line}`).join('\n')}\n  \`\`\``);
  return { simulated, concurrent };
}

/** Node-RED's RSS once it has started and settled, with `packageDir` linked in (no flows). */
async function idleRss(packageDir) {
  const nodeRed = await NodeRed.start({ packageDir });
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return procStatus(nodeRed.child.pid).rss;
  } finally {
    await nodeRed.stop();
  }
}

async function benchHistory(options) {
  // the floor: a Node-RED with a package that has no nodes, beside one with this package
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-empty-package-'));
  fs.writeFileSync(path.join(empty, 'package.json'), JSON.stringify({ name: '@health-bridge/node-red-nodes', version: '0.0.0', 'node-red': { nodes: {} } }));
  let idle;
  try {
    log('history: idle RSS of a Node-RED without our nodes and of one with them');
    idle = { bare: await idleRss(empty), withPackage: await idleRss(options.packageDir) };
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
  const rows = [];
  for (const limit of options.historyLimits) {
    log(`history: ${options.historyPoints} points, limit ${limit}, allPages, in a fresh Node-RED`);
    const cloud = await startExpeedCloud({ seriesLength: options.historyPoints });
    let nodeRed;
    try {
      nodeRed = await NodeRed.start({ packageDir: options.packageDir, execArgv: ['--expose-gc'], settings: MEMORY_SETTINGS });
      const row = await history(nodeRed, cloud, { limit, timeoutMs: 300_000 }).catch((error) => ({ limit, failed: error.message }));
      rows.push(row);
      if (row.failed) {
        log(`history: limit ${limit}: failed: ${row.failed}`);
        continue;
      }
      log(`history: limit ${limit}: ${row.points} points in ${row.pages} pages, ${fmt(row.seconds, 1)} s, ${fmt(row.pointsPerSecond)} points/s, ` +
        `complete ${row.complete}, peak RSS ${mib(row.peakRss)} (before ${mib(row.rssBefore)})`);
    } finally {
      await nodeRed?.stop();
      await cloud.close();
    }
    const problems = nodeRedProblems(nodeRed);
    if (problems.length) NOTES.push(`- Node-RED printed during the history read (limit ${limit}):\n\n  \`\`\`\n${problems.slice(0, 10).map((line) => `  ${line}`).join('\n')}\n  \`\`\``);
  }
  return { idle, rows, points: options.historyPoints };
}

// ---------------------------------------------------------------------------------------------
// Part 5: the hospital half (bench/lib/hospital.mjs)

async function benchHospitalPart(options) {
  log('hospital: health-fhir and health-hl7 alone, then pushes into a FHIR server, in a fresh Node-RED');
  const nodeRed = await NodeRed.start({ packageDir: options.packageDir });
  let part;
  try {
    part = await benchHospital(nodeRed, { ...options, log });
  } finally {
    await nodeRed.stop();
  }
  const problems = nodeRedProblems(nodeRed);
  if (problems.length) NOTES.push(`- Node-RED printed during the hospital part:\n\n  \`\`\`\n${problems.slice(0, 10).map((line) => `  ${line}`).join('\n')}\n  \`\`\``);
  return part;
}

// ---------------------------------------------------------------------------------------------
// RESULTS.md

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const mib = (bytes) => `${fmt(bytes / 1_048_576, 1)} MiB`;
const mean = (values) => {
  const known = values.filter((value) => value !== undefined);
  return known.length ? known.reduce((sum, value) => sum + value, 0) / known.length : undefined;
};
const verdict = (ok) => (ok ? '**PASS**' : '**MISS**');

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function perRound(numerator, denominator) {
  const ratios = numerator.slices.map((value, i) => value / denominator.slices[i]).filter(Number.isFinite);
  return ratios.length > 1 ? ` (per round ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})` : '';
}

function receiversMarkdown(part, options) {
  const lines = ['## 1. Receivers under load', ''];
  lines.push(
    `autocannon, ${options.connections} connections, POST with \`content-type: application/json\`. Every target of a vendor is ` +
      `measured for ${options.duration} s in all, in slices of ${options.slice} s taken in turns (the order rotating each round) after ` +
      `${options.warmup} s of unmeasured load on each, all on the same Node-RED in this run, so that whatever else the machine ` +
      'does falls on every target alike; req/s is all requests of a target over all its seconds, and the latencies come from ' +
      'all its slices together. autocannon runs in the runner process on the same machine: Node-RED has one core, the load ' +
      'generator the other.',
    '',
    '- *duplicate*: the same push on every request, a retry storm: the receiver answers from its dedup memory and emits nothing.',
    '- *unique*: a new reading on every request (the vendor key counts up): every push is validated, normalized, remembered and emitted.',
    '- Every flow of a vendor gets bodies of one size. The bare flow answers with the body it received (what `http response` ' +
      'does with `msg.payload`); the receiver and the hand-written flow answer with the vendor\'s small envelope. Their ' +
      'outputs are left unwired.',
    '- *CPU*: cores used meanwhile (from /proc, the mean over the target\'s slices) by Node-RED, and by all processes other ' +
      'than Node-RED and the runner: Node-RED near 1.00 means it was the bottleneck, others near 0 that nothing else on the ' +
      'machine took from it.',
    '- *per round*: the lowest and highest ratio of one round\'s slices, a measure of the noise.',
    '',
  );
  for (const { type, reason } of part.skipped) lines.push(`- \`${type}\`: not measured: ${reason}.`);
  if (part.skipped.length) lines.push('');
  const checks = [];
  for (const type of part.included) {
    const rows = part.rows.filter((row) => row.type === type);
    if (!rows.length) continue;
    const find = (target, kind) => rows.find((row) => row.target === target && row.kind === kind);
    lines.push(`### \`${type}\` (${rows[0].bytes}-byte body)`, '', `The push: ${PUSHES[type].describe}.`, '');
    lines.push('| load | flow | req/s | p50 ms | p99 ms | max ms | non-2xx | errors | CPU Node-RED / others | ÷ bare | ÷ 404 floor |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const floor = find('floor', 'duplicate');
    for (const row of rows) {
      const bare = find('bare', row.kind);
      const non2xx = row.total - row.statuses['2xx'];
      const ratioBare = row.target !== 'bare' && row.target !== 'floor' && bare ? `${fmt(row.rps / bare.rps, 2)}${perRound(row, bare)}` : '';
      const ratioFloor = row.target !== 'floor' && floor ? fmt(row.rps / floor.rps, 2) : '';
      lines.push(
        `| ${row.target === 'floor' ? '(either)' : row.kind} | ${row.label} | ${fmt(row.rps)} | ${row.p50} | ${row.p99} | ${row.max} | ` +
          `${fmt(non2xx)}${row.target === 'floor' ? ' (404s, expected)' : ''} | ${row.errors + row.timeouts} | ${fmt(row.pidCores?.[1], 2)} / ${fmt(row.otherCores, 2)} | ${ratioBare} | ${ratioFloor} |`,
      );
    }
    lines.push('');
    for (const kind of options.loads) {
      const receiver = find('receiver', kind);
      const bare = find('bare', kind);
      const manual = find('manual', kind);
      if (receiver && bare) {
        const ratio = receiver.rps / bare.rps;
        checks.push({
          what: `\`${type}\`, ${kind}: req/s ÷ bare ≥ ${TARGET_RATIO} (aim ${AIM_RATIO})`,
          figure: `${fmt(ratio, 2)}${ratio >= TARGET_RATIO && ratio < AIM_RATIO ? ` (below the aim of ${AIM_RATIO})` : ''}`,
          ratio: ratio / TARGET_RATIO,
          ok: ratio >= TARGET_RATIO,
          type, kind,
        });
      }
      if (receiver) {
        checks.push({
          what: `\`${type}\`, ${kind}: p99 < ${TARGET_P99_MS} ms at ${options.connections} connections`, figure: `${receiver.p99} ms`,
          ratio: receiver.p99 / TARGET_P99_MS, ok: receiver.p99 < TARGET_P99_MS, type, kind,
        });
        const failed = receiver.total - receiver.statuses['2xx'] + receiver.errors + receiver.timeouts;
        checks.push({
          what: `\`${type}\`, ${kind}: every request answered 2xx`, figure: `${fmt(failed)} not`, ok: failed === 0, type, kind,
          measured: `${fmt(receiver.total - receiver.statuses['2xx'])} answers not 2xx, ${fmt(receiver.errors)} errors, ${fmt(receiver.timeouts)} timeouts`,
        });
      }
      if (receiver && manual) {
        lines.push(`- ${kind}: \`${type}\` ÷ the hand-written flow = **${fmt(receiver.rps / manual.rps, 2)}**${perRound(receiver, manual)}; hand-written ÷ bare = ${bare ? fmt(manual.rps / bare.rps, 2) : '–'}`);
      }
    }
    const bareDup = find('bare', 'duplicate');
    if (bareDup && floor) lines.push(`- bare flow ÷ Express 404 floor (duplicate bodies) = **${fmt(bareDup.rps / floor.rps, 2)}**${perRound(bareDup, floor)}`);
    lines.push('');
  }
  return { lines, checks };
}

function dedupMarkdown(part) {
  const { cold, warm, lookup } = part;
  const lines = ['## 2. Dedup memory (`DedupMemory`, dist/lib/dedup/memory.js)', ''];
  lines.push(
    `A process of its own (\`node --expose-gc bench/lib/dedup-child.mjs\`): one \`DedupMemory\` with maxKeys ${fmt(DEDUP_KEYS)} and a 72 h ` +
      `window remembers ${fmt(DEDUP_KEYS)} distinct Sinocare testIds (15 digits; every key is kept as a 16-byte digest whatever its ` +
      'length, so a 64-hex Lezhi key costs the same). Heap and RSS are read after full collections before and after. *Fresh*: ' +
      'a new process; *warm*: a process that had remembered as many other keys once and dropped them before the "before" reading, ' +
      'as a Node-RED that has been receiving for a while has already grown its young generation and its allocator.',
    '',
    '| process | keys | heapUsed before → after | Δ heapUsed / key | RSS before → after | Δ RSS / key | of which V8 young generation / key | remember() |',
    '|---|---:|---|---:|---|---:|---:|---:|',
  );
  for (const [name, m] of [['fresh', cold], ['warm', warm]]) {
    lines.push(
      `| ${name} | ${fmt(m.keys)} | ${mib(m.before.heapUsed)} → ${mib(m.after.heapUsed)} | **${fmt(m.heapPerKey, 1)} B** | ${mib(m.before.rss)} → ${mib(m.after.rss)} | **${fmt(m.rssPerKey, 1)} B** | ${fmt(m.newSpacePerKey, 1)} B | ${fmt(m.rememberNs / 1000, 2)} µs |`,
    );
  }
  lines.push(
    '',
    `Lookups: one \`DedupMemory\` per size, all alive at once, timed in ${lookup.batches} batches of ${fmt(lookup.sample)} calls taken in turns ` +
      '(keys spread over the whole map); each figure is the median batch, in ns per call. Beside `has()`: the same lookup on a ' +
      'bare `Map` of as many digests (`map.has(sha256(key))`), the SHA-256 alone, and the bare `Map.has` with the digests ready.',
    '',
    '| keys remembered | `has()`, present key | `has()`, absent key | bare Map: `has(sha256(key))` | SHA-256 alone | bare `Map.has` alone | `has()` − bare Map |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of lookup.rows) {
    lines.push(`| ${fmt(row.size)} | ${fmt(row.presentNs)} | ${fmt(row.absentNs)} | ${fmt(row.plainNs)} | ${fmt(row.digestNs)} | ${fmt(row.plainMapOnlyNs)} | ${fmt(row.presentNs - row.plainNs)} |`);
  }
  lines.push('');
  const first = lookup.rows[0];
  const last = lookup.rows[lookup.rows.length - 1];
  const growth = last.presentNs / first.presentNs;
  const mapGrowth = last.plainNs / first.plainNs;
  const outsideHeap = (m) => m.rssPerKey - m.heapTotalPerKey;
  lines.push(
    `From ${fmt(first.size)} to ${fmt(last.size)} keys (${fmt(last.size / first.size)}×) \`has()\` grows ${fmt(growth, 2)}× and a bare \`Map\` doing the same ` +
      `work ${fmt(mapGrowth, 2)}×; the bare \`Map.has\` alone, digests ready, goes from ${fmt(first.plainMapOnlyNs)} to ${fmt(last.plainMapOnlyNs)} ns, ` +
      `the SHA-256 alone from ${fmt(first.digestNs)} to ${fmt(last.digestNs)} ns. A scan would grow ${fmt(last.size / first.size)}×.`,
    '',
    `Where the fresh process's ${fmt(cold.rssPerKey, 1)} B of RSS per key went: ${fmt(cold.newSpacePerKey, 1)} B is V8's young generation, ` +
      `which grew from ${mib(cold.before.newSpace)} to ${mib(cold.after.newSpace)}; ${fmt(outsideHeap(cold), 1)} B is outside the V8 heap ` +
      `(RSS − heapTotal); ${fmt(cold.heapTotalPerKey - cold.newSpacePerKey, 1)} B is the rest of the V8 heap. In the warm process ` +
      `${fmt(outsideHeap(warm), 1)} B of its ${fmt(warm.rssPerKey, 1)} B per key is outside the V8 heap.`,
    '',
  );
  const checks = [
    { what: `heap per remembered key ≤ ${TARGET_BYTES_PER_KEY} B (${fmt(DEDUP_KEYS)} keys)`, figure: `${fmt(cold.heapPerKey, 1)} B`, ratio: cold.heapPerKey / TARGET_BYTES_PER_KEY, ok: cold.heapPerKey <= TARGET_BYTES_PER_KEY },
    { what: `RSS per remembered key ≤ ${TARGET_BYTES_PER_KEY} B, warm process`, figure: `${fmt(warm.rssPerKey, 1)} B`, ratio: warm.rssPerKey / TARGET_BYTES_PER_KEY, ok: warm.rssPerKey <= TARGET_BYTES_PER_KEY },
    {
      what: `RSS per remembered key ≤ ${TARGET_BYTES_PER_KEY} B, fresh process`,
      figure: `${fmt(cold.rssPerKey, 1)} B`,
      ratio: cold.rssPerKey / TARGET_BYTES_PER_KEY,
      ok: cold.rssPerKey <= TARGET_BYTES_PER_KEY,
      measured: `Where it went is in section 2; the warm process adds ${fmt(warm.rssPerKey, 1)} B per key`,
      // the finding explains a fresh process's excess by one-off growth, which the warm process has paid
      ...(warm.rssPerKey <= TARGET_BYTES_PER_KEY
        ? { finding: FINDING.dedupFreshRss }
        : { hint: `the warm process misses too, which ${findingLink(FINDING.dedupFreshRss)} does not cover` }),
    },
    {
      what: `lookups O(1): from ${fmt(first.size)} to ${fmt(last.size)} keys \`has()\` grows no more than a bare \`Map.has(sha256(key))\` (+10 %)`,
      figure: `${fmt(growth, 2)}× vs ${fmt(mapGrowth, 2)}×`,
      ratio: growth / mapGrowth,
      ok: growth <= mapGrowth * 1.1,
      hint: 'profile it with `node --cpu-prof --expose-gc bench/lib/dedup-child.mjs lookup`',
    },
  ];
  return { lines, checks };
}

function tokensMarkdown(part) {
  const { simulated, concurrent } = part;
  const lines = ['## 3. Token economy (`expeed-account`, dist/lib/vendors/expeed/account.js)', ''];
  lines.push(
    `**Simulated days.** A process of its own (\`bench/lib/token-child.mjs\`) runs the package's \`ExpeedAccount\` (the class ` +
      'behind every `expeed-account`: each `expeed-query`, `expeed-token` and `expeed-set` of the account asks it for the token) ' +
      'against the Expeed emulator (dist/sandbox/expeed-cloud.js, written from the vendor document) over real HTTP on ' +
      '127.0.0.1, with a state file as an `expeed-account` keeps in the user directory. Only the clock is simulated: ' +
      '`Date.now` is replaced in that process before either is loaded, so the emulator issues tokens with ' +
      `\`expires_in\` ${fmt(simulated.lifetimeSeconds)} s, refuses expired ones (\`result_code 1\`) and counts token calls per ` +
      'day (its day, UTC+8) by simulated time, and the account gets the same clock through its `now` option. Each day ' +
      `${fmt(simulated.queriesPerDay)} device-status queries (the cheapest call; the token does not depend on which API is called) ` +
      'go out in bursts of 1 to 10 sent at once, at seeded-random instants (the same every run); the clock stands still while ' +
      'a burst is answered. The first day starts at 00:00 without a token and has a restart at 12:00 (a new account reading ' +
      'the same state file, as a Node-RED restart or redeploy does); the second day starts with the token the first left.',
    '',
    '| simulated day (Asia/Shanghai) | queries | token calls (counted by the emulator) | the account\'s own count | answers `result_code 1` (expired token) | token calls at (simulated time) |',
    '|---|---:|---:|---:|---:|---|',
  );
  for (const day of simulated.days) {
    const note = day === simulated.days[0] ? ' (no token at 00:00; restart at ' + (day.restartAt ?? '–') + ')' : ' (token from the day before)';
    lines.push(
      `| ${day.day}${note} | ${fmt(day.queries)} | **${fmt(day.tokenCalls)}** | ${fmt(day.accountCount)} | ${fmt(day.expiredAnswers)} | ` +
        `${day.tokensAt.map((call) => call.time + (call.calls > 1 ? ` (×${call.calls})` : '')).join(', ')} |`,
    );
  }
  lines.push(
    '',
    `A token is replaced ${fmt(simulated.refreshMarginSeconds)} s before \`expires_in\` runs out (a tenth of its life, at most ` +
      `5 minutes), so one token serves ${fmt(simulated.lifetimeSeconds - simulated.refreshMarginSeconds)} s and a day can need at ` +
      `most ⌈86,400 / ${fmt(simulated.lifetimeSeconds - simulated.refreshMarginSeconds)}⌉ = **${simulated.boundPerDay}** calls, ` +
      'whatever the number of queries: the count above is that bound when the day starts without a token, one fewer when ' +
      `the day before left one. ${simulated.failures ? `**${fmt(simulated.failures)} queries failed** (first: ${simulated.firstFailure}).` : 'No query failed.'} ` +
      `(${fmt(simulated.realSeconds, 1)} s of real time.)`,
    '',
    `**In Node-RED.** A real Node-RED with this package, one \`expeed-account\` on the emulator (real clock, \`expires_in\` ` +
      `${fmt(TOKEN_LIFETIME_S)} s) and one \`expeed-query\` (status): one function node sends ${fmt(concurrent.count)} messages ` +
      'into it at once, before any token exists; a function node counts the answers, a Catch node the errors.',
    '',
    '| messages | answered | errors | token calls | status calls | time |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${fmt(concurrent.count)} | ${fmt(concurrent.answers)} | ${fmt(concurrent.errors)}${concurrent.firstError ? ` (${concurrent.firstError})` : ''} | ` +
      `**${fmt(concurrent.tokenCalls)}** | ${fmt(concurrent.statusCalls)} | ${fmt(concurrent.seconds, 2)} s |`,
    '',
  );
  const worst = Math.max(...simulated.days.map((day) => day.tokenCalls));
  const checks = [
    {
      what: `token calls per day ≤ ${TARGET_TOKEN_CALLS} at expires_in ${fmt(TOKEN_LIFETIME_S)} (${fmt(simulated.queriesPerDay)} queries a day, the worse day)`,
      figure: `${fmt(worst)} calls/day`,
      ratio: worst / TARGET_TOKEN_CALLS,
      ok: worst <= TARGET_TOKEN_CALLS && simulated.failures === 0,
      measured: simulated.failures
        ? `${fmt(simulated.failures)} queries failed, the first with: ${simulated.firstFailure}.`
        : `The emulator counted ${fmt(worst)} token calls on the worse day, where the refresh rule allows ${simulated.boundPerDay}; their times are in section 3.`,
    },
    {
      what: `${fmt(concurrent.count)} concurrent \`expeed-query\` messages in Node-RED cost 1 token call, all answered`,
      figure: `${fmt(concurrent.tokenCalls)} call${concurrent.tokenCalls === 1 ? '' : 's'}, ${fmt(concurrent.answers)} answered`,
      ratio: concurrent.tokenCalls,
      ok: concurrent.tokenCalls === 1 && concurrent.answers === concurrent.count && concurrent.errors === 0,
      measured: concurrent.errors
        ? `${fmt(concurrent.errors)} errors, the first: ${concurrent.firstError}.`
        : `${fmt(concurrent.tokenCalls)} token calls for ${fmt(concurrent.count)} messages sent at once, ${fmt(concurrent.answers)} answered.`,
    },
  ];
  return { lines, checks };
}

function historyMarkdown(part) {
  const { idle, rows, points } = part;
  const lines = ['## 4. `expeed-query` history with `allPages` (dist/nodes/expeed-query.js)', ''];
  lines.push(
    `The emulator serves one device's history of ${fmt(points)} points (one a minute, each \`{timestamp, temp, value1}\` with ` +
      '`value1` its index in the series). For each page size a fresh Node-RED gets an inject node → `expeed-query` (operation ' +
      '`history`, `allPages`, `ids: all`, `first: 0`, newest first) → a function node that counts the pages and points and ' +
      'checks that `msg.page.index` counts up from 0, that every point continues the series where the previous one ended ' +
      '(across page borders too), and that only the final page says `last`. Points/s: points over the time from the inject to ' +
      'the last page at the function node. *Peak RSS*: Node-RED\'s VmHWM from /proc, reset (clear_refs) just before the read, ' +
      'so it is the read\'s peak, not the start-up\'s. *Heap in use*: `heapUsed` after two full collections (Node-RED runs ' +
      'with `--expose-gc`; a GET endpoint of the flow collects and answers `process.memoryUsage()`, before and after the read, ' +
      'never during it). `limit` 100 is the node\'s default, 6000 the largest page the vendor allows.',
    '',
    '| `limit` | pages | points arrived | complete and in order | time | points/s | RSS before | **peak RSS** | peak − before | RSS after | heap in use before → after the read | token calls |',
    '|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|',
  );
  for (const row of rows.filter((r) => r.failed)) {
    lines.push(`| ${fmt(row.limit)} | the read failed: ${row.failed.split('\n')[0].replaceAll('|', '\\|')} |||||||||||`);
  }
  for (const row of rows.filter((r) => !r.failed)) {
    const order = row.complete && row.problems === 0 && row.errors === 0
      ? 'yes'
      : `**no**: ${row.problems} problems${row.firstProblem ? ` (first: ${row.firstProblem})` : ''}${row.errors ? `, ${row.errors} errors (${row.firstError})` : ''}`;
    const live = row.liveBefore && row.liveAfter ? `${mib(row.liveBefore.heapUsed)} → ${mib(row.liveAfter.heapUsed)}` : '–';
    lines.push(
      `| ${fmt(row.limit)} | ${fmt(row.pages)} | ${fmt(row.points)} | ${order} | ${fmt(row.seconds, 1)} s | **${fmt(row.pointsPerSecond)}** | ` +
        `${mib(row.rssBefore)} | **${mib(row.peakRss)}** | ${mib(row.peakRss - row.rssBefore)} | ${mib(row.rssAfter)} | ${live} | ${fmt(row.tokenCalls)} |`,
    );
  }
  lines.push(
    '',
    `For scale: Node-RED ${nodeRedVersion()} on this Node, started and settled with no flows, has an RSS of ` +
      `**${mib(idle.bare)}** with a package that has no nodes and **${mib(idle.withPackage)}** with this package (its modules, ` +
      `zod, undici); the target of ${mib(TARGET_PEAK_RSS)} leaves ${mib(TARGET_PEAK_RSS - idle.withPackage)} above that for the flow and the read.`,
    '',
  );
  const checks = [];
  for (const row of rows) {
    if (row.failed) {
      checks.push({ what: `history of ${fmt(points)} points, \`limit\` ${fmt(row.limit)}: the read completes`, figure: 'failed', ok: false, measured: `The read failed: ${row.failed.split('\n')[0]}` });
      continue;
    }
    checks.push({
      what: `history of ${fmt(points)} points, \`limit\` ${fmt(row.limit)}: peak RSS < ${mib(TARGET_PEAK_RSS)}`,
      figure: `${mib(row.peakRss)} (${fmt(row.pointsPerSecond)} points/s)`,
      ratio: row.peakRss / TARGET_PEAK_RSS,
      ok: row.peakRss < TARGET_PEAK_RSS,
      ...historyContext(row, idle),
    });
    checks.push({
      what: `history of ${fmt(points)} points, \`limit\` ${fmt(row.limit)}: every point arrives, complete and in order`,
      figure: `${fmt(row.points)} points, ${fmt(row.pages)} pages, ${row.problems} out of order, ${row.errors} errors`,
      ok: row.complete && row.problems === 0 && row.errors === 0,
      measured: row.firstError ?? row.firstProblem ?? 'The last page did not arrive, or the series did not end at its oldest point.',
    });
  }
  return { lines, checks };
}

/**
 * What this run measured around a history read's peak RSS, for the line of a missed target: the
 * RSS before the read, and the heap in use after two full collections. The finding it links holds
 * only while the read leaves the heap as it found it (within 10 MiB).
 */
function historyContext(row, idle) {
  const held = row.liveBefore && row.liveAfter ? row.liveAfter.heapUsed - row.liveBefore.heapUsed : undefined;
  const parts = [
    `Node-RED with this package has ${mib(idle.withPackage)} of RSS before any flow runs (${mib(idle.bare)} without ` +
      `it) and ${mib(row.rssBefore)} once this flow is deployed, which leaves the read ${mib(TARGET_PEAK_RSS - row.rssBefore)}; ` +
      `it added ${mib(row.peakRss - row.rssBefore)} at its peak.`,
  ];
  if (held === undefined) return { measured: parts.join(' ') };
  parts.push(
    `After two full collections the heap in use is ${mib(row.liveAfter.heapUsed)}, ` +
      `${held >= 0 ? `${mib(held)} more` : `${mib(-held)} less`} than before the read.`,
  );
  if (held < 10 * 1_048_576) return { measured: parts.join(' '), finding: FINDING.historyPeakRss };
  parts.push(`That is more than the 10 MiB within which ${findingLink(FINDING.historyPeakRss)} holds.`);
  return { measured: parts.join(' '), hint: 'take a heap snapshot of Node-RED after the read' };
}

function targetsMarkdown(checks) {
  const lines = [
    '## Targets',
    '',
    '*÷ target*: the figure divided by the target\'s bound (for "÷ bare ≥ 0.9", the ratio ÷ 0.9): at most 1 passes a bound from ' +
      'above (p99, bytes, calls, RSS), at least 1 one from below (the receiver ratios); for the lookups, `has()`\'s growth ÷ the ' +
      'bare `Map`\'s (1.10 allowed).',
    '',
    '| target | figure | ÷ target | result |',
    '|---|---|---:|---|',
  ];
  for (const check of checks) lines.push(`| ${check.what} | ${check.figure} | ${check.ratio === undefined ? '–' : fmt(check.ratio, 2)} | ${verdict(check.ok)} |`);
  lines.push('');
  const misses = checks.filter((check) => !check.ok);
  if (misses.length) {
    lines.push('### Missed targets', '');
    const sentence = (text) => (/[.!?:]$/.test(text) ? text : `${text}.`);
    for (const miss of misses) {
      const hint = miss.hint ?? (miss.type
        ? `profile it with \`node bench/run.mjs --only receivers --types ${miss.type} --targets receiver --loads ${miss.kind} --cpu-prof\``
        : undefined);
      const why = miss.finding ? `See ${findingLink(miss.finding)}.` : `Not explained yet (no finding in FINDINGS.md covers it)${hint ? `: ${hint}` : ''}.`;
      lines.push(`- ${miss.what}: ${sentence(miss.figure)}${miss.measured ? ` ${sentence(miss.measured)}` : ''} ${why}`);
    }
    lines.push('');
  }
  return lines;
}

function markdown({ options, meta, receivers, dedup, tokens, history: historyPart, outbox, hospital, outboxNodeRed, metrics, watch, redis, outboxRedis }) {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.mjs) on ${meta.date}: what this run measured. What profiling found about the ` +
      'causes, and why a target is missed, is in [FINDINGS.md](FINDINGS.md), dated.',
    '',
    '| | |',
    '|---|---|',
    `| Node | ${process.version} |`,
    `| Node-RED | ${meta.nodeRed} |`,
    `| machine | ${meta.cores} cores (\`os.cpus().length\`), ${meta.cpuModel}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB |`,
    `| load generator | autocannon ${meta.autocannon}, in the runner's process |`,
    options.packageDir
      ? `| package | loaded from ${options.packageDir} (an experiment, not this checkout) |`
      : `| package | commit ${meta.commit || 'unknown'}${meta.dirty ? ' with uncommitted changes in the work tree' : ''}; dist/ as built by \`npm run build\` |`,
    `| 1-minute load average at start / end | ${fmt(meta.loadStart, 2)} / ${fmt(meta.loadEnd, 2)} |`,
    `| CPU of other processes | ${fmt(meta.othersAtStart, 2)} cores just before the run${receivers?.rows.length ? `, ${fmt(mean(receivers.rows.map((row) => row.otherCores)), 2)} on average during the loads (max ${fmt(Math.max(...receivers.rows.map((row) => row.otherCoresMax ?? 0)), 2)} in one slice)` : ''} |`,
    `| run time | ${fmt(meta.seconds)} s |`,
    '',
  ];
  const checks = [];
  if (receivers) {
    const part = receiversMarkdown(receivers, options);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (dedup) {
    const part = dedupMarkdown(dedup);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (tokens) {
    const part = tokensMarkdown(tokens);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (historyPart) {
    const part = historyMarkdown(historyPart);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (outbox) {
    // part 5, the outbox's storage: bench/lib/outbox.mjs
    const part = outboxMarkdown(outbox);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (hospital) {
    // part 6, the hospital side: bench/lib/hospital.mjs
    const part = hospitalMarkdown(hospital, { fmt });
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (outboxNodeRed) {
    // part 7, health-outbox in Node-RED: bench/lib/outbox-node-red.mjs
    const part = outboxNodeRedMarkdown(outboxNodeRed, { fmt });
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (metrics) {
    // part 8, what health-metrics costs the receivers: bench/lib/metrics.mjs
    const part = metricsMarkdown(metrics, { fmt });
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (watch) {
    // part 9, health-watch's library: bench/lib/watch.mjs
    const part = watchMarkdown(watch);
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (redis) {
    // part 10, receivers with dedup on Redis beside memory: bench/lib/redis.mjs
    const part = redisMarkdown(redis, { fmt });
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  if (outboxRedis) {
    // part 11, outbox enqueue on Redis beside the file outbox: bench/lib/outbox-redis.mjs
    const part = outboxRedisMarkdown(outboxRedis, { fmt });
    lines.push(...part.lines);
    checks.push(...part.checks);
  }
  const missing = PARTS.filter((name) => !options.only.includes(name));
  if (missing.length) lines.push(`Not measured in this run (\`--only\`): ${missing.join(', ')}.`, '');
  else {
    checks.push({
      what: 'the whole benchmark (`node bench/run.mjs`, after `npm run build`) finishes in under 10 minutes',
      figure: `${fmt(meta.seconds)} s on ${meta.cores} cores`,
      ratio: meta.seconds / 600,
      ok: meta.seconds < 600,
      measured: `Other processes used ${fmt(meta.othersAtStart, 2)} cores just before the run (see the table at the top).`,
    });
  }
  lines.push(...targetsMarkdown(checks));
  if (NOTES.length) lines.push('## Notes', '', ...NOTES, '');
  return lines.join('\n');
}

/** What Node-RED printed during this run (warnings and errors), filled in by the parts. */
const NOTES = [];

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // before measuring, not after ten minutes of it: every finding a missed target may link exists
  for (const id of Object.values(FINDING)) finding(id);
  const started = Date.now();
  const meta = {
    date: new Date().toISOString(),
    nodeRed: nodeRedVersion(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown CPU',
    autocannon: JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain']) !== '',
    loadStart: os.loadavg()[0],
  };
  log(`Node ${process.version}, Node-RED ${meta.nodeRed}, ${meta.cores} cores, load average ${meta.loadStart.toFixed(2)}`);
  meta.othersAtStart = await waitForQuiet(options.quietWait);
  const wanted = (part) => options.only.includes(part);
  const receivers = wanted('receivers') ? await benchReceivers(options) : undefined;
  const dedup = wanted('dedup') ? await benchDedup(options) : undefined;
  const tokens = wanted('tokens') ? await benchTokens(options) : undefined;
  const historyPart = wanted('history') ? await benchHistory(options) : undefined;
  const outbox = wanted('outbox') ? await benchOutbox(options, log) : undefined;
  const hospital = wanted('hospital') ? await benchHospitalPart(options) : undefined;
  const outboxNodeRed = wanted('outbox-node-red') ? await benchOutboxNodeRed(options, log) : undefined;
  const metrics = wanted('metrics') ? await benchMetrics(options, { log, included: receiverTypes(options).included, flow: benchFlow }) : undefined;
  const watch = wanted('watch') ? await benchWatch(options, log) : undefined;
  const redis = wanted('redis') ? await benchRedis(options, { log, included: receiverTypes(options).included, flow: benchFlow }) : undefined;
  const outboxRedis = wanted('outbox-redis') ? await benchOutboxRedis(options, log) : undefined;
  meta.loadEnd = os.loadavg()[0];
  meta.seconds = (Date.now() - started) / 1000;
  const text = markdown({ options, meta, receivers, dedup, tokens, history: historyPart, outbox, hospital, outboxNodeRed, metrics, watch, redis, outboxRedis });
  const out = options.out ?? (options.quick ? undefined : path.join(ROOT, 'bench', 'RESULTS.md'));
  if (out) {
    fs.writeFileSync(out, text);
    log(`wrote ${path.relative(process.cwd(), out) || out} in ${fmt(meta.seconds)} s`);
  }
  if (!out || options.quick) console.log(text);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
