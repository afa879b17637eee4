// The first step of `npm start` and `npm test`, so that either works as the first command typed on
// a fresh clone: it checks this machine's Node against package.json's `engines`, and installs the
// dependencies (`npm ci`) when node_modules is missing or does not match package-lock.json.
// It runs before node_modules exist, so it uses Node's standard library only.
//   node scripts/bootstrap.mjs           the check, and `npm ci` when needed
//   node scripts/bootstrap.mjs --check   the check only: says what is stale, exit code 1 if anything is
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `1.2.3` as numbers; a missing part is 0. */
function versionParts(version) {
  return version.replace(/^[^0-9]*/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/** Why this Node cannot run the package (engines.node is a `>=` range), or undefined when it can. */
export function nodeTooOld(root = ROOT, running = process.versions.node) {
  const range = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines?.node ?? '';
  const minimum = /^>=\s*([0-9.]+)$/.exec(range.trim())?.[1];
  if (!minimum) return undefined;
  const have = versionParts(running);
  const want = versionParts(minimum);
  for (let i = 0; i < 3; i++) {
    if (have[i] > want[i]) return undefined;
    if (have[i] < want[i]) return `this is Node ${running}; the package needs Node ${range} (https://nodejs.org, or your system's package manager)`;
  }
  return undefined;
}

/**
 * Why node_modules does not match package-lock.json, or undefined when it does. npm keeps what it
 * installed in node_modules/.package-lock.json; every package the lock names must be there at the
 * locked version, and its folder must still exist. A package marked optional may be missing: npm
 * leaves out those made for another platform.
 */
export function dependenciesStale(root = ROOT) {
  const modules = path.join(root, 'node_modules');
  if (!fs.existsSync(modules)) return 'node_modules is missing';
  const installedFile = path.join(modules, '.package-lock.json');
  if (!fs.existsSync(installedFile)) return 'node_modules has no record of what npm installed (node_modules/.package-lock.json)';
  const locked = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const installed = JSON.parse(fs.readFileSync(installedFile, 'utf8')).packages ?? {};
  for (const [where, entry] of Object.entries(locked)) {
    if (!where.startsWith('node_modules/')) continue;
    const have = installed[where];
    if (!have || !fs.existsSync(path.join(root, where))) {
      if (entry.optional) continue;
      return `${where} is not installed`;
    }
    if (entry.version !== undefined && have.version !== entry.version) {
      return `${where} is ${have.version}, package-lock.json has ${entry.version}`;
    }
  }
  return undefined;
}

/** Runs `npm ci` when the dependencies are stale; throws, saying why, where it cannot or it fails. */
export function ensureDependencies(root = ROOT, log = (line) => console.error(line)) {
  const stale = dependenciesStale(root);
  if (stale === undefined) return false;
  const modules = path.join(root, 'node_modules');
  // npm ci empties node_modules first: through a link, that would empty a directory someone else uses
  if (fs.existsSync(modules) && fs.lstatSync(modules).isSymbolicLink()) {
    throw new Error(
      `node_modules does not match package-lock.json (${stale}), and it is a link to ${fs.realpathSync(modules)}: ` +
        'run `npm ci` there, or remove the link and run this again',
    );
  }
  log(`[bootstrap] ${stale}: installing the dependencies (npm ci)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--include=dev', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw new Error(`npm ci could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`npm ci failed (exit code ${result.status ?? result.signal})`);
  const still = dependenciesStale(root);
  if (still !== undefined) throw new Error(`after npm ci, node_modules still does not match package-lock.json: ${still}`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const checkOnly = process.argv.includes('--check');
  try {
    const old = nodeTooOld();
    if (old) throw new Error(old);
    if (checkOnly) {
      const stale = dependenciesStale();
      console.log(stale === undefined ? '[bootstrap] node_modules matches package-lock.json' : `[bootstrap] ${stale}`);
      process.exitCode = stale === undefined ? 0 : 1;
    } else {
      ensureDependencies();
    }
  } catch (error) {
    console.error(`[bootstrap] ${error.message}`);
    process.exit(1);
  }
}
