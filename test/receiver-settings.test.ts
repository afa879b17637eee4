import assert from 'node:assert/strict';
import { bodyFixture, receiverFlow } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed } from './harness/node-red';

/**
 * Receivers inside the Node-RED a hospital actually runs: a different httpNodeRoot, middleware,
 * CORS, a reverse proxy in front, httpNodeAuth, and a restart in the middle of a vendor's retries.
 * Each case starts its own Node-RED with those settings.
 */

let pushNumber = 0;
function sinocarePush(): any {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = `settings-${++pushNumber}`;
  return body;
}

describe('receivers under Node-RED settings', function () {
  let nodeRed: NodeRed | undefined;
  afterEach(async function () {
    await nodeRed?.stop();
    nodeRed = undefined;
  });

  it('listen under httpNodeRoot', async function () {
    nodeRed = await NodeRed.start({ settings: { httpNodeRoot: '/api' } });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    assert.equal((await postJson(`${nodeRed.url}/api/sinocare`, sinocarePush())).status, 200);
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, sinocarePush())).status, 404);
    assert.equal((await nodeRed.waitForMessages(1, 'rx/readings')).length, 1);
  });

  it('with httpNodeRoot false, show that they cannot listen and do not crash Node-RED', async function () {
    nodeRed = await NodeRed.start({ settings: { httpNodeRoot: false, lang: 'en-US' } });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    const [status] = await nodeRed.waitForMessages(1, 'rx/statuses');
    assert.match(status?.msg.status.text, /httpNodeRoot: false/);
    assert.match(nodeRed.logs, /httpNodeRoot is false/);
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, sinocarePush())).status, 404);
  });

  it('run behind httpNodeMiddleware, which can refuse a push before the receiver sees it', async function () {
    nodeRed = await NodeRed.start({
      settingsSource: `httpNodeMiddleware: function (req, res, next) {
        if (req.headers['x-block']) { res.status(418).send('blocked by middleware'); return; }
        res.setHeader('x-middleware', 'seen');
        next();
      },`,
    });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    const passed = await postJson(`${nodeRed.url}/sinocare`, sinocarePush());
    assert.equal(passed.status, 200);
    assert.equal(passed.headers['x-middleware'], 'seen');
    const blocked = await postJson(`${nodeRed.url}/sinocare`, sinocarePush(), { headers: { 'x-block': '1' } });
    assert.equal(blocked.status, 418);
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
  });

  it('answer with the CORS headers of httpNodeCors', async function () {
    nodeRed = await NodeRed.start({ settings: { httpNodeCors: { origin: 'https://his.hospital.example' } } });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    const response = await postJson(`${nodeRed.url}/sinocare`, sinocarePush(), { headers: { origin: 'https://his.hospital.example' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], 'https://his.hospital.example');
  });

  it('check the allow list against the forwarded address when a trusted proxy is in front', async function () {
    nodeRed = await NodeRed.start({ settings: { httpServerOptions: { 'trust proxy': 'loopback' } } });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { allow: '203.0.113.0/24' } }));
    const url = `${nodeRed.url}/sinocare`;
    assert.equal((await postJson(url, sinocarePush(), { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
    assert.equal((await postJson(url, sinocarePush(), { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 403);
    assert.equal((await postJson(url, sinocarePush())).status, 403);
  });

  it('ignore a forwarded address when no proxy is trusted', async function () {
    nodeRed = await NodeRed.start();
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { allow: '203.0.113.0/24' } }));
    const response = await postJson(`${nodeRed.url}/sinocare`, sinocarePush(), { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(response.status, 403);
  });

  it('are behind httpNodeAuth like every HTTP node: a push without the credentials gets 401 from Node-RED', async function () {
    nodeRed = await NodeRed.start({
      // "vendor-password" hashed with bcrypt, as Node-RED's settings file expects.
      settings: { httpNodeAuth: { user: 'vendor', pass: '$2b$08$riFri4C8d46599rtD1M0neT2EPkEjghYldXnmilvqNt8jYPDRzwy.' } },
    });
    await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare' }));
    const refused = await postJson(`${nodeRed.url}/sinocare`, sinocarePush());
    assert.equal(refused.status, 401);
    const basic = `Basic ${Buffer.from('vendor:vendor-password').toString('base64')}`;
    assert.equal((await postJson(`${nodeRed.url}/sinocare`, sinocarePush(), { headers: { authorization: basic } })).status, 200);
    assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
  });

  for (const [store, survives] of [['file', true], ['', false]] as const) {
    it(`${survives ? 'remember' : 'forget'} deduplicated pushes across a restart with dedupStore "${store}"`, async function () {
      nodeRed = await NodeRed.start({
        settings: {
          contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem' } },
        },
      });
      await nodeRed.deploy(receiverFlow({ type: 'sinocare-in', path: '/sinocare', properties: { dedupStore: store } }));
      const body = sinocarePush();
      assert.equal((await postJson(`${nodeRed.url}/sinocare`, body)).status, 200);
      await nodeRed.waitForMessages(1, 'rx/readings');
      nodeRed = await nodeRed.restart();
      const retry = await postJson(`${nodeRed.url}/sinocare`, body);
      assert.equal(retry.status, 200);
      assert.equal((await nodeRed.settledMessages('rx/readings', 500)).length, survives ? 0 : 1);
    });
  }
});
