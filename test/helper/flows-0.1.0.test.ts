import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { callsOf, helper, load, nodes, ROOT, useHelper, type FlowNode } from './setup';

/**
 * Release 0.1.0's example flows (test/fixtures/flows/0.1.0, saved without `version`) on the test
 * helper: every node of ours is created from its old properties and none reports an error or a
 * warning while the flow starts, but for the one a receiver with neither key nor allow-list gives. Core nodes (inject, debug, change, catch, …) stand in as helper
 * nodes, as the helper's README suggests. That the receivers then answer their
 * vendors as in 0.1.0 is proven over HTTP by test/flows-0.1.0.test.ts.
 */

const FLOWS = path.join(ROOT, 'test', 'fixtures', 'flows', '0.1.0');
const OURS = ['lezhi-in', 'sinocare-in', 'viatom-in', 'viatom-account', 'viatom-auth', 'expeed-in', 'expeed-account', 'expeed-token', 'expeed-query', 'expeed-set', 'health-ack'];
const modules = nodes(...OURS);

describe('flows saved by 0.1.0 (test helper)', function () {
  useHelper();

  for (const file of fs.readdirSync(FLOWS).sort()) {
    it(`${file}: every node of ours starts from 0.1.0's properties without an error, and warns only of a receiver open to anyone`, async function () {
      const saved: FlowNode[] = JSON.parse(fs.readFileSync(path.join(FLOWS, file), 'utf8'));
      const kept = (node: FlowNode): boolean => node.type === 'tab' || OURS.includes(node.type);
      const flow = saved
        // a config node of another package (mqtt-broker) has no stand-in: the helper node is a flow node
        .filter((node) => kept(node) || node.z !== undefined)
        // Catch nodes too: the helper registers the catch module once per Catch node, so a second one fails
        .map((node) => (kept(node) ? node : { id: node.id, z: node.z, type: 'helper', wires: node.wires ?? [] }));
      const ours = flow.filter((node) => OURS.includes(node.type));
      assert.ok(ours.length > 0, `${file} has nodes of ours`);
      assert.ok(ours.every((node) => node.version === undefined), 'saved by 0.1.0: no version');
      await load(modules, flow);
      // reports found while a node is created come on the next turn
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const node of ours) {
        const running = helper.getNode(node.id);
        assert.ok(running, `${node.type} ${node.id} was created`);
        assert.deepEqual(callsOf(running, 'error').map((call) => String(call.args[0])), [], `${node.type} ${node.id}`);
        // 0.1.0's receivers have neither a key nor an allow-list: the one warning they give now
        // (they are open to anyone) is the point of it; any other is not.
        const warnings = callsOf(running, 'warn').map((call) => String(call.args[0]));
        const open = node.type.endsWith('-in') && !node.allow && warnings.length === 1 && warnings[0]!.startsWith('health-bridge-receiver.warn.open ');
        assert.deepEqual(open ? [] : warnings, [], `${node.type} ${node.id}`);
      }
    });
  }
});
