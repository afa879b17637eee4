import assert from 'node:assert/strict';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { useNodeRed } from './harness/node-red';

/**
 * No open door by default, in a real Node-RED: a receiver with neither a key nor an allow-list is
 * named in one warning in the log at deploy and shows "open" in its status, and still takes the
 * vendor's pushes; one with a key or an allow-list says nothing. The key is a text credential, so
 * the editor can show the callback URL with it again after a reload, and the pseudonymization
 * key still never leaves the runtime.
 */

const KEY = 'Kx7-receiver-key-of-the-ward-3_w9';
const PII_KEY = 'pii-secret-that-never-leaves-the-runtime';

let pushNumber = 0;
function sinocarePush(): any {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = `open-${++pushNumber}`;
  return body;
}

describe('a receiver with neither key nor allow-list (real Node-RED)', function () {
  const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });

  const flows = (): object[] => [
    ...receiverFlow({ id: 'open', type: 'sinocare-in', path: '/ward-3', properties: { name: 'ward 3 glucose' } }),
    ...receiverFlow({ id: 'keyed', type: 'lezhi-in', path: '/keyed', properties: { name: 'keyed lezhi', credentials: { key: KEY, piiKey: PII_KEY } } }),
    ...receiverFlow({ id: 'listed', type: 'viatom-in', path: '/listed', properties: { name: 'listed viatom', allow: '127.0.0.1, ::1' } }),
  ];
  const warnings = (log: string): string[] => log.split('\n').filter((line) => /\[warn\]/.test(line) && /open to anyone/.test(line));

  let deployLog = '';
  let openStatus: Record<string, unknown> | undefined;
  before(async function () {
    const before = nodeRed.logs.length;
    await nodeRed.deploy(flows());
    // The warning comes on the turn after the node is created, with the status a Status node hears.
    openStatus = (await nodeRed.waitForMessages(1, 'open/statuses'))[0]?.msg.status;
    deployLog = nodeRed.logs.slice(before);
  });

  it('logs one warning at deploy that names the node and its path, and none for a receiver with a key or an allow-list', function () {
    const lines = warnings(deployLog);
    assert.equal(lines.length, 1, deployLog);
    assert.match(lines[0]!, /\[warn\] \[sinocare-in:ward 3 glucose\]/);
    assert.match(lines[0]!, /\/ward-3 has neither a key nor an allow-list/);
    assert.doesNotMatch(deployLog, /keyed lezhi.*open|listed viatom.*open/);
    for (const secret of [KEY, PII_KEY]) assert.equal(nodeRed.logs.includes(secret), false, 'a secret in the log');
  });

  it('shows "open" in a yellow ring, and goes on taking pushes', async function () {
    const { fill, shape, text } = openStatus ?? {};
    assert.deepEqual({ fill, shape, text }, { fill: 'yellow', shape: 'ring', text: 'open: no key or allow-list · /ward-3' });
    const answer = await postJson(`${nodeRed.url}/ward-3`, sinocarePush());
    assert.equal(answer.status, 200, answer.text);
    assert.equal((await nodeRed.waitForMessages(1, 'open/readings')).length, 1);
  });

  it('gives the editor the key (text credential) to rebuild the callback URL, and only has_piiKey for the PII key', async function () {
    const editorView = await request(`${nodeRed.url}/credentials/lezhi-in/keyed`, { headers: { accept: 'application/json' } });
    assert.equal(editorView.status, 200);
    assert.deepEqual(editorView.json, { key: KEY, has_piiKey: true });
    const open = await request(`${nodeRed.url}/credentials/sinocare-in/open`, { headers: { accept: 'application/json' } });
    assert.deepEqual(open.json, { key: '', has_piiKey: false });
  });

  it('says nothing more once it has a key: the next deploy logs no warning and its status is its path', async function () {
    await nodeRed.clearMessages();
    const before = nodeRed.logs.length;
    const keyed = flows().map((node: any) => (node.id === 'open' ? { ...node, credentials: { key: KEY, piiKey: '' } } : node));
    await nodeRed.deploy(keyed);
    // A receiver that is not open sets its (green) status while it is created, before the Status
    // node listens: nothing yellow arrives, and the log has no warning.
    const statuses = await nodeRed.settledMessages('open/statuses');
    assert.deepEqual(statuses.filter((message) => message.msg.status.fill === 'yellow'), []);
    assert.deepEqual(warnings(nodeRed.logs.slice(before)), []);
    assert.equal((await postJson(`${nodeRed.url}/ward-3`, sinocarePush())).status, 401, 'without the key now');
    assert.equal((await postJson(`${nodeRed.url}/ward-3?key=${KEY}`, sinocarePush())).status, 200);
  });
});
