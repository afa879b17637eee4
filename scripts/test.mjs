// `npm test`: the whole suite, as the first command typed on a fresh clone. It installs what npm can
// (the dependencies, and Node 22 through scripts/node22.sh), builds once, names any system package a
// part needs and this machine lacks (with the command that installs it), then runs the four parts
//   node-red-4       test/**/*.test.ts on Node-RED 4 with this machine's Node
//   node-red-5       the same on Node-RED 5 under Node 22
//   e2e              the editor in Chromium (test/e2e/), Node-RED 4
//   e2e-node-red-5   the same on Node-RED 5 under Node 22
// (on 2 busy cores, 2026-12-07: 848 tests in 10 min, 848 in 6 min, 78 in 3 min, 78 in 3 min; about
// 25 min from a fresh clone with npm ci, Node 22 and the build).
// and ends with one line of totals. Nothing is skipped quietly: a part whose system package is
// missing is not started, and the summary names it NOT RUN with the install command; a test left
// pending (it.skip, this.skip) is counted as not run; either makes the run fail, like a failing test.
//   npm test -- --only node-red-5,e2e         some parts (npm run test:node-red-5 etc. are these)
//   npm test -- test/unit/viatom-push.test.ts  these files only (test/… or build/test/…), on both
//                                             Node-RED versions unless --only says otherwise
//   npm test -- --dry-run                     install and check (no build), then say what would run
//   node scripts/test.mjs --missing-system-packages   the Debian packages missing here (for .ci/run)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, ensureDependencies, nodeTooOld } from './bootstrap.mjs';

const NODE22 = path.join(ROOT, 'scripts', 'node22.sh');
const MOCHA = path.join('node_modules', 'mocha', 'bin', 'mocha.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Whether `name` is an executable on PATH (standard library only: no `which`). */
function onPath(name) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What the tests need from the system and npm cannot install: each with the Debian package that
 * brings it, the parts that cannot run without it (those are not started) or the tests that fail
 * without it (those fail, saying so).
 */
const SYSTEM_NEEDS = [
  {
    what: `Chromium (${CHROMIUM}; CHROMIUM names another binary)`,
    debian: 'chromium',
    present: () => fs.existsSync(CHROMIUM),
    parts: ['e2e', 'e2e-node-red-5'],
  },
  {
    what: 'the font WenQuanYi Micro Hei, which draws the Chinese in the editor',
    debian: 'fonts-wqy-microhei',
    // fontconfig's answer where it is installed (Chromium finds fonts through it), else Debian's path of the font
    present: () => {
      const listed = spawnSync('fc-list', [':family=WenQuanYi Micro Hei'], { encoding: 'utf8' });
      if (!listed.error) return listed.stdout.trim().length > 0;
      return fs.existsSync('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc');
    },
    parts: ['e2e', 'e2e-node-red-5'],
  },
  {
    what: 'unshare, to mount a small disk in a namespace of its own',
    debian: 'util-linux',
    present: () => onPath('unshare'),
    tests: 'test/outbox-full-disk.test.ts',
  },
  {
    what: 'openssl, to make a certificate for the TLS test',
    debian: 'openssl',
    present: () => onPath('openssl'),
    tests: 'test/unit/hl7-connection.test.ts (TLS)',
  },
  {
    what: 'Prometheus and promtool, to scrape and check what health-metrics serves',
    debian: 'prometheus',
    present: () => onPath('prometheus') && onPath('promtool'),
    tests: 'test/metrics.test.ts',
  },
  {
    what: 'redis-server, the Redis that several Node-RED instances share (the tests start their own on free ports)',
    debian: 'redis-server',
    // where test/harness/redis.ts looks for it
    present: () => fs.existsSync(process.env.REDIS_SERVER ?? '/usr/bin/redis-server'),
    tests: 'test/redis.test.ts, test/redis-dedup.test.ts',
  },
];

const PARTS = {
  'node-red-4': { nodeRed: 4, e2e: false },
  'node-red-5': { nodeRed: 5, e2e: false },
  e2e: { nodeRed: 4, e2e: true },
  'e2e-node-red-5': { nodeRed: 5, e2e: true },
};

/** A file named on the command line as the compiled test mocha runs (test/x.test.ts → build/test/x.test.js). */
function compiled(file) {
  const relative = path.relative(ROOT, path.resolve(file));
  if (relative.startsWith(`build${path.sep}`)) return relative;
  return path.join('build', relative.replace(/\.ts$/, '.js'));
}

/** The command of one part; `files` empty means every test of the part. */
function command(name, files) {
  const part = PARTS[name];
  const mocha = [MOCHA];
  if (part.e2e) {
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'e2e', '.mocharc.json'), 'utf8'));
    // with files, the config's spec would add every other browser test to them
    mocha.push(...(files.length > 0 ? ['--no-config', '--timeout', String(config.timeout), '--reporter', config.reporter] : ['--config', 'test/e2e/.mocharc.json']));
  }
  mocha.push(...files);
  const env = { ...process.env };
  if (part.nodeRed === 5) env.HB_NODE_RED = '5';
  else delete env.HB_NODE_RED;
  return part.nodeRed === 5 ? { file: NODE22, args: ['node', ...mocha], env } : { file: process.execPath, args: mocha, env };
}

