import assert from 'node:assert/strict';
import { ExpeedCloud } from '../../src/sandbox/expeed-cloud';
import { catchAll, helper, load, nextMessage, noMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * expeed-set on the test helper: what it refuses before posting anything, and what a Catch node
 * hears. Waiting for the result push that an expeed-in receives: test/expeed-nodes.test.ts (real HTTP).
 */

const modules = nodes('expeed-account', 'expeed-set');
const PLATFORM_KEY = 'pk-helper';
const SECRET_KEY = 'sk-helper-never-log-me';
const DEVICE = { id: 'dev-001', key: 'dk-dev-001-secret' };
const SETTINGS = { interval: 60 };

describe('expeed-set (test helper)', function () {
  useHelper();
  let cloud: ExpeedCloud;
  beforeEach(async function () {
    cloud = await ExpeedCloud.start({ platformKey: PLATFORM_KEY, secretKey: SECRET_KEY, devices: [DEVICE] });
    cloud.settingResultDelayMs = null;
  });
  afterEach(async function () {
    await cloud?.close();
  });

  const deploy = (properties: Record<string, unknown> = {}, withAccount = true): Promise<void> =>
    load(
      modules,
      [
        ...catchAll(),
        { id: 'set', z: TAB, type: 'expeed-set', name: '', account: 'acct', deviceId: DEVICE.id, waitSeconds: 0, version: 1, wires: [['out']], ...properties },
        { id: 'out', z: TAB, type: 'helper' },
        ...(withAccount
          ? [{ id: 'acct', type: 'expeed-account', name: 'hospital', apiBase: cloud.url, platformKey: PLATFORM_KEY, tz: 'Asia/Shanghai', timeout: 2, version: 1 }]
          : []),
      ],
      { acct: { secretKey: SECRET_KEY }, set: { deviceKey: DEVICE.key } },
    );

  async function rejected(msg: Record<string, unknown>): Promise<Record<string, any>> {
    const caught = nextMessage('caught');
    helper.getNode('set').receive(msg);
    const heard = await caught;
    assert.equal(heard.error.source.id, 'set');
    await noMessage('out');
    return heard;
  }

  it('without an account, the Catch node hears "no account" and the settings stay in msg.payload', async function () {
    await deploy({ account: '' }, false);
    const heard = await rejected({ payload: { ...SETTINGS } });
    assert.match(heard.error.message, /no-config {"type":"expeed-account"}/);
    assert.deepEqual(heard.payload, SETTINGS);
  });

  it('settings that are not an object are refused by naming msg.payload, and nothing is posted', async function () {
    await deploy();
    const heard = await rejected({ payload: 'interval=60' });
    assert.match(heard.error.message, /settings-not-object/);
    assert.equal(heard.payload, 'interval=60');
    assert.equal(cloud.apiCalls.setting, 0);
  });

  it('a negative waitSeconds is refused by name, and nothing is posted', async function () {
    await deploy({ waitSeconds: -1 });
    const heard = await rejected({ payload: { ...SETTINGS } });
    assert.match(heard.error.message, /waitSeconds/);
    assert.deepEqual(heard.payload, SETTINGS);
    assert.equal(cloud.apiCalls.setting, 0);
  });

  it('with its account and waitSeconds 0, the settings are posted once and accepted at once', async function () {
    await deploy();
    const out = nextMessage('out');
    helper.getNode('set').receive({ payload: { ...SETTINGS } });
    const msg = await out;
    assert.equal(msg.payload.accepted, true);
    assert.equal(typeof msg.payload.messageId, 'string');
    assert.equal(cloud.apiCalls.setting, 1);
  });
});
