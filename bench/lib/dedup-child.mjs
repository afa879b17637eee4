// Measures DedupMemory (dist/lib/dedup/, dist/lib/dedup.js before it became a folder) in a process of its own, started by bench/run.mjs
// with --expose-gc, and prints one JSON object on stdout.
//
//   node --expose-gc bench/lib/dedup-child.mjs memory [keys]   heap and RSS before and after remembering `keys`
//   node --expose-gc bench/lib/dedup-child.mjs memory-warm [keys]   the same in a process that has
//       remembered as many other keys once and dropped them (its young generation and allocator
//       are as large as the work makes them, as in a Node-RED that has been receiving for a while)
//   node --expose-gc bench/lib/dedup-child.mjs lookup [keys]   ns per has() for present and absent keys at 10k, 100k, … keys
//
// Keys are Sinocare testIds (15 digits, docs/receivers.md#duplicates), the shortest vendor key there is; every key
// is stored as a 16-byte digest whatever its length, so a Lezhi body hash costs the same.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { settle } from './settle.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const require = createRequire(import.meta.url);
// HB_BENCH_PACKAGE: another copy of the package (bench/run.mjs --package)
// no extension: dist/lib/dedup/index.js, or dist/lib/dedup.js in a package built before the split
const { DedupMemory } = require(path.join(process.env.HB_BENCH_PACKAGE || ROOT, 'dist', 'lib', 'dedup'));

const WINDOW_MS = 72 * 3_600_000;
const MAX_KEYS = 1_000_000;
const testId = (i) => String(240_119_000_000_000 + i);

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

function fill(keys, offset) {
  const dedup = new DedupMemory({ windowMs: WINDOW_MS, maxKeys: MAX_KEYS });
  for (let i = 0; i < keys; i++) dedup.remember(testId(offset + i));
  return dedup;
}

async function memory(keys, warm) {
  if (warm) {
    let throwaway = fill(keys, 500_000_000);
    if (throwaway.size !== keys) throw new Error('warm-up failed');
    throwaway = undefined;
  }
  const before = await settle();
  const started = process.hrtime.bigint();
  const dedup = fill(keys, 0);
  const rememberNs = Number(process.hrtime.bigint() - started) / keys;
  const after = await settle();
  if (dedup.size !== Math.min(keys, MAX_KEYS)) throw new Error(`expected ${keys} keys, the memory holds ${dedup.size}`);
  if (!dedup.has(testId(0)) || !dedup.has(testId(keys - 1)) || dedup.has(testId(keys))) throw new Error('lookups are wrong');
  const perKey = (field) => (after[field] - before[field]) / dedup.size;
  return {
    keys: dedup.size,
    warm,
    before,
    after,
    heapPerKey: perKey('heapUsed'),
    rssPerKey: perKey('rss'),
    heapTotalPerKey: perKey('heapTotal'),
    newSpacePerKey: perKey('newSpace'),
    externalPerKey: perKey('external'),
    rememberNs,
  };
}

/** A fixed pseudo-random sequence (LCG), so lookups hit keys all over the map, not neighbours. */
function* scattered(count, below, seed) {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield x % below;
  }
}

/** ns per call of `fn` over `keys`, and how many calls returned true. */
function nsPerCall(fn, keys) {
  const started = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < keys.length; i++) if (fn(keys[i])) hits++;
  return { ns: Number(process.hrtime.bigint() - started) / keys.length, hits };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The key as dedup.ts keeps it: the first 16 bytes of its SHA-256, as a one-byte string. */
const digest = (key) => createHash('sha256').update(key).digest().subarray(0, 16).toString('latin1');

/**
 * One DedupMemory per size, all alive at once, timed in batches taken in turns (the order
 * rotating), so that whatever else the machine does falls on every size alike; each figure is
 * the median over the batches. Beside has(): the key's SHA-256 alone, and a plain Map of as many
 * digests as keys, looked up the same way (hash, then Map.has) and with the digests ready, to
 * tell the growth of any Map this size (cache misses) from work DedupMemory adds.
 */
function lookup(maxKeys) {
  const SAMPLE = 5_000;
  const BATCHES = 40;
  const sizes = [10_000, 100_000, 1_000_000].filter((size) => size <= maxKeys);
  const cases = sizes.map((size) => {
    const dedup = fill(size, 0);
    const plain = new Map();
    for (let i = 0; i < size; i++) plain.set(digest(testId(i)), i);
    const present = Array.from(scattered(SAMPLE, size, 7 + size), testId);
    const absent = Array.from(scattered(SAMPLE, 1_000_000_000, 11 + size), (i) => testId(size + 1 + i));
    const presentDigests = present.map(digest);
    const measures = {
      presentNs: () => nsPerCall((key) => dedup.has(key), present),
      absentNs: () => nsPerCall((key) => dedup.has(key), absent),
      digestNs: () => nsPerCall((key) => digest(key).length === 16, present),
      // the same work on a bare Map: hash the key, look the digest up
      plainNs: () => nsPerCall((key) => plain.has(digest(key)), present),
      // the Map alone, digests computed beforehand: how a lookup in a map this size grows by itself
      plainMapOnlyNs: () => nsPerCall((key) => plain.has(key), presentDigests),
    };
    return { size, dedup, measures, samples: Object.fromEntries(Object.keys(measures).map((name) => [name, []])) };
  });
  for (let batch = -2; batch < BATCHES; batch++) {
    for (let i = 0; i < cases.length; i++) {
      const current = cases[(i + Math.max(batch, 0)) % cases.length];
      for (const [name, measure] of Object.entries(current.measures)) {
        const { ns, hits } = measure();
        const expected = name === 'absentNs' ? 0 : SAMPLE;
        if (hits !== expected) throw new Error(`${name} at ${current.size} keys: ${hits} hits, expected ${expected}`);
        if (batch >= 0) current.samples[name].push(ns); // batches -2 and -1 warm the JIT up
      }
    }
  }
  return {
    batches: BATCHES,
    sample: SAMPLE,
    rows: cases.map(({ size, dedup, samples }) => ({
      size: dedup.size,
      ...Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)])),
    })),
  };
}

const [mode, keysArg] = process.argv.slice(2);
const keys = Number(keysArg ?? 1_000_000);
const result =
  mode === 'memory' ? await memory(keys, false) : mode === 'memory-warm' ? await memory(keys, true) : mode === 'lookup' ? lookup(keys) : undefined;
if (!result) throw new Error('mode: memory | memory-warm | lookup');
process.stdout.write(`${JSON.stringify(result)}\n`);