const FAILURE_LINES = 150;

/** Runs a part with its output shown as it comes; the counts are read from mocha's summary lines. */
function run(name, files) {
  const { file, args, env } = command(name, files);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // mocha's summary ("  12 passing (3s)", "  1 failing", "  2 pending") comes before the failures'
    // details, which may be long: the counts are taken from each whole line as it passes
    const counts = {};
    // the failures' details, kept to be printed again under the summary: CI shows a run's tail only
    const failures = [];
    let inFailures = false;
    const follow = (from, to) => {
      let partial = '';
      from.on('data', (chunk) => {
        to.write(chunk);
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const summary = /^ {2}(\d+) (passing|failing|pending)(?: \(.*\))?\s*$/.exec(line);
          if (summary) counts[summary[2]] = Number(summary[1]);
          if (summary?.[2] === 'failing') inFailures = true;
          else if (inFailures && failures.length < FAILURE_LINES && !/^\s+at .*(\(node:|node_modules)/.test(line)) failures.push(line);
        }
      });
    };
    follow(child.stdout, process.stdout);
    follow(child.stderr, process.stderr);
    child.on('error', (error) => resolve({ name, error: error.message, seconds: (Date.now() - started) / 1000 }));
    child.on('close', (code, signal) => {
      const result = { name, code: code ?? signal, seconds: (Date.now() - started) / 1000, passed: counts.passing ?? 0, failed: counts.failing ?? 0, pending: counts.pending ?? 0, failures };
      if (counts.passing === undefined) result.error = `mocha ended (exit ${code ?? signal}) without a result`;
      resolve(result);
    });
  });
}

