// Part 3, the token economy over simulated days, in a process of its own (started by
// bench/run.mjs) that prints one JSON object on stdout.
//
//   node bench/lib/token-child.mjs [queries per day] [days] [expires_in]
//
// What runs: the package's own `ExpeedAccount` (dist/lib/vendors/expeed/account.js, the class
// every expeed-query, expeed-token and expeed-set of an account goes through) against the Expeed
// emulator (dist/sandbox/expeed-cloud.js, written from the vendor document), over real HTTP on
// 127.0.0.1, with a state file as an expeed-account keeps one in the user directory.
//
// What is simulated: the clock. This process replaces `Date.now` with a simulated clock before
// either is loaded, so the emulator issues tokens with `expires_in` and refuses expired ones
// (`result_code 1`) by simulated time, and counts its token calls per simulated day (its day,
// UTC+8); the account gets the same clock through its `now` option. The clock moves only between
// bursts of queries: each burst is sent concurrently and awaited at one simulated instant. Each
// day has `queries` device-status queries (the cheapest API call: the token does not depend on
// which API is called) in bursts of 1 to 10 at seeded-random instants, so they are the same
// every run. At noon of the first day the account is replaced by a new one reading the same
// state file, as a Node-RED restart or a redeploy does.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const require = createRequire(import.meta.url);

const realNow = Date.now;
// 2024-11-19 00:00 in Asia/Shanghai (UTC+8): the first simulated day starts at its midnight
const DAY_MS = 86_400_000;
const START = Date.UTC(2024, 10, 18, 16, 0, 0);
let simulated = START;
Date.now = () => simulated;

const { ExpeedCloud } = require(path.join(ROOT, 'dist', 'sandbox', 'expeed-cloud.js'));
// HB_BENCH_PACKAGE: another copy of the package (bench/run.mjs --package); the emulator is always this checkout's
const { ExpeedAccount, refreshMargin } = require(path.join(process.env.HB_BENCH_PACKAGE || ROOT, 'dist', 'lib', 'vendors', 'expeed', 'account.js'));

const [queriesArg, daysArg, lifetimeArg] = process.argv.slice(2);
const QUERIES = Number(queriesArg ?? 10_000);
const DAYS = Number(daysArg ?? 2);
const LIFETIME_S = Number(lifetimeArg ?? 7200);
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-bench' };
const KEYS = { platformKey: 'pk-bench', secretKey: 'sk-bench-never-printed' };

/** A fixed pseudo-random sequence in [0, 1) (LCG), so every run sends the same schedule. */
function random(seed) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** `count` queries in bursts of 1–10 at random instants of the day starting at `dayStart`, in time order. */
function schedule(dayStart, count, seed) {
  const next = random(seed);
  const bursts = [];
  for (let left = count; left > 0;) {
    const size = Math.min(left, 1 + Math.floor(next() * 10));
    bursts.push({ at: dayStart + Math.floor(next() * DAY_MS), size });
    left -= size;
  }
  return bursts.sort((a, b) => a.at - b.at);
}

const cloud = await ExpeedCloud.start({ ...KEYS, devices: [DEVICE], tokenLifetimeSeconds: LIFETIME_S });
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-token-'));
const stateFile = path.join(stateDir, 'health-bridge', 'expeed-bench.json');
const newAccount = () =>
  new ExpeedAccount({
    apiBase: cloud.url, ...KEYS, dailyTokenCap: 150, tz: 'Asia/Shanghai', timeoutMs: 10_000, stateFile, now: () => Date.now(),
  });

const started = realNow();
const days = [];
let account = newAccount();
let restarts = 0;
let failures = 0;
let firstFailure;
try {
  for (let day = 0; day < DAYS; day++) {
    const dayStart = START + day * DAY_MS;
    const tokenCallsBefore = cloud.tokenCalls;
    const apiCallsBefore = cloud.apiCalls.status;
    const tokensAt = [];
    let restartAt;
    let sent = 0;
    for (const burst of schedule(dayStart, QUERIES, 7 + day)) {
      if (day === 0 && restartAt === undefined && burst.at >= dayStart + DAY_MS / 2) {
        // a Node-RED restart at noon: a new account reads the token and the count from the file
        simulated = dayStart + DAY_MS / 2;
        await account.close();
        account = newAccount();
        restarts++;
        restartAt = simulated;
      }
      simulated = burst.at;
      const callsBefore = cloud.tokenCalls;
      const results = await Promise.allSettled(Array.from({ length: burst.size }, () => account.deviceStatus(DEVICE.id, DEVICE.key)));
      for (const result of results) {
        if (result.status === 'rejected') {
          failures++;
          firstFailure ??= String(result.reason?.message ?? result.reason);
        }
      }
      sent += burst.size;
      if (cloud.tokenCalls > callsBefore) tokensAt.push({ at: simulated, calls: cloud.tokenCalls - callsBefore });
    }
    // the last instant of the day, as the account sees its own count
    simulated = dayStart + DAY_MS - 1;
    days.push({
      day: new Date(dayStart + 8 * 3_600_000).toISOString().slice(0, 10),
      queries: sent,
      tokenCalls: cloud.tokenCalls - tokenCallsBefore,
      accountCount: account.tokenCallsToday,
      apiCalls: cloud.apiCalls.status - apiCallsBefore,
      // a status call beyond one per query is a retry after `result_code 1` (token expired)
      expiredAnswers: cloud.apiCalls.status - apiCallsBefore - sent,
      tokensAt: tokensAt.map(({ at, calls }) => ({ time: new Date(at + 8 * 3_600_000).toISOString().slice(11, 19), calls })),
      ...(restartAt !== undefined && { restartAt: new Date(restartAt + 8 * 3_600_000).toISOString().slice(11, 19) }),
    });
  }
} finally {
  await account.close();
  await cloud.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
}

const lifetimeMs = LIFETIME_S * 1000;
const usable = lifetimeMs - refreshMargin(lifetimeMs);
process.stdout.write(
  `${JSON.stringify({
    queriesPerDay: QUERIES,
    lifetimeSeconds: LIFETIME_S,
    refreshMarginSeconds: refreshMargin(lifetimeMs) / 1000,
    // at most one call per usable lifetime, and one more when a day starts without a token
    boundPerDay: Math.ceil(DAY_MS / usable),
    days,
    restarts,
    failures,
    firstFailure,
    realSeconds: (realNow() - started) / 1000,
  })}\n`,
);
