import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CodedError } from '../../src/lib/coded-error';
import { ACTION_ERROR_CODES, configClient, runAction, type ActionContext, type ActionOutcome } from '../../src/nodes/action';
import type { NodeMessage, NodeRedApi, NodeStatus, RuntimeNode } from '../../src/nodes/node-red';

/**
 * The action runner against a stand-in for Node-RED: what a flow sees of a node's work (status,
 * messages, the error a Catch node gets) and how a node finds its config node. The nodes
 * themselves run in a real Node-RED in test/expeed-nodes.test.ts and test/viatom-nodes.test.ts.
 */

const SHARED_LOCALES = path.resolve(__dirname, '..', '..', '..', 'src', 'nodes', 'shared', 'locales');

/** en-US texts of one node namespace plus the shared ones, looked up as Node-RED's `RED._` does (a missing key comes back as the key). */
const TEXTS: Record<string, string> = {
  'my-node.errors.quota': 'quota of __limit__ reached',
  'health-bridge-action.errors.no-config': 'no __type__ is selected',
  'health-bridge-action.errors.closed': 'the node was stopped before the answer came',
};

function fakeRed(nodes: Record<string, unknown> = {}): NodeRedApi {
  return {
    _: (key: string, params: Record<string, unknown> = {}) =>
      (TEXTS[key] ?? key).replace(/__(\w+)__/g, (_, name: string) => String(params[name])),
    nodes: { getNode: (id: string) => nodes[id] ?? null },
  } as unknown as NodeRedApi;
}

interface Input {
  sent: NodeMessage[];
  statuses: NodeStatus[];
  finished: Promise<unknown>;
}

function fakeNode(): { node: RuntimeNode; input(msg: NodeMessage): Input; close(): void; errors: unknown[] } {
  const listeners: Record<string, (...args: any[]) => void> = {};
  let statuses: NodeStatus[] = [];
  const errors: unknown[] = [];
  const node = {
    id: 'n1', type: 'my-node',
    status: (status: NodeStatus) => statuses.push(status),
    error: (error: unknown) => errors.push(error),
    on: (event: string, listener: (...args: any[]) => void) => (listeners[event] = listener),
  } as unknown as RuntimeNode;
  return {
    node,
    errors,
    input(msg) {
      const sent: NodeMessage[] = [];
      statuses = [];
      const run: Input = { sent, statuses, finished: undefined as unknown as Promise<unknown> };
      run.finished = new Promise((resolve) => listeners.input?.(msg, (out: NodeMessage) => sent.push(out), resolve));
      return run;
    },
    close: () => listeners.close?.(false, () => undefined),
  };
}

const t = (red: NodeRedApi) => (key: string, params?: Record<string, unknown>) => red._(`my-node.${key}`, params);

describe('the action runner', function () {
  it('a failure shows a red ring with its text, and a Catch node gets that text and its code with msg.payload unchanged', async function () {
    const red = fakeRed();
    const { node, input } = fakeNode();
    runAction(red, node, { translate: t(red) }, async (msg) => {
      msg.topic = 'touched';
      throw new CodedError('quota', { limit: 150 });
    });
    const message = { payload: { keep: 'me' } };
    const run = input(message);
    const error = (await run.finished) as Error & { code?: unknown };
    assert.equal(error.message, 'quota of 150 reached');
    assert.equal(error.code, 'quota');
    assert.deepEqual(message.payload, { keep: 'me' });
    assert.deepEqual(run.statuses, [{ fill: 'red', shape: 'ring', text: 'quota of 150 reached' }]);
    assert.deepEqual(run.sent, []);
  });

  it('an error without a text of its own reaches the Catch node as it is', async function () {
    const red = fakeRed();
    const { node, input } = fakeNode();
    const original = Object.assign(new Error('Viatom code 109997: Secret key error.'), { code: 109997 });
    runAction(red, node, { translate: t(red), failureStatus: () => 'failed: short' }, async () => {
      throw original;
    });
    const run = input({ payload: 1 });
    assert.equal(await run.finished, original);
    assert.deepEqual(run.statuses, [{ fill: 'red', shape: 'ring', text: 'failed: short' }]);
  });

  it('sends what the work returns, after what it sent on the way, and shows its status last', async function () {
    const red = fakeRed();
    const { node, input } = fakeNode();
    runAction(red, node, { translate: t(red) }, async (msg, { send, status }: ActionContext): Promise<ActionOutcome> => {
      status({ fill: 'blue', shape: 'dot', text: 'page 1' });
      send({ ...msg, payload: 1 });
      return { status: { fill: 'green', shape: 'dot', text: 'done' }, send: [{ payload: 2 }, { payload: 3 }] };
    });
    const run = input({ payload: 0 });
    assert.equal(await run.finished, undefined);
    assert.deepEqual(run.sent.map((m) => m.payload), [1, 2, 3]);
    assert.deepEqual(run.statuses.map((s) => s.text), ['page 1', 'done']);
  });

  it('a redeploy ends the work that is still waiting with the closed error', async function () {
    const red = fakeRed();
    const { node, input, close } = fakeNode();
    runAction(red, node, { translate: t(red) }, ({ }, { signal }) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const run = input({ payload: 'waiting' });
    close();
    const error = (await run.finished) as Error & { code?: unknown };
    assert.equal(error.message, 'the node was stopped before the answer came');
    assert.equal(error.code, 'closed');
    assert.deepEqual(run.statuses, [], 'no status on a node that is gone');
  });

  it('a setup problem is reported once the node is wired, and answers every message', async function () {
    const red = fakeRed();
    const { node, input, errors } = fakeNode();
    let ran = false;
    const { problem } = configClient(red, '', 'my-account');
    runAction(red, node, { translate: t(red), setupProblem: problem }, async () => {
      ran = true;
      return {};
    });
    assert.deepEqual(errors, [], 'not while the flow is still being built');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, ['no my-account is selected']);
    const error = (await input({}).finished) as Error;
    assert.equal(error.message, 'no my-account is selected');
    assert.equal(ran, false);
  });
});

describe('a config node client', function () {
  it('is the client the config node hands out, or why there is none', function () {
    const client = { call: () => 'ok' };
    const red = fakeRed({
      good: { type: 'my-account', client },
      broken: { type: 'my-account', configError: 'invalid account: host must be a URL' },
      other: { type: 'another-account', client },
    });
    assert.equal(configClient(red, 'good', 'my-account').client, client);
    assert.equal(configClient(red, 'broken', 'my-account').problem?.message, 'invalid account: host must be a URL');
    for (const id of ['other', 'missing', '', undefined]) {
      const { client: none, problem } = configClient(red, id, 'my-account');
      assert.equal(none, undefined, String(id));
      assert.equal((problem as CodedError).code, 'no-config', String(id));
    }
  });

  it('and the runner texts exist in English and Chinese', function () {
    for (const lang of ['en-US', 'zh-CN']) {
      const texts = JSON.parse(fs.readFileSync(path.join(SHARED_LOCALES, lang, 'action.json'), 'utf8'))['health-bridge-action'].errors;
      for (const code of ACTION_ERROR_CODES) assert.ok(typeof texts[code] === 'string' && texts[code] !== '', `${lang}: no text for ${code}`);
    }
  });
});
