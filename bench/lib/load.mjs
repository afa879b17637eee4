// HTTP load with autocannon: POST bodies to one URL over `connections` keep-alive connections.
//
// The machine has two cores and may be shared (other test runs), so a target is not measured
// in one block: `interleave` measures every target in short slices, round after round, the
// order rotating each round, so whatever else the machine does falls on all targets alike.
// The slices of one target are then added up: requests over seconds, and one latency
// histogram (autocannon's own aggregation of raw results).
import autocannon from 'autocannon';
import fs from 'node:fs';

/**
 * One autocannon run, its raw (not aggregated) result.
 * @param {{ url: string, body?: string, nextBody?: () => string, connections: number, seconds: number }} options
 *   `body`: the same body on every request; `nextBody`: a new body for every request.
 */
export function slice({ url, body, nextBody, connections, seconds }) {
  const request = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const opts = {
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
    // autocannon stops on a sampling tick: tick often, so that a slice lasts what it was asked
    sampleInt: 250,
    skipAggregateResult: true,
    ...request,
    ...(nextBody
      ? {
          requests: [
            {
              ...request,
              setupRequest(req) {
                req.body = nextBody();
                return req;
              },
            },
          ],
        }
      : { body }),
  };
  return new Promise((resolve, reject) => {
    autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** The slices of one target as one measurement. */
export function combine(url, connections, slices) {
  const aggregated = autocannon.aggregateResult(slices, { url, connections, duration: 1 });
  const total = slices.reduce((sum, s) => sum + s.totalCompletedRequests, 0);
  const seconds = slices.reduce((sum, s) => sum + s.duration, 0);
  return {
    rps: total / seconds,
    total,
    seconds,
    slices: slices.map((s) => s.totalCompletedRequests / s.duration),
    p50: aggregated.latency.p50,
    p90: aggregated.latency.p90,
    p99: aggregated.latency.p99,
    max: aggregated.latency.max,
    statuses: { '2xx': aggregated['2xx'], '3xx': aggregated['3xx'], '4xx': aggregated['4xx'], '5xx': aggregated['5xx'] },
    errors: aggregated.errors,
    timeouts: aggregated.timeouts,
  };
}

/**
 * Measures every target for `seconds` in all, in slices of `sliceSeconds`, after `warmup`
 * seconds of unmeasured load on each.
 * @param {Array<{ name: string, url: string, body?: string, nextBody?: () => string }>} targets
 * @param {{ connections: number, seconds: number, sliceSeconds: number, warmup: number, pids: number[], onSlice?: Function }} options
 */
export async function interleave(targets, options) {
  const { connections, seconds, sliceSeconds, warmup, pids } = options;
  for (const target of targets) if (warmup > 0) await slice({ ...target, connections, seconds: warmup });
  const rounds = Math.max(1, Math.round(seconds / sliceSeconds));
  const length = seconds / rounds;
  const slices = new Map(targets.map((target) => [target.name, []]));
  const others = new Map(targets.map((target) => [target.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length];
      const cpuBefore = cpuSnapshot(pids);
      const result = await slice({ ...target, connections, seconds: length });
      const cpu = cpuUse(cpuBefore, cpuSnapshot(pids));
      slices.get(target.name).push(result);
      others.get(target.name).push(cpu);
      options.onSlice?.(target.name, round, result, cpu);
    }
  }
  return new Map(
    targets.map((target) => {
      const measured = combine(target.url, connections, slices.get(target.name));
      const cpu = others.get(target.name).filter((value) => value !== undefined);
      const mean = (pick) => (cpu.length ? cpu.reduce((sum, value) => sum + pick(value), 0) / cpu.length : undefined);
      measured.otherCores = mean((value) => value.others);
      measured.otherCoresMax = cpu.length ? Math.max(...cpu.map((value) => value.others)) : undefined;
      measured.pidCores = pids.map((_, i) => mean((value) => value.pids[i]));
      return [target.name, measured];
    }),
  );
}

// CPU that processes other than ours (the runner and Node-RED) used meanwhile, in cores, from
// /proc (Linux): a busy machine shows here before it shows as a strange ratio.

const TICKS_PER_SECOND = 100;

function readTicks(file, pick) {
  try {
    return pick(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function cpuSnapshot(pids) {
  const busy = readTicks('/proc/stat', (text) => {
    // user nice system idle iowait irq softirq steal: interrupt time is left out, loopback
    // traffic of our own load is counted there
    const [user, nice, system, , , , , steal] = text.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return user + nice + system + steal;
  });
  const perPid = [];
  for (const pid of pids) {
    const ticks = readTicks(`/proc/${pid}/stat`, (text) => {
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime, stime
    });
    if (ticks === undefined) return undefined;
    perPid.push(ticks);
  }
  return busy === undefined ? undefined : { busy, perPid, at: process.hrtime.bigint() };
}

/** Cores used between two snapshots: by each of `pids`, and by every other process together. */
export function cpuUse(before, after) {
  if (!before || !after) return undefined;
  const cores = (ticks) => ticks / TICKS_PER_SECOND / (Number(after.at - before.at) / 1e9);
  const pidTicks = after.perPid.map((ticks, i) => ticks - before.perPid[i]);
  const ours = pidTicks.reduce((sum, ticks) => sum + ticks, 0);
  return { others: cores(Math.max(0, after.busy - before.busy - ours)), pids: pidTicks.map(cores) };
}
