// Part 8 of `npm run bench`: what health-metrics costs the receivers.
//
// Every receiver counts its pushes whether or not a health-metrics node is deployed (the figures
// must not start from nothing when one is added), so the question a user asks is what deploying
// one and letting Prometheus scrape it costs. Two Node-RED processes run the same receivers: one
// with a health-metrics node scraped every second (Prometheus's usual interval is 15 s: this is
// harder), one without. Each receiver's unique-reading load (every push a new reading: a count by
// kind, a histogram observation and a gauge set on every request) is interleaved between the two
// in slices, so whatever else the machine does falls on both alike. A second row measures the
// counting itself, which no deploy switches off: a receiver's counting calls, alone, per push.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { createRequire } from 'node:module';
import { interleave } from './load.mjs';
import { NodeRed, ROOT, placed } from './node-red.mjs';
import { PUSHES } from './pushes.mjs';

const TARGET_RATIO = 0.95;
const SCRAPE_EVERY_MS = 1000;
const require = createRequire(import.meta.url);

/** Node-RED's health-metrics node on /metrics, with the editor's defaults. */
const metricsNode = () => placed([
  { id: 'metrics-tab', type: 'tab', label: 'metrics' },
  { id: 'bench-metrics', z: 'metrics-tab', type: 'health-metrics', name: 'bench', version: 2, path: '/metrics', allow: '', processMetrics: true, credentials: { key: '' }, wires: [] },
]);

/**
 * @param options the bench's options (duration, slice, warmup, connections)
 * @param tools `{ log, included, flow }`: the receiver types to measure and the receivers' bench flow of run.mjs
 */
export async function benchMetrics(options, { log, included, flow }) {
  if (included.length === 0) return { rows: [], counting: counting() };
  log('metrics: starting two Node-REDs, one with health-metrics scraped every second');
  const without = await NodeRed.start({ packageDir: options.packageDir });
  const withMetrics = await NodeRed.start({ packageDir: options.packageDir });
  let scrapes = 0;
  let scrapeFailures = 0;
  let scraper;
  try {
    const receivers = flow(included);
    await without.deploy(receivers);
    await withMetrics.deploy([...receivers, ...metricsNode()]);
    const page = await fetch(`${withMetrics.url}/metrics`);
    if (page.status !== 200 || !(await page.text()).includes('health_bridge_pushes_total')) throw new Error(`GET /metrics answered ${page.status}`);
    scraper = setInterval(() => {
      fetch(`${withMetrics.url}/metrics`).then((response) => response.text().then(() => (response.ok ? scrapes++ : scrapeFailures++)), () => scrapeFailures++);
    }, SCRAPE_EVERY_MS);
    const rows = [];
    for (const type of included) {
      const push = PUSHES[type];
      let counter = 1_000_000; // unique readings, apart from run.mjs's own counter
      const nextBody = () => push.unique(counter++);
      const measured = await interleave(
        [
          { name: 'without', url: `${without.url}/${type}`, nextBody },
          { name: 'with', url: `${withMetrics.url}/${type}`, nextBody },
        ],
        {
          connections: options.connections,
          seconds: options.duration,
          sliceSeconds: options.slice,
          warmup: options.warmup,
          pids: [process.pid, without.child.pid, withMetrics.child.pid],
        },
      );
      const a = measured.get('without');
      const b = measured.get('with');
      log(`metrics ${type}: without ${Math.round(a.rps)} req/s, with health-metrics ${Math.round(b.rps)} req/s (${(b.rps / a.rps).toFixed(3)}×)`);
      rows.push({ type, without: a, with: b, ratio: b.rps / a.rps });
    }
    return { rows, scrapes, scrapeFailures, counting: counting() };
  } finally {
    clearInterval(scraper);
    await without.stop();
    await withMetrics.stop();
  }
}

/** The counting calls of one push (a push, a reading of its kind), alone: nanoseconds each. */
function counting() {
  const { receiverMetrics } = require(path.join(process.env.HB_BENCH_PACKAGE ?? ROOT, 'dist', 'lib', 'metrics', 'index.js'));
  const metrics = receiverMetrics('bench-node', 'bench', 'sinocare', 'sinocare-in');
  const run = (n) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      metrics.push('accepted', 0.002);
      metrics.reading('glucose');
    }
    return ((performance.now() - started) * 1e6) / n;
  };
  run(100_000); // warm-up: compiled code, children made
  const samples = [run(1_000_000), run(1_000_000), run(1_000_000)].sort((x, y) => x - y);
  metrics.close();
  return { nsPerPush: samples[1] };
}

export function metricsMarkdown(part, { fmt }) {
  const lines = [
    '## Receivers with and without health-metrics',
    '',
    `Two Node-RED processes with the same receivers, one with a \`health-metrics\` node scraped every ${SCRAPE_EVERY_MS / 1000} s ` +
      `(${part.scrapes ?? 0} scrapes answered, ${part.scrapeFailures ?? 0} failed), the unique-reading load interleaved between them ` +
      'in slices. The receivers count whether or not a health-metrics node is deployed; the counting calls of one push, alone, ' +
      `take ${fmt(part.counting.nsPerPush)} ns (median of three runs of 1,000,000).`,
    '',
    '| receiver | without: req/s | p99 ms | with health-metrics: req/s | p99 ms | with ÷ without |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  const checks = [];
  for (const row of part.rows) {
    lines.push(`| \`${row.type}\` | ${fmt(row.without.rps)} | ${fmt(row.without.p99)} | ${fmt(row.with.rps)} | ${fmt(row.with.p99)} | ${fmt(row.ratio, 3)} |`);
    checks.push({
      what: `\`${row.type}\` with health-metrics deployed and scraped ÷ without (unique readings) ≥ ${TARGET_RATIO}`,
      figure: `${fmt(row.ratio, 3)}×`,
      ratio: row.ratio / TARGET_RATIO,
      ok: row.ratio >= TARGET_RATIO,
      hint: `run \`node bench/run.mjs --only metrics --types ${row.type}\` again; a ratio below 1 by less than the slices' spread is noise`,
    });
  }
  lines.push('');
  return { lines, checks };
}
