import assert from 'node:assert/strict';
import path from 'node:path';
import { NODE_RED_MAJOR } from '../harness/node-red';
import { callsOf, firstCall, helper, load, nextMessage, ourNode, ROOT, TAB, useHelper, type NodeModule } from './setup';

/**
 * health-ack on the test helper: what it does with a message that no `ack: flow` receiver is
 * waiting for, and what it tells the user then, in English and in Chinese. Answering the vendor
 * once every message of a push has arrived needs the receiver's HTTP request: test/receiver.test.ts.
 */

type Translate = (key: string, params?: Record<string, unknown>) => string;

/**
 * The texts the user reads, from the built locale files through Node-RED's own message catalogue
 * (@node-red/util's i18n, of the Node-RED under test) in `lang`. The helper's `RED._` gives back the
 * bare key, so a check against it passes whatever the locale files say.
 */
async function translator(lang: string): Promise<Translate> {
  const nodeRed = path.dirname(require.resolve(NODE_RED_MAJOR === 5 ? 'node-red-5' : 'node-red'));
  const { i18n } = require(require.resolve('@node-red/util', { paths: [nodeRed] }));
  i18n.init({}); // nothing when the helper's runtime has already done it
  await i18n.registerMessageCatalog('health-ack', path.join(ROOT, 'dist', 'nodes', 'locales'), 'health-ack.json');
  // the runtime loads the language it runs in (settings.lang, else the system's); this one too
  await new Promise((resolve) => i18n.i.loadLanguages(lang, resolve));
  return (key, params) => i18n._(`health-ack:${key}`, { ...params, lng: lang });
}

function translated(module: NodeModule, t: Translate): NodeModule {
  return (RED) => {
    RED._ = t;
    return module(RED);
  };
}

/** What the user must read, written out here: a text missing from a locale file comes out as the key, or in English. */
const EXPECTED = {
  'en-US': {
    noAck: 'message has no _ack: set the receiver to ack: flow',
    notPending: 'nothing waits for this message (already answered or timed out)',
  },
  'zh-CN': {
    noAck: '消息没有 _ack：请把接收节点的确认应答设为 ack: flow',
    notPending: '没有推送在等待此消息（已应答或已超时）',
  },
} as const;

for (const [lang, expected] of Object.entries(EXPECTED)) {
  describe(`health-ack (test helper, ${lang})`, function () {
    useHelper();
    beforeEach(async function () {
      await load([translated(ourNode('health-ack'), await translator(lang))], [
        { id: TAB, type: 'tab', label: 'test' },
        { id: 'ack', z: TAB, type: 'health-ack', name: '', wires: [['out']] },
        { id: 'out', z: TAB, type: 'helper' },
      ]);
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
      assert.equal(warnings[0]?.args[0], expected.noAck);
      const status = (await firstCall(node, 'status')).args[0];
      assert.deepEqual({ fill: status.fill, text: status.text }, { fill: 'yellow', text: expected.noAck });
    });

    it('a message whose push is no longer waiting (it timed out, or the flow was redeployed) passes on with a warning', async function () {
      const node = helper.getNode('ack');
      const out = nextMessage('out');
      node.receive({ payload: 'late', _ack: 'gone.0' });
      assert.equal((await out).payload, 'late');
      assert.equal((await firstCall(node, 'warn')).args[0], expected.notPending);
    });
  });
}
