import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed } from './harness/node-red';

/**
 * A receiver whose `dedupStore` names a Node-RED context store, in a real Node-RED: the keys an
 * installed 0.1.0 saved are honoured after the upgrade, and a context store that fails makes the
 * receiver answer 503 (the vendor retries) until it is back, without a redeploy.
 */

let pushNumber = 0;
function sinocarePush(): any {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = `dedup-store-${process.pid}-${++pushNumber}`;
  return body;
}

/** A context store for these tests: in memory, and failing every call while `store-down` exists beside settings.js. */
const FLAKY_STORE = `contextStorage: {
  default: { module: 'memory' },
  flaky: { module: function () {
    const data = {};
    const down = () => require('fs').existsSync(require('path').join(__dirname, 'store-down'));
    const fail = (callback) => { callback(new Error('context store down')); return true; };
    const scoped = (scope) => (data[scope] = data[scope] || {});
    return {
      open: () => Promise.resolve(),
      close: () => Promise.resolve(),
      get: (scope, key, callback) => down() ? fail(callback) : callback(null, scoped(scope)[key]),
      set: (scope, key, value, callback) => {
        if (down()) return fail(callback);
        if (value === undefined) delete scoped(scope)[key]; else scoped(scope)[key] = value;
        callback(null);
      },
      keys: (scope, callback) => down() ? fail(callback) : callback(null, Object.keys(scoped(scope))),
      delete: (scope) => { delete data[scope]; return Promise.resolve(); },
      clean: () => Promise.resolve(),
    };
  } },
},`;

describe('receivers with a dedup context store', function () {
  let nodeRed: NodeRed | undefined;
  afterEach(async function () {
    await nodeRed?.stop();
    nodeRed = undefined;
  });

  it('after the upgrade from 0.1.0, honour the keys it saved, and keep them in buckets instead', async function () {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-node-red-'));
    const kept = sinocarePush();
    // What 0.1.0 left in the receiver's context file: every key in one variable, as
    // [first 16 bytes of the key's SHA-256 in base64, expiry in epoch ms].
    const digest = createHash('sha256').update(kept.data.testId).digest().subarray(0, 16).toString('base64');
    const contextFile = path.join(userDir, 'context', 'tab-rx', 'rx.json');
    fs.mkdirSync(path.dirname(contextFile), { recursive: true });
    fs.writeFileSync(contextFile, JSON.stringify({ 'health-bridge-dedup': [[digest, Date.now() + 3_600_000]] }));

    nodeRed = await NodeRed.start({ userDir, settings: { contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem' } } } });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { dedupStore: 'file' } }));
    const url = `${nodeRed.url}/sinocare`;
    assert.equal((await postJson(url, kept)).status, 200);
    assert.equal((await postJson(url, sinocarePush())).status, 200);
    assert.equal((await nodeRed.settledMessages('rx/readings', 500)).length, 1, 'the push 0.1.0 had seen is not emitted again');

    nodeRed = await nodeRed.restart();
    const saved = JSON.parse(fs.readFileSync(contextFile, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(saved).filter((name) => !/^health-bridge-dedup-h\d+$/.test(name)), [], Object.keys(saved).join());
    assert.ok(Object.keys(saved).length >= 1);
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, kept)).status, 200);
    assert.equal((await nodeRed.settledMessages('rx/readings', 500)).length, 0, 'still a duplicate after the old variable is gone');
  });

  it('answer 503 while the context store fails, say so in the status, and take pushes again once it is back', async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, settingsSource: FLAKY_STORE });
    const down = path.join(nodeRed.userDir, 'store-down');
    fs.writeFileSync(down, '');
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { dedupStore: 'flaky' } }));
    const url = `${nodeRed.url}/sinocare`;
    const body = sinocarePush();
    const refused = await postJson(url, body);
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json, { code: 503, msg: 'temporarily unavailable' });
    const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
    assert.match(caught?.msg.error.message, /dedup store failed: context store down/);
    const statuses = await nodeRed.settledMessages('rx/statuses');
    assert.equal(statuses.at(-1)?.msg.status.fill, 'red');
    assert.match(statuses.at(-1)?.msg.status.text, /dedup store failed/);
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 0);

    fs.rmSync(down);
    await nodeRed.clearMessages();
    assert.equal((await postJson(url, body)).status, 200);
    assert.equal((await postJson(url, body)).status, 200);
    assert.equal((await nodeRed.settledMessages('rx/readings', 500)).length, 1);
    const [recovered] = await nodeRed.waitForMessages(1, 'rx/statuses');
    assert.equal(recovered?.msg.status.fill, 'green');
  });
});
