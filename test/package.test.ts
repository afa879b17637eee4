import assert from 'node:assert/strict';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed } from './harness/node-red';
import { installPackedPackage, packageJson, packPackage } from './harness/package';

/**
 * The package as a user gets it: `npm pack`, `npm install <tarball>` in a plain Node-RED user
 * directory, no build step, and the nodes are there.
 */
describe('the npm package', function () {
  this.timeout(180_000);
  let nodeRed: NodeRed | undefined;

  after(async function () {
    await nodeRed?.stop();
  });

  it('installs from its tarball into a fresh user directory and its nodes appear in Node-RED', async function () {
    const { files } = packPackage();
    assert.ok(files.includes('dist/nodes/sinocare-in.html'), 'editor file packed');
    assert.ok(files.includes('dist/nodes/locales/zh-CN/sinocare-in.json'), 'Chinese labels packed');
    assert.ok(files.includes('examples/hospital-bridge.json'), 'examples packed');
    assert.equal(files.some((f) => f.startsWith('src/') || f.startsWith('test/')), false, 'no sources or tests packed');

    const { userDir } = installPackedPackage();
    nodeRed = await NodeRed.start({ userDir, linkPackage: false });
    const nodes = await request(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } });
    const types = (nodes.json as Array<{ module: string; types: string[] }>)
      .filter((set) => set.module === '@health-bridge/node-red-nodes')
      .flatMap((set) => set.types);
    // every node package.json declares, the list Node-RED itself loads
    const expected = Object.keys(packageJson()['node-red'].nodes);
    assert.deepEqual([...types].sort(), [...expected].sort());

    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, bodyFixture('sinocare', 'document-example'))).status, 200);
    assert.equal((await nodeRed.waitForMessages(1, 'rx/readings')).length, 1);
  });
});