function duration(seconds) {
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(1)} s`;
}

function step(what, file, args) {
  console.error(`[npm test] ${what}`);
  const result = spawnSync(file, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${what} failed (exit code ${result.status ?? result.signal ?? result.error?.message})`);
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { only: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, 'missing-system-packages': { type: 'boolean' } },
  });
  const missing = SYSTEM_NEEDS.filter((need) => !need.present());
  if (values['missing-system-packages']) {
    console.log([...new Set(missing.map((need) => need.debian))].join(' '));
    return 0;
  }
  const only = (values.only ?? []).flatMap((list) => list.split(',')).filter(Boolean);
  const unknown = only.filter((name) => !(name in PARTS));
  if (unknown.length > 0) throw new Error(`no part named ${unknown.join(', ')}; the parts are ${Object.keys(PARTS).join(', ')}`);
  const files = positionals.map(compiled);
  const e2eFiles = files.filter((file) => file.split(path.sep).includes('e2e'));
  const otherFiles = files.filter((file) => !e2eFiles.includes(file));
  const chosen = Object.keys(PARTS).filter((name) => {
    if (only.length > 0 && !only.includes(name)) return false;
    if (files.length === 0) return true;
    return (PARTS[name].e2e ? e2eFiles : otherFiles).length > 0;
  });
  if (chosen.length === 0) throw new Error('nothing to run: no part takes the files named');

  const old = nodeTooOld();
  if (old) throw new Error(old);
  ensureDependencies(ROOT, (line) => console.error(line.replace('[bootstrap]', '[npm test]')));
  // Node 22 before anything runs: the Node-RED 5 parts run on it, and the Node-RED 4 part's FHIR server too
  step('Node 22 (scripts/node22.sh)', NODE22, ['node', '--version']);
  if (!values['dry-run']) step('build (npm run build:test)', 'npm', ['run', '--silent', 'build:test']);

  for (const need of missing) {
    const effect = need.parts ? `the parts ${need.parts.join(', ')} are NOT RUN` : `${need.tests} FAILS`;
    console.error(`[npm test] MISSING ${need.what}: ${effect}. Install it with: apt-get install ${need.debian}`);
  }
  const blocked = (name) => missing.filter((need) => need.parts?.includes(name));
  if (values['dry-run']) {
    for (const name of chosen) {
      const { file, args } = command(name, PARTS[name].e2e ? e2eFiles : otherFiles);
      const why = blocked(name);
      console.log(`[npm test] would run ${name}: ${why.length > 0 ? `NOT RUN (needs ${why.map((need) => need.debian).join(' ')})` : [PARTS[name].nodeRed === 5 ? 'HB_NODE_RED=5' : '', file === process.execPath ? 'node' : path.relative(ROOT, file), ...args].filter(Boolean).join(' ')}`);
    }
    return 0;
  }

  const results = [];
  for (const name of chosen) {
    const why = blocked(name);
    if (why.length > 0) {
      results.push({ name, notRun: `apt-get install ${why.map((need) => need.debian).join(' ')}` });
      continue;
    }
    console.error(`\n[npm test] ${name}`);
    const result = await run(name, PARTS[name].e2e ? e2eFiles : otherFiles);
    console.error(`[npm test] ${name} ended: ${result.passed ?? 0} passed, ${result.failed ?? 0} failed in ${duration(result.seconds)}`);
    results.push(result);
  }

  for (const result of results.filter((r) => r.failures?.length > 0)) {
    console.log(`\n[npm test] ${result.name}: the failures again (first ${FAILURE_LINES} lines, stack frames of Node and node_modules left out)`);
    for (const line of result.failures) console.log(line);
  }

  console.log('\n[npm test] summary');
  let passed = 0;
  let failed = 0;
  let pending = 0;
  const partsNotRun = [];
  for (const result of results) {
    if (result.notRun) {
      console.log(`  ${result.name}: NOT RUN, a system package is missing: ${result.notRun}`);
      partsNotRun.push(result.name);
      continue;
    }
    passed += result.passed ?? 0;
    failed += result.failed ?? 0;
    pending += result.pending ?? 0;
    const skipped = result.pending ? `, ${result.pending} NOT RUN (pending)` : '';
    const error = result.error ? `, ${result.error}` : '';
    console.log(`  ${result.name}: ${result.passed ?? 0} passed, ${result.failed ?? 0} failed${skipped}${error} (${duration(result.seconds)})`);
  }
  for (const need of missing.filter((n) => n.tests)) console.log(`  missing ${need.debian}: ${need.tests} fails (apt-get install ${need.debian})`);
  const broken = results.some((result) => result.notRun || result.error || result.code !== 0 || result.pending);
  const notRun = [pending > 0 ? `${pending} not run` : '', partsNotRun.length > 0 ? `NOT RUN: ${partsNotRun.join(', ')}` : ''].filter(Boolean);
  console.log(`tests: ${passed} passed, ${failed} failed${notRun.length > 0 ? `, ${notRun.join('; ')}` : ''}`);
  return broken || failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[npm test] ${error.message}`);
    process.exit(1);
  },
);
