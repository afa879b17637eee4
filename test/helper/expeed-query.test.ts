import assert from 'node:assert/strict';
import { ExpeedCloud } from '../../src/sandbox/expeed-cloud';
import { catchAll, firstCall, helper, load, nextMessage, noMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * expeed-query on the test helper: a query the node can tell is wrong fails through done(err),
 * so a Catch node hears it with the message unchanged, and costs no request. Paging, the token
 * and the vendor's answers over real HTTP: test/expeed-nodes.test.ts, test/going-live-expeed.test.ts.
 */

const modules = nodes('expeed-account', 'expeed-query');
const PLATFORM_KEY = 'pk-helper';
const SECRET_KEY = 'sk-helper-never-log-me';
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-secret' };

describe('expeed-query (test helper)', function () {
  useHelper();
  let cloud: ExpeedCloud;
  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE] });
  });
  afterEach(async function () {
    await cloud?.close();
  });

  const account = (): FlowNode => ({
    id: 'acct', type: 'expeed-account', name: 'hospital', apiBase: cloud.url, platformKey: PLATFORM_KEY,
    dailyTokenCap: 150, tz: 'Asia/Shanghai', onlineValue: 0, queryOnlineValue: 1, timeout: 2, version: 1,
  });
  const query = (properties: Record<string, unknown> = {}): FlowNode => ({
    id: 'query', z: TAB, type: 'expeed-query', name: '', account: 'acct', operation: 'history', deviceId: DEVICE.id,
    ids: 'all', limit: 100, first: 0, allPages: false, version: 1, wires: [['out']], ...properties,
  });
  const deploy = (properties: Record<string, unknown> = {}, withAccount = true): Promise<void> =>
    load(modules, [...catchAll(), query(properties), { id: 'out', z: TAB, type: 'helper' }, ...(withAccount ? [account()] : [])], {
      acct: { secretKey: SECRET_KEY },
      query: { deviceKey: DEVICE.key },
    });

  /** Sends `msg` into the query node; resolves with what the Catch node hears. */
  async function rejected(msg: Record<string, unknown>): Promise<Record<string, any>> {
    const caught = nextMessage('caught');
    helper.getNode('query').receive(msg);
    const heard = await caught;
    assert.equal(heard.error.source.id, 'query');
    assert.equal((await firstCall(helper.getNode('query'), 'status')).args[0].fill, 'red');
    await noMessage('out');
    return heard;
  }

  it('without an account, the Catch node hears "no account" and the message keeps its payload', async function () {
    await deploy({ account: '' }, false);
    const heard = await rejected({ payload: { limit: 5 } });
    assert.match(heard.error.message, /no-config {"type":"expeed-account"}/);
    assert.deepEqual(heard.payload, { limit: 5 });
  });

  it('a limit of 7000 on the node is refused by name, and no request is made', async function () {
    await deploy({ limit: 7000 });
    const heard = await rejected({ payload: 'keep me' });
    assert.match(heard.error.message, /limit/);
    assert.equal(heard.payload, 'keep me');
    assert.equal(cloud.apiCalls.history, 0);
    assert.equal(cloud.tokenCalls, 0);
  });

  it('a message asking for limit 0 is refused by name, and the history is not asked', async function () {
    await deploy();
    const heard = await rejected({ payload: { limit: 0 } });
    assert.match(heard.error.message, /limit/);
    assert.deepEqual(heard.payload, { limit: 0 });
    assert.equal(cloud.apiCalls.history, 0);
  });

  it('a message with a start but no end is refused by name', async function () {
    await deploy();
    const heard = await rejected({ payload: { start: '2024-01-01T00:00:00+08:00' } });
    assert.match(heard.error.message, /start/);
    assert.equal(cloud.apiCalls.history, 0);
  });

  it('a query without a device key (neither on the node nor in msg.deviceKey) is refused, and no request is made', async function () {
    await load(modules, [...catchAll(), query(), { id: 'out', z: TAB, type: 'helper' }, account()], { acct: { secretKey: SECRET_KEY } });
    const heard = await rejected({ payload: {} });
    assert.match(heard.error.message, /device.?key/i);
    assert.equal(cloud.apiCalls.history, 0);
    assert.equal(cloud.tokenCalls, 0);
  });

  it('an unknown operation is refused by name', async function () {
    await deploy({ operation: 'delete' });
    const heard = await rejected({ payload: 1 });
    assert.match(heard.error.message, /operation/);
  });

  it('with its account, a status query comes out with the device online', async function () {
    await deploy({ operation: 'status' });
    const out = nextMessage('out');
    helper.getNode('query').receive({ payload: 'ask' });
    assert.deepEqual((await out).payload, { deviceId: DEVICE.id, online: true, status: 1 });
  });
});
