import assert from 'node:assert/strict';
import { RECEIVER_TYPES } from '../../src/lib/registry';
import { callsOf, firstCall, helper, load, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * Every receiver (RECEIVER_TYPES, src/lib/registry.ts) on the test helper: what they say at
 * deploy about their properties. The helper gives the nodes an Express app for RED.httpNode that
 * no server serves, so everything that needs a request (pushes, acks, dedup, the allow-list, the
 * key, body limits, httpNodeRoot and httpNodeMiddleware) is proven by the real-process suites:
 * test/receiver*.test.ts, test/vendors.test.ts, test/going-live*.test.ts.
 */

const TYPES = RECEIVER_TYPES;
const modules = nodes('expeed-account', ...TYPES);

const receiver = (type: string, id: string, properties: Record<string, unknown> = {}): FlowNode => ({
  id, z: TAB, type, name: '', path: `/${id}`, ack: 'auto', ackTimeout: 4, maxBytes: 1048576, dedupHours: 72, dedupStore: '',
  allow: '', pii: 'keep', tz: 'Asia/Shanghai', version: 1, wires: [[], []], ...properties,
});
const tab = (): FlowNode => ({ id: TAB, type: 'tab', label: 'test' });

const errorOf = async (id: string): Promise<string> => String((await firstCall(helper.getNode(id), 'error')).args[0]);
const statusOf = async (id: string): Promise<{ fill?: string; shape?: string; text?: string }> => (await firstCall(helper.getNode(id), 'status')).args[0];

describe('receivers (test helper)', function () {
  useHelper();

  for (const type of TYPES) {
    describe(type, function () {
      it('a receiver saved by 0.1.0 (no version) starts without an error and shows its path', async function () {
        const saved = receiver(type, 'r');
        delete saved.version;
        await load(modules, [tab(), saved], { r: { key: 'a-key-of-its-own' } });
        assert.deepEqual(await statusOf('r'), { fill: 'green', shape: 'ring', text: '/r' });
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(callsOf(helper.getNode('r'), 'error'), []);
        assert.deepEqual(callsOf(helper.getNode('r'), 'warn'), []);
      });

      it('with neither a key nor an allow-list it starts, warns once naming its path, and shows "open" in yellow', async function () {
        await load(modules, [tab(), receiver(type, 'r')]);
        const status = await statusOf('r');
        assert.equal(status.fill, 'yellow');
        assert.equal(status.shape, 'ring');
        assert.match(String(status.text), /status\.open .*"\/r"/);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const warnings = callsOf(helper.getNode('r'), 'warn').map((call) => String(call.args[0]));
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0]!, /warn\.open .*"\/r"/);
        assert.deepEqual(callsOf(helper.getNode('r'), 'error'), []);
      });

      it('with a key, or with an allow-list, it is not open: green, and no warning', async function () {
        await load(modules, [tab(), receiver(type, 'keyed'), receiver(type, 'listed', { allow: '203.0.113.0/24' })], { keyed: { key: 'k' } });
        for (const id of ['keyed', 'listed']) {
          assert.deepEqual(await statusOf(id), { fill: 'green', shape: 'ring', text: `/${id}` }, id);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const id of ['keyed', 'listed']) assert.deepEqual(callsOf(helper.getNode(id), 'warn'), [], id);
      });

      it('an empty path, an unknown time zone or a bad allow-list turns it red and names the property', async function () {
        await load(modules, [
          tab(),
          receiver(type, 'no-path', { path: ' ' }),
          receiver(type, 'bad-tz', { tz: 'Mars/Olympus' }),
          receiver(type, 'bad-allow', { allow: '10.0.0.0/8, not-an-ip' }),
        ]);
        for (const [id, property] of [['no-path', 'path'], ['bad-tz', 'tz'], ['bad-allow', 'allow']] as const) {
          assert.match(await errorOf(id), new RegExp(`\\b${property}\\b`), id);
          const status = await statusOf(id);
          assert.equal(status.fill, 'red', id);
          assert.match(String(status.text), new RegExp(`\\b${property}\\b`), id);
        }
      });
    });
  }

  it('pii: pseudonymize without its key turns the receiver red at deploy', async function () {
    await load(modules, [tab(), receiver('sinocare-in', 'r', { pii: 'pseudonymize' })]);
    assert.match(await errorOf('r'), /pii/i);
    assert.equal((await statusOf('r')).fill, 'red');
  });

  it('pii: pseudonymize with its key starts green', async function () {
    await load(modules, [tab(), receiver('sinocare-in', 'r', { pii: 'pseudonymize' })], { r: { piiKey: 'a-long-secret-for-pseudonyms', key: 'k' } });
    assert.equal((await statusOf('r')).fill, 'green');
  });

  it('a second receiver on a path another receiver holds turns red and names the path', async function () {
    const allow = '203.0.113.0/24';
    await load(modules, [tab(), receiver('lezhi-in', 'first', { path: '/same', allow }), receiver('sinocare-in', 'second', { path: 'same', allow })]);
    const [first, second] = [await statusOf('first'), await statusOf('second')];
    assert.deepEqual([first.fill, second.fill].sort(), ['green', 'red']);
    const loser = first.fill === 'red' ? 'first' : 'second';
    assert.match(await errorOf(loser), /\/same/);
  });

  it('an expeed-in whose account is invalid still starts green, and the account reports its own problem', async function () {
    await load(modules, [
      tab(),
      { id: 'acct', type: 'expeed-account', name: '', apiBase: 'http://127.0.0.1:9', platformKey: 'pk', tz: 'Nowhere', version: 1 },
      receiver('expeed-in', 'r', { account: 'acct', allow: '203.0.113.0/24' }),
    ]);
    assert.match(await errorOf('acct'), /\btz\b/);
    assert.equal((await statusOf('r')).fill, 'green');
  });
});
