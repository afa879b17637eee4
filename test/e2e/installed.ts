import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeRed, ROOT, type StartOptions } from '../harness/node-red';

/**
 * Node-RED as a user gets it: the `npm pack` tarball (built by `npm run build`) installed into a
 * fresh user directory, no link to this checkout. HTTP nodes live under `httpNodeRoot: /hooks`,
 * so that a callback URL that forgets it is caught.
 */
export interface Installed {
  nodeRed: NodeRed;
  /** The installed package, for its locale files and examples as Node-RED reads them. */
  packageDir: string;
  cleanup(): Promise<void>;
}

export const HTTP_NODE_ROOT = '/hooks';

/** `adminUsers`: Node-RED's adminAuth on, with these users (the harness deploys as the first). */
export async function startInstalledNodeRed(options: Pick<StartOptions, 'adminUsers'> = {}): Promise<Installed> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-e2e-'));
  try {
    return await install(work, options);
  } catch (error) {
    fs.rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

async function install(work: string, options: Pick<StartOptions, 'adminUsers'>): Promise<Installed> {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as Array<{ filename: string }>;
  const tarball = path.join(work, path.basename(packed[0]!.filename));
  const userDir = path.join(work, 'user');
  fs.mkdirSync(userDir);
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: userDir, stdio: 'ignore' });

  const nodeRed = await NodeRed.start({
    userDir,
    linkPackage: false,
    // The harness knows Node-RED has started from its info lines.
    logLevel: 'info',
    settings: {
      // Only Node-RED's own nodes beside ours: the harness's test nodes stay out of the palette.
      nodesDir: [],
      httpNodeRoot: HTTP_NODE_ROOT,
      // No palette manager: it would fetch the public catalogue, which this machine cannot reach.
      editorTheme: { tours: false, palette: { editable: false } },
    },
    ...options,
  });
  return {
    nodeRed,
    packageDir: path.join(userDir, 'node_modules', '@health-bridge', 'node-red-nodes'),
    async cleanup() {
      await nodeRed.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
