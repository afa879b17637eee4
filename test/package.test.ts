import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed, ROOT } from './harness/node-red';

/**
 * The package as a user gets it: `npm pack`, `npm install <tarball>` in a plain Node-RED user
 * directory, no build step, and the nodes are there.
 */
describe('the npm package', function () {
  this.timeout(180_000);
  let nodeRed: NodeRed | undefined;
  let work: string;

  before(function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-pack-'));
  });
  after(async function () {
    await nodeRed?.stop();
  });

  it('installs from its tarball into a fresh user directory and its nodes appear in Node-RED', async function () {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(work, path.basename(packed[0]!.filename));
    const files = packed[0]!.files.map((f) => f.path);
    assert.ok(files.includes('dist/nodes/sinocare-in.html'), 'editor file packed');
    assert.ok(files.includes('dist/nodes/locales/zh-CN/sinocare-in.json'), 'Chinese labels packed');
    assert.equal(files.some((f) => f.startsWith('src/') || f.startsWith('test/')), false, 'no sources or tests packed');

    const userDir = path.join(work, 'user');
    fs.mkdirSync(userDir);
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: userDir, stdio: 'ignore' });

    nodeRed = await NodeRed.start({ userDir, linkPackage: false });
    const nodes = await request(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } });
    const types = (nodes.json as Array<{ module: string; types: string[] }>)
      .filter((set) => set.module === '@health-bridge/node-red-nodes')
      .flatMap((set) => set.types);
    const expected = [
      'lezhi-in', 'sinocare-in', 'viatom-in', 'viatom-account', 'viatom-auth',
      'expeed-in', 'expeed-account', 'expeed-token', 'expeed-query', 'expeed-set', 'health-ack',
    ];
    assert.deepEqual([...types].sort(), [...expected].sort());

    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, bodyFixture('sinocare', 'document-example'))).status, 200);
    assert.equal((await nodeRed.waitForMessages(1, 'rx/readings')).length, 1);
  });
});
