// Parts 3 and 4 in a real Node-RED against the Expeed emulator (dist/sandbox/expeed-cloud.js,
// run in the runner's process, on a port the OS picks):
//
//   history(nodeRed, cloud, options)  4: one message into an `expeed-query` (history, allPages)
//       reading the emulator's whole series; a function node counts the pages and points and
//       checks that they arrive complete and in order; Node-RED's peak RSS over the read.
//   burst(nodeRed, cloud, count)      3: `count` messages into an `expeed-query` (status) at once,
//       from one function node, before any token exists: they must share one token call.
//
// Both count inside Node-RED (a function node keeps its tally in flow context) and the runner
// reads the tally through the admin API: nothing per message crosses to the runner.
//
// For the history read Node-RED is started with `MEMORY_SETTINGS` and `--expose-gc`: a GET on
// /bench-memory runs two full collections and answers process.memoryUsage(), so the heap that is
// really in use before and after the read can be told from garbage V8 has not collected yet.
// Nothing calls it during the read.
import fs from 'node:fs';
import { placed } from './node-red.mjs';

export const DEVICE = { id: 'dev-001', key: 'dk-dev-001-bench' };

/** settings.js lines for the history's Node-RED (with `--expose-gc`). */
export const MEMORY_SETTINGS = `functionGlobalContext: {
    benchMemory() {
      if (global.gc) { global.gc(); global.gc(); }
      const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
      return { rss, heapTotal, heapUsed, external, collected: Boolean(global.gc) };
    },
  },`;
export const KEYS = { platformKey: 'pk-bench', secretKey: 'sk-bench-never-printed' };

function account(id, cloud) {
  return {
    id, type: 'expeed-account', name: '', apiBase: cloud.url, platformKey: KEYS.platformKey, dailyTokenCap: 150,
    tz: 'Asia/Shanghai', onlineValue: 0, timeout: 30,
    credentials: { secretKey: KEYS.secretKey, handshakeToken: '' },
  };
}

function query(id, tab, accountId, properties, wires) {
  return {
    id, z: tab, type: 'expeed-query', name: '', account: accountId, operation: 'status', deviceId: DEVICE.id, ids: 'all',
    limit: 100, first: 0, allPages: false, ...properties, credentials: { deviceKey: DEVICE.key }, wires,
  };
}

const inject = (id, tab, wires) => ({
  id, z: tab, type: 'inject', name: '', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1,
  topic: '', payload: '{}', payloadType: 'json', wires,
});

/** A function node of the bench's flows (no timeout, no libraries). */
export const fn = (id, tab, func, wires = [[]]) => ({
  id, z: tab, type: 'function', name: id, func, outputs: wires.length, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires,
});

/** Errors of `scope` into flow context `errors` (count and the first message). */
const errorCatcher = (tab, scope) => [
  { id: `${tab}-catch`, z: tab, type: 'catch', name: '', scope: [scope], uncaught: false, wires: [[`${tab}-errors`]] },
  fn(`${tab}-errors`, tab, `
const e = flow.get('errors') || { count: 0 };
e.count++;
if (!e.first) e.first = String(msg.error && msg.error.message);
flow.set('errors', e);
return null;`),
];

async function readFlow(nodeRed, tab, key) {
  const response = await fetch(`${nodeRed.url}/context/flow/${tab}/${key}`);
  if (response.status !== 200) return undefined;
  const { msg } = await response.json();
  if (msg === undefined) return undefined;
  try {
    return typeof msg === 'string' ? JSON.parse(msg) : msg;
  } catch {
    return msg;
  }
}

