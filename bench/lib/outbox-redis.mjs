// Part `outbox-redis` of bench/run.mjs: what storing a message costs health-outbox with `state`
// (the queue in Redis, src/lib/outbox/redis/) beside the file outbox, in one run, in this
// process: the queue's `enqueue` as the node calls it (sealed with an at-rest key, a patient's
// order key, one script per message), resolved once the store has it, which is when the vendor
// is answered. The file outbox fsyncs each group of appends; Redis is measured with appendonly
// yes and appendfsync everysec (what docs/redis.md recommends for the receivers' dedup) and
// appendfsync always (what keeps every acknowledged message through a crash of Redis itself).
// Deliveries are paused: only the enqueue is measured.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { ROOT } from './node-red.mjs';
import { packageLib, startRedis } from './redis.mjs';

const require = createRequire(import.meta.url);
const PARALLEL = 50;

function lib(file) {
  return require(path.join(process.env.HB_BENCH_PACKAGE ?? ROOT, 'dist', 'lib', file));
}

/** About 1 KB of JSON: a reading as a receiver emits it, one of 500 patients. */
function reading(i) {
  return {
    topic: 'sinocare/glucose',
    payload: {
      id: `sinocare:cgm:${i}`, vendor: 'sinocare', kind: 'glucose', value: 5.6 + (i % 40) / 10, unit: 'mmol/L',
      subject: { patientId: `P${i % 500}` }, raw: { note: 'x'.repeat(700) },
    },
  };
}

/** `seconds` of enqueues, `parallel` awaited at a time: per second and the wait's p50/p99. */
async function load(enqueue, seconds, parallel) {
  const waits = [];
  const until = performance.now() + seconds * 1000;
  let i = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      await enqueue(reading(i++));
      waits.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  const elapsed = (performance.now() - started) / 1000;
  waits.sort((a, b) => a - b);
  const at = (p) => waits[Math.min(waits.length - 1, Math.floor((waits.length * p) / 100))];
  return { count: waits.length, perSecond: waits.length / elapsed, p50Ms: at(50), p99Ms: at(99) };
}

async function measure(queue, keyOf, seconds) {
  const enqueue = (msg) => queue.enqueue(msg, keyOf(msg));
  await load(enqueue, Math.min(1, seconds / 4), 10); // warm-up
  return { serial: await load(enqueue, seconds, 1), concurrent: await load(enqueue, seconds, PARALLEL) };
}

export async function benchOutboxRedis(options, log) {
  const seconds = Math.max(1, Math.min(10, options.duration / 2));
  const { Sealer } = lib('at-rest.js');
  const { OutboxQueue } = lib('outbox/queue.js');
  const { openOutboxStorage } = lib('outbox/open-storage.js');
  const { patientKeyOf } = lib('outbox/properties.js');
  const { openRedisOutbox } = lib('outbox/redis/index.js');
  const { systemClock } = lib('outbox/queue.js');
  const key = Buffer.alloc(32, 7);
  const sealer = new Sealer(key, 'outbox:bench');
  const quiet = { send: () => undefined, deadLetter: () => undefined, paused: true };
  const rows = [];

  log(`outbox-redis: file outbox, ${seconds} s one at a time and ${seconds} s ${PARALLEL} at once`);
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-outbox-redis-'));
  try {
    const { storage, deadLetters } = await openOutboxStorage({ directory, encrypt: true, sealer });
    const queue = new OutboxQueue({ storage, ...quiet });
    rows.push({ backend: 'file', ...(await measure(queue, (msg) => patientKeyOf(msg, storage.orderKey), seconds)) });
    await queue.close();
    await deadLetters.close();
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }

  for (const appendfsync of ['everysec', 'always']) {
    log(`outbox-redis: Redis, appendonly yes, appendfsync ${appendfsync}`);
    const redis = await startRedis({ appendfsync });
    const { RedisConnection, redisPropertiesSchema } = packageLib('redis');
    const connection = new RedisConnection(redisPropertiesSchema.parse({ url: redis.url, prefix: 'bench:' }));
    try {
      const client = connection.use();
      while (!connection.connected) await new Promise((resolve) => setTimeout(resolve, 50));
      const { queue, deadLetters, codec } = openRedisOutbox({
        ...quiet, client, prefix: connection.prefix, nodeId: 'bench', encrypt: true, sealer, keepDeadLettersMs: 0, clock: systemClock,
      });
      rows.push({ backend: `redis-${appendfsync}`, ...(await measure(queue, (msg) => patientKeyOf(msg, codec.orderKey), seconds)) });
      await queue.close();
      await deadLetters.close();
    } finally {
      await connection.close();
      await redis.stop();
    }
  }
  return { seconds, rows };
}

const NAMES = {
  file: 'file outbox (fsync per group of appends)',
  'redis-everysec': 'Redis, appendonly yes, appendfsync everysec',
  'redis-always': 'Redis, appendonly yes, appendfsync always',
};

export function outboxRedisMarkdown(part, { fmt }) {
  const lines = [
    '## 11. Outbox enqueue on Redis beside the file outbox (`health-outbox` with `state`)',
    '',
    `The queue's \`enqueue\` as the node calls it (sealed, with a patient's order key), ${fmt(part.seconds)} s one at a time and ` +
      `${fmt(part.seconds)} s with ${PARALLEL} at once, in the bench's process, against a redis-server on the same machine ` +
      "(loopback). *Wait*: until the store has the message, which is when the vendor is answered.",
    '',
    `| storage | enqueues/s, one at a time | p50 | p99 | enqueues/s, ${PARALLEL} at once | p50 | p99 |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { backend, serial, concurrent } of part.rows) {
    lines.push(
      `| ${NAMES[backend]} | ${fmt(serial.perSecond)} | ${fmt(serial.p50Ms, 2)} ms | ${fmt(serial.p99Ms, 2)} ms | ` +
        `${fmt(concurrent.perSecond)} | ${fmt(concurrent.p50Ms, 2)} ms | ${fmt(concurrent.p99Ms, 2)} ms |`,
    );
  }
  lines.push('');
  return { lines, checks: [] };
}
