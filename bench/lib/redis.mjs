// Part 9 of `npm run bench`: receivers whose dedup is on Redis (`state`, a health-redis node)
// beside the same receivers with dedup in memory, and what one claim costs.
//
// A Redis claim is a network round trip where the memory's is a Map lookup, so the question a
// user running several instances asks is how much throughput a receiver keeps. Two Node-RED
// processes run the same receivers, one with `state` on a real redis-server started here (the
// settings docs/redis.md recommends: appendonly yes, appendfsync everysec, noeviction), one
// without; each receiver's unique-reading load (every push a new reading: one claim, which with
// ack: auto writes the outcome at once) is interleaved between the two in slices, so whatever else the machine does falls on
// both alike. A second measure takes the store alone: the latency of one claim (SET NX PX) from
// this process, one at a time and with 50 in flight.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { interleave } from './load.mjs';
import { NodeRed, ROOT, freePort } from './node-red.mjs';
import { PUSHES } from './pushes.mjs';

const TARGET_RATIO = 0.8;
const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const require = createRequire(import.meta.url);

/**
 * A redis-server of its own, on a free port, with the recommended persistence (`appendfsync`:
 * everysec, or always for the outbox part's comparison); `stop()` ends it.
 */
export async function startRedis({ appendfsync = 'everysec' } = {}) {
  if (!fs.existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is not installed: apt-get install redis-server`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-redis-'));
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', appendfsync, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const { RedisConnection, redisPropertiesSchema } = packageLib('redis');
  // ready once a connection answers
  const probe = new RedisConnection(redisPropertiesSchema.parse({ url: `redis://127.0.0.1:${port}` }));
  const client = probe.use();
  const until = Date.now() + 15_000;
  while (!(await client.ping().then(() => true, () => false))) {
    if (Date.now() > until || child.exitCode !== null) {
      await probe.close();
      await stop();
      throw new Error('redis-server did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await probe.close();
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

export function packageLib(name) {
  return require(path.join(process.env.HB_BENCH_PACKAGE ?? ROOT, 'dist', 'lib', name, 'index.js'));
}

/** The receivers' flow with every receiver's dedup on Redis. */
function withState(flow, url) {
  return [
    ...flow.map((node) => (node.id?.startsWith('rx-') ? { ...node, state: 'bench-redis' } : node)),
    { id: 'bench-redis', type: 'health-redis', name: 'bench', url, prefix: 'health-bridge-bench:', tls: false, ca: '', credentials: {} },
  ];
}

/**
 * @param options the bench's options (duration, slice, warmup, connections, packageDir)
 * @param tools `{ log, included, flow }`: the receiver types to measure and the receivers' bench flow of run.mjs
 */
export async function benchRedis(options, { log, included, flow }) {
  log('redis: starting redis-server and two Node-REDs, receivers with state on Redis beside memory');
  const redis = await startRedis();
  let memory;
  let shared;
  try {
    const claims = await claimLatency(redis.url);
    log(`redis: one claim p50 ${claims.sequential.p50.toFixed(3)} ms, p99 ${claims.sequential.p99.toFixed(3)} ms; 50 in flight p99 ${claims.concurrent.p99.toFixed(3)} ms`);
    if (included.length === 0) return { rows: [], claims };
    memory = await NodeRed.start({ packageDir: options.packageDir });
    shared = await NodeRed.start({ packageDir: options.packageDir });
    const receivers = flow(included);
    await memory.deploy(receivers);
    await shared.deploy(withState(receivers, redis.url));
    const rows = [];
    for (const type of included) {
      const push = PUSHES[type];
      let counter = 2_000_000; // unique readings, apart from the other parts' counters
      const nextBody = () => push.unique(counter++);
      const measured = await interleave(
        [
          { name: 'memory', url: `${memory.url}/${type}`, nextBody },
          { name: 'redis', url: `${shared.url}/${type}`, nextBody },
        ],
        {
          connections: options.connections,
          seconds: options.duration,
          sliceSeconds: options.slice,
          warmup: options.warmup,
          pids: [process.pid, memory.child.pid, shared.child.pid, redis.pid],
        },
      );
      const a = measured.get('memory');
      const b = measured.get('redis');
      log(`redis ${type}: memory dedup ${Math.round(a.rps)} req/s, Redis dedup ${Math.round(b.rps)} req/s (${(b.rps / a.rps).toFixed(3)}×)`);
      rows.push({ type, memory: a, redis: b, ratio: b.rps / a.rps });
    }
    return { rows, claims };
  } finally {
    await memory?.stop();
    await shared?.stop();
    await redis.stop();
  }
}

/** The latency of one claim (SET NX PX on a new key) from this process: one at a time, and 50 in flight. */
async function claimLatency(url) {
  const { RedisConnection, redisPropertiesSchema } = packageLib('redis');
  const { RedisDedupStore } = packageLib('dedup');
  const connection = new RedisConnection(redisPropertiesSchema.parse({ url, prefix: 'health-bridge-bench:' }));
  const store = new RedisDedupStore(connection.use(), { windowMs: 72 * 3_600_000, ackTimeoutMs: 4000, keyPrefix: 'health-bridge-bench:dedup:claims:' });
  try {
    let n = 0;
    const timed = async () => {
      const started = performance.now();
      await store.claim(`claim-${process.pid}-${n++}`);
      return performance.now() - started;
    };
    while (!connection.connected) await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 2000; i++) await timed(); // warm-up
    const sequential = [];
    for (let i = 0; i < 10_000; i++) sequential.push(await timed());
    const concurrent = [];
    for (let round = 0; round < 400; round++) concurrent.push(...(await Promise.all(Array.from({ length: 50 }, timed))));
    return { sequential: percentiles(sequential), concurrent: percentiles(concurrent) };
  } finally {
    await connection.close();
  }
}

function percentiles(samples) {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, p50: at(0.5), p99: at(0.99) };
}

export function redisMarkdown(part, { fmt }) {
  const { sequential, concurrent } = part.claims;
  const lines = [
    '## Receivers with dedup on Redis beside memory',
    '',
    'Two Node-RED processes with the same receivers, one with `state` on a local redis-server (appendonly yes, appendfsync ' +
      'everysec, noeviction, as docs/redis.md recommends), the unique-reading load (ack: auto: one claim per push, which writes the outcome at once) interleaved ' +
      `between them in slices. One claim (\`SET NX PX\`) from the runner's process: p50 ${fmt(sequential.p50, 3)} ms, ` +
      `p99 ${fmt(sequential.p99, 3)} ms one at a time (${sequential.count}); p50 ${fmt(concurrent.p50, 3)} ms, ` +
      `p99 ${fmt(concurrent.p99, 3)} ms with 50 in flight (${concurrent.count}).`,
    '',
    '| receiver | memory dedup: req/s | p99 ms | Redis dedup: req/s | p99 ms | Redis ÷ memory |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  const checks = [];
  for (const row of part.rows) {
    lines.push(`| \`${row.type}\` | ${fmt(row.memory.rps)} | ${fmt(row.memory.p99)} | ${fmt(row.redis.rps)} | ${fmt(row.redis.p99)} | ${fmt(row.ratio, 3)} |`);
    checks.push({
      what: `\`${row.type}\` with dedup on Redis ÷ in memory (unique readings) ≥ ${TARGET_RATIO}`,
      figure: `${fmt(row.ratio, 3)}×`,
      ratio: row.ratio / TARGET_RATIO,
      ok: row.ratio >= TARGET_RATIO,
      hint: `run \`node bench/run.mjs --only redis --types ${row.type}\` again; the load shares 2 cores with redis-server`,
    });
  }
  lines.push('');
  return { lines, checks };
}
