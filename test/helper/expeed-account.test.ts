import assert from 'node:assert/strict';
import { ExpeedCloud } from '../../src/sandbox/expeed-cloud';
import { callsOf, firstCall, helper, load, nextMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * expeed-account on the test helper: its configuration version. Release 0.1.0 saved no `version`
 * and no `queryOnlineValue`, and read a queried `device_status` of 1 as online; such an account
 * still does (src/lib/config-version.ts, step 0 → 1), while one saved by this release keeps the
 * value it was given. Invalid properties are reported at deploy, by name.
 */

const modules = nodes('expeed-account', 'expeed-query');
const PLATFORM_KEY = 'pk-helper';
const SECRET_KEY = 'sk-helper-never-log-me';
const ONLINE = { id: 'dev-001', key: 'dk-dev-001-secret' };

describe('expeed-account (test helper)', function () {
  useHelper();
  let cloud: ExpeedCloud;
  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [ONLINE] });
  });
  afterEach(async function () {
    await cloud?.close();
  });

  /** The account as 0.1.0's editor saved it: no version, no queryOnlineValue. */
  const savedBy010 = (): FlowNode => ({
    id: 'acct', type: 'expeed-account', name: 'hospital', apiBase: cloud.url, platformKey: PLATFORM_KEY,
    dailyTokenCap: '150', tz: 'Asia/Shanghai', onlineValue: '0', timeout: '10',
  });

  async function statusOf(account: FlowNode): Promise<Record<string, unknown>> {
    await load(
      modules,
      [
        { id: TAB, type: 'tab', label: 'test' },
        account,
        { id: 'query', z: TAB, type: 'expeed-query', name: '', account: 'acct', operation: 'status', deviceId: ONLINE.id, wires: [['out']] },
        { id: 'out', z: TAB, type: 'helper' },
      ],
      { acct: { secretKey: SECRET_KEY }, query: { deviceKey: ONLINE.key } },
    );
    assert.deepEqual(callsOf(helper.getNode('acct'), 'error'), [], 'the account starts without an error');
    const out = nextMessage('out');
    helper.getNode('query').receive({ payload: 'ask' });
    return (await out).payload;
  }

  it('an account saved by 0.1.0 starts and still reads a queried status 1 as online', async function () {
    assert.deepEqual(await statusOf(savedBy010()), { deviceId: ONLINE.id, online: true, status: 1 });
  });

  it('an account saved by this release with queryOnlineValue 0 keeps it: status 1 is offline', async function () {
    assert.deepEqual(await statusOf({ ...savedBy010(), queryOnlineValue: '0', version: 1 }), { deviceId: ONLINE.id, online: false, status: 1 });
  });

  it('an account saved by a later release (version 2) is taken as it is', async function () {
    assert.deepEqual(await statusOf({ ...savedBy010(), queryOnlineValue: '1', version: 2 }), { deviceId: ONLINE.id, online: true, status: 1 });
  });

  it('an account with a negative token cap and a zero timeout reports both by name at deploy', async function () {
    await load(modules, [{ ...savedBy010(), dailyTokenCap: '-1', timeout: '0', version: 1 }], { acct: { secretKey: SECRET_KEY } });
    const error = String((await firstCall(helper.getNode('acct'), 'error')).args[0]);
    assert.match(error, /dailyTokenCap/);
    assert.match(error, /timeout/);
    assert.equal(cloud.tokenCalls, 0);
  });
});
