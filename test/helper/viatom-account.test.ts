import assert from 'node:assert/strict';
import { callsOf, firstCall, helper, load, nodes, useHelper } from './setup';

/** viatom-account on the test helper: what it says at deploy about its host. */

const modules = nodes('viatom-account');

describe('viatom-account (test helper)', function () {
  useHelper();

  it('an account saved by 0.1.0 with the default host starts and warns once that it is Viatom\'s test host', async function () {
    // 0.1.0's editor saved no version; the host was blank for the default
    await load(modules, [{ id: 'acct', type: 'viatom-account', name: '', host: '', language: 'zh-CN', timeout: '10' }]);
    const node = helper.getNode('acct');
    assert.match(String((await firstCall(node, 'warn')).args[0]), /test-host|test host/);
    assert.match(String(callsOf(node, 'warn')[0]?.args[0]), /open\.viatomtech\.com\.cn/);
    assert.equal(callsOf(node, 'warn').length, 1);
    assert.deepEqual(callsOf(node, 'error'), []);
  });

  it('an account on another host starts without a warning', async function () {
    await load(modules, [{ id: 'acct', type: 'viatom-account', name: '', host: 'https://open.example.cn', language: 'en-US', timeout: 10, version: 1 }]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(callsOf(helper.getNode('acct'), 'warn'), []);
  });
});
