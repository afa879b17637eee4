import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from './harness/http';
import { ROOT, useNodeRed } from './harness/node-red';
import { isAcceptance, VENDORS } from './harness/vendor-cases';

/**
 * A flow saved by release 0.1.0 (its shipped examples, kept in test/fixtures/flows/0.1.0) deployed
 * into this release: every node starts without a configuration error and every receiver takes its
 * vendor's push, as it did in 0.1.0.
 */

const FLOWS = path.join(ROOT, 'test', 'fixtures', 'flows', '0.1.0');

describe('flows saved by 0.1.0', function () {
  const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });

  it('load unchanged: no node reports its configuration, and each vendor tab answers its vendor', async function () {
    const nodes = fs.readdirSync(FLOWS).flatMap((file) => JSON.parse(fs.readFileSync(path.join(FLOWS, file), 'utf8')));
    await nodeRed.deploy(nodes);
    assert.doesNotMatch(nodeRed.logs, /Waiting for missing types|invalid configuration/);
    const receivers = nodes.filter((node: any) => node.type.endsWith('-in') && node.ack !== 'flow');
    // The receivers 0.1.0 shipped, one vendor tab each (a vendor added since has none here).
    assert.ok(receivers.length > 0);
    assert.equal(new Set(receivers.map((receiver: any) => receiver.type)).size, receivers.length, 'one vendor tab per receiver type');
    for (const receiver of receivers) {
      const vendor = VENDORS.find((v) => v.type === receiver.type);
      assert.ok(vendor, receiver.type);
      const response = await request(`${nodeRed.url}${receiver.path}`, { method: 'POST', body: JSON.stringify(vendor.push(1)), headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 200, `${receiver.type}: ${response.text}`);
      assert.ok(isAcceptance(vendor, response.json), response.text);
    }
    assert.doesNotMatch(nodeRed.logs, /invalid configuration/);
  });
});
