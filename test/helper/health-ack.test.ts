import assert from 'node:assert/strict';
import { callsOf, firstCall, helper, load, nextMessage, nodes, TAB, useHelper } from './setup';

/**
 * health-ack on the test helper: what it does with a message that no `ack: flow` receiver is
 * waiting for. Answering the vendor once every message of a push has arrived needs the receiver's
 * HTTP request: test/receiver.test.ts.
 */

const modules = nodes('health-ack');

describe('health-ack (test helper)', function () {
  useHelper();
  beforeEach(function (done) {
    load(modules, [
      { id: TAB, type: 'tab', label: 'test' },
      { id: 'ack', z: TAB, type: 'health-ack', name: '', wires: [['out']] },
      { id: 'out', z: TAB, type: 'helper' },
    ]).then(() => done(), done);
  });

  it('messages without _ack (a receiver left in ack: auto) pass on unchanged, with one warning per deploy and a yellow status', async function () {
    const node = helper.getNode('ack');
    for (const payload of ['first', 'second']) {
      const out = nextMessage('out');
      node.receive({ payload });
      assert.equal((await out).payload, payload);
    }
    const warnings = callsOf(node, 'warn');
    assert.equal(warnings.length, 1, 'one warning, not one per message');
    assert.match(String(warnings[0]?.args[0]), /no-ack|_ack|ack: ?flow/);
    assert.equal((await firstCall(node, 'status')).args[0].fill, 'yellow');
  });

  it('a message whose push is no longer waiting (it timed out, or the flow was redeployed) passes on with a warning', async function () {
    const node = helper.getNode('ack');
    const out = nextMessage('out');
    node.receive({ payload: 'late', _ack: 'gone.0' });
    assert.equal((await out).payload, 'late');
    assert.match(String((await firstCall(node, 'warn')).args[0]), /not-pending|no longer|not waiting/);
  });
});
