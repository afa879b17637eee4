import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './node-red';

/** The package as a user gets it: `npm pack` once per test run, installed into user directories. */

export interface PackedPackage {
  tarball: string;
  /** Paths inside the tarball, relative to its package/ folder. */
  files: string[];
}

let packed: PackedPackage | undefined;

export function packPackage(): PackedPackage {
  if (packed) return packed;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-pack-'));
  const [result] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = { tarball: path.join(work, path.basename(result!.filename)), files: result!.files.map((f) => f.path) };
  return packed;
}

/** A plain Node-RED user directory with the tarball installed as `npm install <tarball>` does. */
export function installPackedPackage(): { userDir: string; packageDir: string } {
  const { tarball } = packPackage();
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-user-'));
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: userDir, stdio: 'ignore' });
  return { userDir, packageDir: path.join(userDir, 'node_modules', '@health-bridge', 'node-red-nodes') };
}

export interface PackageJson {
  name: string;
  'node-red': { version: string; nodes: Record<string, string> };
  [field: string]: unknown;
}

/** This checkout's package.json; its `node-red.nodes` says what NODE_TYPES of src/lib/registry.ts says (test/completeness.test.ts). */
export function packageJson(): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** Every node type package.json declares, with the base name its files share (`<base>.js`, `.html`, locales). */
export function nodeTypes(): Array<{ type: string; base: string }> {
  return Object.entries(packageJson()['node-red'].nodes).map(([type, file]) => ({ type, base: path.basename(file, '.js') }));
}

/** The built editor file of a node (dist/nodes/<base>.html: a receiver's is spliced together at build). */
export function builtEditor(base: string): string | undefined {
  const file = path.join(ROOT, 'dist', 'nodes', `${base}.html`);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}

/** True for a config node (`category: 'config'`): it has no icon and no place in the palette. */
export function isConfigNode(base: string): boolean {
  return /category:\s*['"]config['"]/.test(builtEditor(base) ?? '');
}

/** The icon file a node's editor names (`icon: '…'`), undefined when it names none. */
export function editorIcon(base: string): string | undefined {
  return /\bicon:\s*['"]([^'"]+)['"]/.exec(builtEditor(base) ?? '')?.[1];
}