async function fire(nodeRed, id) {
  const response = await fetch(`${nodeRed.url}/inject/${id}`, { method: 'POST' });
  if (response.status !== 200) throw new Error(`inject ${id}: ${response.status} ${await response.text()}`);
}

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM), in bytes. */
export function procStatus(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Resets the kernel's peak RSS (VmHWM) of `pid` to its current RSS; false where the kernel does not allow it. */
function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function until(condition, timeoutMs, what, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Part 4. The sink checks, for every page, that `msg.page.index` counts up from 0, that the
 * points continue the series where the previous page ended (the emulator's `value1` is the
 * point's index in the series; newest first, so it counts down by one across page borders too),
 * and that only the final page says `last`.
 */
export async function history(nodeRed, cloud, { limit, timeoutMs }) {
  const tab = 'history-tab';
  const expected = cloud.seriesLength;
  const sink = `
const s = flow.get('hist') || { pages: 0, points: 0, next: ${expected - 1}, problems: 0, lastSeen: false };
const page = msg.page || {};
if (page.index !== s.pages) { s.problems++; s.first = s.first || ('page ' + page.index + ' arrived as page ' + s.pages); }
if (s.lastSeen) { s.problems++; s.first = s.first || 'a page after the last one'; }
const readings = Array.isArray(msg.payload) ? msg.payload : [];
for (let i = 0; i < readings.length; i++) {
  const v = readings[i] && readings[i].values && readings[i].values.value1 && readings[i].values.value1.value;
  if (v !== s.next) { s.problems++; s.first = s.first || ('point ' + v + ' where ' + s.next + ' was due'); }
  s.next = v - 1;
}
s.points += readings.length;
s.pages++;
s.biggest = Math.max(s.biggest || 0, readings.length);
if (page.last) { s.lastSeen = true; s.doneAt = Date.now(); }
flow.set('hist', s);
return null;`;
  const flow = placed([
    { id: tab, type: 'tab', label: 'expeed-query history' },
    inject('hist-inject', tab, [['hist-q']]),
    query('hist-q', tab, 'hist-acct', { operation: 'history', allPages: true, limit, first: 0 }, [['hist-sink']]),
    fn('hist-sink', tab, sink),
    ...errorCatcher(tab, 'hist-q'),
    { id: 'mem-in', z: tab, type: 'http in', name: '', url: '/bench-memory', method: 'get', upload: false, swaggerDoc: '', wires: [['mem-fn']] },
    fn('mem-fn', tab, "const memory = global.get('benchMemory');\nmsg.payload = memory ? memory() : {};\nreturn msg;", [['mem-out']]),
    { id: 'mem-out', z: tab, type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
  ]);
  await nodeRed.deploy([...flow, account('hist-acct', cloud)]);
  const pid = nodeRed.child.pid;
  // let the deploy's garbage go before the baseline is read
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const memory = async () => {
    const response = await fetch(`${nodeRed.url}/bench-memory`);
    const value = await response.json();
    return value.collected ? value : undefined;
  };
  const liveBefore = await memory();
  const before = procStatus(pid);
  const peakReset = resetPeak(pid);
  let sampledPeak = before.rss;
  const sampler = setInterval(() => {
    try {
      sampledPeak = Math.max(sampledPeak, procStatus(pid).rss);
    } catch {
      // Node-RED gone: the wait below reports it
    }
  }, 50);
  const pagesBefore = cloud.apiCalls.history;
  const tokenCallsBefore = cloud.tokenCalls;
  const started = Date.now();
  let state;
  let errors;
  try {
    await fire(nodeRed, 'hist-inject');
    state = await until(async () => {
      if (nodeRed.exited) throw new Error(`Node-RED exited during the history read:\n${nodeRed.log.slice(-2000)}`);
      errors = await readFlow(nodeRed, tab, 'errors');
      const s = await readFlow(nodeRed, tab, 'hist');
      return errors?.count || s?.lastSeen ? s ?? {} : undefined;
    }, timeoutMs, `${expected} points through expeed-query`);
  } finally {
    clearInterval(sampler);
  }
  const after = procStatus(pid);
  const seconds = ((state.doneAt ?? Date.now()) - started) / 1000;
  const liveAfter = await memory();
  return {
    expected,
    limit,
    points: state.points ?? 0,
    pages: state.pages ?? 0,
    biggestPage: state.biggest ?? 0,
    complete: state.points === expected && state.next === -1 && state.lastSeen === true,
    problems: state.problems ?? 0,
    firstProblem: state.first,
    errors: errors?.count ?? 0,
    firstError: errors?.first,
    apiPages: cloud.apiCalls.history - pagesBefore,
    tokenCalls: cloud.tokenCalls - tokenCallsBefore,
    seconds,
    pointsPerSecond: (state.points ?? 0) / seconds,
    rssBefore: before.rss,
    rssAfter: after.rss,
    // VmHWM since the reset just before the read; without the reset, the highest RSS sampled every 50 ms
    peakRss: peakReset ? after.hwm : sampledPeak,
    sampledPeak,
    peakFrom: peakReset ? 'VmHWM (reset before the read)' : 'RSS sampled every 50 ms',
    // after two full collections, before and after the read (undefined without --expose-gc)
    liveBefore,
    liveAfter,
  };
}

/** Part 3 in Node-RED: `count` queries at once before any token exists. */
export async function burst(nodeRed, cloud, { count, timeoutMs }) {
  const tab = 'burst-tab';
  const flow = placed([
    { id: tab, type: 'tab', label: 'expeed-query burst' },
    inject('burst-inject', tab, [['burst-fan']]),
    fn('burst-fan', tab, `for (let i = 0; i < ${count}; i++) node.send({ payload: i });\nreturn null;`, [['burst-q']]),
    query('burst-q', tab, 'burst-acct', { operation: 'status' }, [['burst-count']]),
    fn('burst-count', tab, `
const s = flow.get('burst') || { answers: 0, online: 0 };
s.answers++;
if (msg.payload && msg.payload.online === true) s.online++;
if (s.answers === ${count}) s.doneAt = Date.now();
flow.set('burst', s);
return null;`),
    ...errorCatcher(tab, 'burst-q'),
  ]);
  await nodeRed.deploy([...flow, account('burst-acct', cloud)]);
  const tokenCallsBefore = cloud.tokenCalls;
  const statusBefore = cloud.apiCalls.status;
  const started = Date.now();
  await fire(nodeRed, 'burst-inject');
  let errors;
  const state = await until(async () => {
    errors = await readFlow(nodeRed, tab, 'errors');
    const s = await readFlow(nodeRed, tab, 'burst');
    return (s?.answers ?? 0) + (errors?.count ?? 0) >= count ? s ?? { answers: 0 } : undefined;
  }, timeoutMs, `${count} expeed-query answers`);
  return {
    count,
    answers: state.answers,
    online: state.online,
    errors: errors?.count ?? 0,
    firstError: errors?.first,
    tokenCalls: cloud.tokenCalls - tokenCallsBefore,
    statusCalls: cloud.apiCalls.status - statusBefore,
    seconds: ((state.doneAt ?? Date.now()) - started) / 1000,
  };
}
