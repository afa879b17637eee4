import assert from 'node:assert/strict';
import { ExpeedCloud } from '../../src/sandbox/expeed-cloud';
import { callsOf, catchAll, firstCall, helper, load, nextMessage, noMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * expeed-token on the test helper: how it finds its account, and what a Catch node hears when it
 * cannot. The token itself against the emulator and across restarts: test/expeed-nodes.test.ts.
 */

const modules = nodes('expeed-account', 'expeed-token');
const PLATFORM_KEY = 'pk-helper';
const SECRET_KEY = 'sk-helper-never-log-me';

const tokenNode = (account: string): FlowNode => ({ id: 'token', z: TAB, type: 'expeed-token', name: '', account, wires: [['out']] });
const flow = (account: string, ...more: FlowNode[]): FlowNode[] => [...catchAll(), tokenNode(account), { id: 'out', z: TAB, type: 'helper' }, ...more];
const account = (properties: Record<string, unknown> = {}): FlowNode => ({
  id: 'acct', type: 'expeed-account', name: 'hospital', apiBase: 'http://127.0.0.1:9', platformKey: PLATFORM_KEY,
  dailyTokenCap: 150, tz: 'Asia/Shanghai', onlineValue: 0, queryOnlineValue: 1, timeout: 2, version: 1, ...properties,
});

describe('expeed-token (test helper)', function () {
  useHelper();

  it('without an account, the Catch node hears "no account" and the message keeps its payload', async function () {
    await load(modules, flow(''));
    const caught = nextMessage('caught');
    helper.getNode('token').receive({ payload: 'keep me', topic: 't' });
    const msg = await caught;
    assert.match(msg.error.message, /no-config {"type":"expeed-account"}/);
    assert.equal(msg.error.source.id, 'token');
    assert.equal(msg.payload, 'keep me');
    assert.equal((await firstCall(helper.getNode('token'), 'status')).args[0].fill, 'red');
    await noMessage('out');
  });

  it('with an account that was deleted (the id points nowhere), the Catch node hears "no account"', async function () {
    await load(modules, flow('gone'));
    const caught = nextMessage('caught');
    helper.getNode('token').receive({ payload: 42 });
    const msg = await caught;
    assert.match(msg.error.message, /no-config {"type":"expeed-account"}/);
    assert.equal(msg.payload, 42);
  });

  it('with an account whose properties are invalid, the account says so at deploy and the token node passes that on', async function () {
    await load(modules, flow('acct', account({ apiBase: 'ftp://nowhere', tz: 'Mars/Olympus' })), { acct: { secretKey: SECRET_KEY } });
    const accountError = String((await firstCall(helper.getNode('acct'), 'error')).args[0]);
    assert.match(accountError, /apiBase/);
    assert.match(accountError, /tz/);
    const caught = nextMessage('caught');
    helper.getNode('token').receive({ payload: 'keep me' });
    const msg = await caught;
    assert.ok(msg.error.message.includes(accountError), `${msg.error.message} passes on ${accountError}`);
    assert.equal(msg.payload, 'keep me');
  });

  it('with an account, the token node finds it: an account without a secret key is named, not "no account"', async function () {
    await load(modules, flow('acct', account()));
    assert.equal(helper.getNode('acct').type, 'expeed-account');
    assert.deepEqual(callsOf(helper.getNode('acct'), 'error'), []);
    const caught = nextMessage('caught');
    helper.getNode('token').receive({ payload: 'keep me' });
    const msg = await caught;
    assert.doesNotMatch(msg.error.message, /no-config {"type":"expeed-account"}/);
    assert.match(msg.error.message, /no-credentials|secret key/);
    assert.equal(msg.payload, 'keep me');
  });

  describe('with the Expeed emulator', function () {
    let cloud: ExpeedCloud;
    beforeEach(async function () {
      cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [] });
    });
    afterEach(async function () {
      await cloud?.close();
    });

    it('a message through the token node comes out with the account\'s token, and a second one costs no token call', async function () {
      await load(modules, flow('acct', account({ apiBase: cloud.url })), { acct: { secretKey: SECRET_KEY } });
      const out = nextMessage('out');
      helper.getNode('token').receive({ payload: 'anything' });
      const msg = await out;
      assert.equal(typeof msg.payload.accessToken, 'string');
      assert.equal(new Date(msg.payload.expiresAt).toISOString(), msg.payload.expiresAt);
      const again = nextMessage('out');
      helper.getNode('token').receive({ payload: 'again' });
      assert.equal((await again).payload.accessToken, msg.payload.accessToken);
      assert.equal(cloud.tokenCalls, 1);
      assert.deepEqual(callsOf(helper.getNode('catcher'), 'send'), []);
    });
  });
});
