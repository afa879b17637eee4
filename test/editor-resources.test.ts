import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NODE_TYPE_NAMES, RECEIVER_TYPES } from '../src/lib/registry';
import { request } from './harness/http';
import { NodeRed, ROOT } from './harness/node-red';
import { packPackage } from './harness/package';

/**
 * The editor code the nodes share (the validators' rules, registerType's shared parts and the
 * env-variable inputs: every node; the receivers' form; the configuration steps) is one file each in
 * the package's resources/, which Node-RED serves at resources/<module>/…: every editor file loads
 * it with a <script src>, none carries a copy of it.
 */

const MODULE = '@health-bridge/node-red-nodes';
const SHARED_SCRIPTS: Record<string, { users: readonly string[]; marker: string }> = {
  'editor-rules.js': { users: NODE_TYPE_NAMES, marker: 'validator: function' },
  'node-editor.js': { users: NODE_TYPE_NAMES, marker: 'registerType: function' },
  'receiver-editor.js': { users: RECEIVER_TYPES, marker: 'outputsWithoutAck: function' },
  'env-input.js': { users: NODE_TYPE_NAMES, marker: 'isReference: function' },
  'config-migrate.js': { users: ['health-fhir', 'health-hl7'], marker: 'versionOf: function' },
};

/** The editor HTML Node-RED sends for each of our node files (`GET /nodes`, one section per file). */
function editorFilesOf(html: string): Record<string, string> {
  const files: Record<string, string> = {};
  const sections = html.split(/<!-- --- \[red-module:([^\]]+)\] --- -->/);
  for (let i = 1; i < sections.length; i += 2) {
    const id = sections[i] as string;
    if (id.startsWith(`${MODULE}/`)) files[id.slice(MODULE.length + 1)] = sections[i + 1] as string;
  }
  return files;
}

describe('the editor code the nodes share', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed | undefined;

  before(async function () {
    nodeRed = await NodeRed.start();
  });
  after(async function () {
    await nodeRed?.stop();
  });

  it('is served by Node-RED from the package resources, and each editor file loads it instead of carrying a copy', async function () {
    const nodes = await request(`${nodeRed!.url}/nodes`, { headers: { accept: 'text/html' } });
    assert.equal(nodes.status, 200);
    const files = editorFilesOf(nodes.text);
    for (const [script, { users, marker }] of Object.entries(SHARED_SCRIPTS)) {
      const text = fs.readFileSync(path.join(ROOT, 'resources', script), 'utf8');
      assert.ok(text.includes(marker), `${script} holds what the editor files must not copy`);
      const src = `resources/${MODULE}/${script}`;
      for (const user of users) {
        const file = files[user];
        assert.ok(file, `Node-RED sends the editor file of ${user}`);
        assert.ok(file.includes(`<script type="text/javascript" src="${src}"></script>`), `${user} loads ${src}`);
        assert.equal(file.includes(marker), false, `${user} carries no copy of ${script}`);
      }
      // the editor asks for it relative to its own root, as it does for every src that is not absolute
      const served = await request(`${nodeRed!.url}/${src}`);
      assert.equal(served.status, 200, `GET /${src}`);
      assert.match(String(served.headers['content-type']), /javascript/);
      assert.equal(served.text, text);
    }
    // and loads none it does not use
    for (const [name, file] of Object.entries(files)) {
      const loaded = [...file.matchAll(/src="resources\/[^"]*\/([\w.-]+)"/g)].map((match) => match[1]);
      assert.deepEqual(loaded.filter((script) => !SHARED_SCRIPTS[script!]?.users.includes(name)), [], name);
    }
  });

  it('is in the npm package, where Node-RED looks for it (resources/ beside package.json)', function () {
    const { files } = packPackage();
    for (const script of Object.keys(SHARED_SCRIPTS)) assert.ok(files.includes(`resources/${script}`), `resources/${script} packed`);
  });
});
