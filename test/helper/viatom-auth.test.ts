import assert from 'node:assert/strict';
import { startCloudServer, type CloudServer } from '../../src/sandbox/cloud-server';
import { createViatomCloud, type ViatomCloud } from '../../src/sandbox/viatom-cloud';
import { catchAll, firstCall, helper, load, nextMessage, noMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * viatom-auth on the test helper: without a usable account it says so at deploy and on every
 * message; a phone it can tell is wrong is refused before any request, and never repeated in the
 * error. The authorization round trip with the cloud's pushes into viatom-in: test/viatom-nodes.test.ts.
 */

const modules = nodes('viatom-account', 'viatom-auth');
const SECRET = 'viatom-secret-never-log-me';
const ACCESS_TOKEN = 'viatom-access-token';
const PHONE = '13800138000';

describe('viatom-auth (test helper)', function () {
  useHelper();
  let cloud: ViatomCloud;
  let server: CloudServer;
  beforeEach(async function () {
    // no callbackUrl: the pushes a cancellation causes are only recorded
    cloud = createViatomCloud({ secret: SECRET, accessToken: ACCESS_TOKEN, authorizedPhones: [PHONE] });
    server = await startCloudServer(cloud.handler);
  });
  afterEach(async function () {
    await cloud.settled();
    await server?.close();
  });

  const account = (properties: Record<string, unknown> = {}): FlowNode => ({
    id: 'acct', type: 'viatom-account', name: 'hospital', host: server.url, language: 'en-US', timeout: 2, version: 1, ...properties,
  });
  const deploy = (auth: Record<string, unknown>, more: FlowNode[] = [account()], credentials = { secret: SECRET, accessToken: ACCESS_TOKEN }): Promise<void> =>
    load(
      modules,
      [
        ...catchAll(),
        { id: 'auth', z: TAB, type: 'viatom-auth', name: '', account: 'acct', operation: 'cancel', version: 1, wires: [['out']], ...auth },
        { id: 'out', z: TAB, type: 'helper' },
        ...more,
      ],
      { acct: credentials },
    );

  async function rejected(msg: Record<string, unknown>): Promise<Record<string, any>> {
    const caught = nextMessage('caught');
    helper.getNode('auth').receive(msg);
    const heard = await caught;
    assert.equal(heard.error.source.id, 'auth');
    await noMessage('out');
    return heard;
  }

  it('without an account, the node turns red at deploy, and the Catch node hears it on every message with the payload unchanged', async function () {
    await deploy({ account: '' }, []);
    const node = helper.getNode('auth');
    assert.match(String((await firstCall(node, 'error')).args[0]), /no-config {"type":"viatom-account"}/);
    assert.equal((await firstCall(node, 'status')).args[0].fill, 'red');
    const heard = await rejected({ payload: { phone: PHONE } });
    assert.match(heard.error.message, /no-config {"type":"viatom-account"}/);
    assert.deepEqual(heard.payload, { phone: PHONE });
  });

  it('an unknown operation is reported at deploy by name', async function () {
    await deploy({ operation: 'delete-user' });
    const node = helper.getNode('auth');
    assert.match(String((await firstCall(node, 'error')).args[0]), /operation/);
    assert.equal((await firstCall(node, 'status')).args[0].fill, 'red');
  });

  it('with an account whose host is not an http(s) URL, the Catch node hears the account name the host, and nothing is asked', async function () {
    await deploy({ operation: 'authorize-url' }, [account({ host: 'ftp://open.example' })]);
    const heard = await rejected({ payload: 'keep me' });
    assert.match(heard.error.message, /host/);
    assert.equal(heard.payload, 'keep me');
    assert.equal(cloud.requests.length, 0);
  });

  it('a cancel with a malformed phone is refused before any request, without repeating the number', async function () {
    await deploy({});
    const heard = await rejected({ payload: { phone: '12345-678' } });
    assert.match(heard.error.message, /phone/);
    assert.doesNotMatch(heard.error.message, /12345/);
    assert.deepEqual(heard.payload, { phone: '12345-678' });
    assert.equal(cloud.requests.length, 0);
    assert.equal((await firstCall(helper.getNode('auth'), 'status')).args[0].fill, 'red');
  });

  it('a cancel without a phone (neither msg.payload.phone nor msg.phone) is refused before any request', async function () {
    await deploy({});
    const heard = await rejected({ payload: {} });
    assert.match(heard.error.message, /phone/);
    assert.equal(cloud.requests.length, 0);
  });

  it('an account without its access token is named, and nothing is asked', async function () {
    await deploy({}, [account()], { secret: SECRET, accessToken: '' });
    const heard = await rejected({ payload: { phone: PHONE } });
    assert.match(heard.error.message, /credentials|access token/);
    assert.equal(cloud.requests.length, 0);
  });

  it('with its account, a cancel by msg.phone (with +86) comes out as {cancelled: true} after one request', async function () {
    await deploy({});
    const out = nextMessage('out');
    helper.getNode('auth').receive({ phone: '+86 138 0013 8000' });
    assert.deepEqual((await out).payload, { cancelled: true });
    assert.equal(cloud.requests.length, 1);
  });

  it('with its account, authorize-url comes out with the page to send the user to', async function () {
    await deploy({ operation: 'authorize-url' });
    const out = nextMessage('out');
    helper.getNode('auth').receive({ payload: 'any' });
    assert.match((await out).payload.url, /^http:\/\//);
  });
});
