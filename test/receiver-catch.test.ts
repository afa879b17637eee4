import assert from 'node:assert/strict';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { useNodeRed } from './harness/node-red';

/**
 * A refused push reaches a Catch node scoped to its receiver as the docs say
 * (docs/receivers.md#answers): `msg.topic` `<vendor>/rejected`, the status the vendor was
 * answered, and `msg.error.code` naming the refusal, so a flow can switch on it.
 */

const KEY = 'catch-test-receiver-key-0123456789';

describe('a refused push at a Catch node (real Node-RED)', function () {
  const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });

  before(async function () {
    await nodeRed.deploy(receiverFlow({ id: 'rx', type: 'sinocare-in', path: '/refusing', properties: { credentials: { key: KEY, piiKey: '' } } }));
  });

  it('a body that is not JSON: code not-json, 400, topic sinocare/rejected', async function () {
    const answer = await request(`${nodeRed.url}/refusing?key=${KEY}`, { method: 'POST', body: 'this is not json', headers: { 'content-type': 'application/json' } });
    assert.equal(answer.status, 400, answer.text);
    const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
    assert.equal(caught?.msg.error?.code, 'not-json');
    assert.equal(caught?.msg.topic, 'sinocare/rejected');
    assert.equal(caught?.msg.statusCode, 400);
  });

  it('a push without the key: code unauthorized, 401', async function () {
    await nodeRed.clearMessages();
    const answer = await postJson(`${nodeRed.url}/refusing`, bodyFixture('sinocare', 'document-example'));
    assert.equal(answer.status, 401, answer.text);
    const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
    assert.equal(caught?.msg.error?.code, 'unauthorized');
    assert.equal(caught?.msg.statusCode, 401);
  });
});
