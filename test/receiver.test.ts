import assert from 'node:assert/strict';
import { receiverFlow, type Sink } from './harness/flows';
import { request, postJson, type HttpResponse } from './harness/http';
import { NodeRed } from './harness/node-red';
import { VENDORS } from './harness/vendor-cases';

/**
 * What every receiver promises, told for each vendor against a real Node-RED over real HTTP:
 * the vendor always gets an answer in its own envelope, the flow gets each reading once, and
 * nothing the vendor sends is lost without the flow hearing of it.
 */

const TWO_MIB = 2 * 1024 * 1024;

for (const vendor of VENDORS) {
  describe(`${vendor.type}: the shared receiver behaviour`, function () {
    let nodeRed: NodeRed;
    let pushNumber = 0;
    const nextPush = (): any => vendor.push(++pushNumber);

    before(async function () {
      nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
    });
    after(async function () {
      await nodeRed?.stop();
    });
    beforeEach(async function () {
      await nodeRed.clearMessages();
    });

    const url = (query = ''): string => `${nodeRed.url}/push${query}`;
    const at = (sink: Sink, id = 'rx'): string => `${id}/${sink}`;
    const deploy = (properties: Record<string, unknown> = {}, sink?: 'store' | 'fail' | 'never-answer') =>
      nodeRed.deploy(receiverFlow({ type: vendor.type, properties, sink }));
    const assertRefused = (response: HttpResponse, status: number): void => {
      assert.equal(response.status, status, response.text);
      assert.ok(vendor.isRefusal(response.json), `not a ${vendor.vendor} refusal envelope: ${response.text}`);
    };

    it('answers a valid push with the vendor success body and emits one reading', async function () {
      await deploy();
      const body = nextPush();
      const response = await postJson(url(), body);
      assert.equal(response.status, 200);
      assert.deepEqual(response.json, vendor.accepted);
      const [reading] = await nodeRed.waitForMessages(1, at('readings'));
      assert.equal(reading?.msg.vendor, vendor.vendor);
      assert.deepEqual(reading?.msg.raw, body);
      assert.equal(reading?.msg.payload.vendor, vendor.vendor);
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 1);
    });

    it('acknowledges an exact duplicate without emitting it a second time', async function () {
      await deploy();
      const body = nextPush();
      const first = await postJson(url(), body);
      const again = await postJson(url(), body);
      assert.deepEqual([first.status, again.status], [200, 200]);
      assert.deepEqual(again.json, vendor.accepted);
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 1);
    });

    it('with dedupHours 0, emits every copy', async function () {
      await deploy({ dedupHours: 0 });
      const body = nextPush();
      await postJson(url(), body);
      await postJson(url(), body);
      assert.equal((await nodeRed.waitForMessages(2, at('readings'))).length, 2);
    });

    it('answers 50 concurrent copies of one push and emits the reading exactly once', async function () {
      await deploy();
      const body = nextPush();
      const responses = await Promise.all(Array.from({ length: 50 }, () => postJson(url(), body)));
      assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
      assert.equal((await nodeRed.settledMessages(at('readings'), 500)).length, 1);
    });

    it('answers malformed JSON with 400 and hands the text to a Catch node', async function () {
      await deploy();
      const text = '{"reservedCode": "01", "data": {';
      const response = await request(url(), { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
      assertRefused(response, 400);
      const [caught] = await nodeRed.waitForMessages(1, at('errors'));
      assert.equal(caught?.msg.raw, text);
      assert.equal(caught?.msg.statusCode, 400);
      assert.match(caught?.msg.error.message, /not JSON/);
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 0);
    });

    it('parses JSON whatever the content type says', async function () {
      await deploy();
      const response = await request(url(), { method: 'POST', body: JSON.stringify(nextPush()), headers: { 'content-type': 'text/plain' } });
      assert.equal(response.status, 200);
      await nodeRed.waitForMessages(1, at('readings'));
    });

    it('answers a body that is not the vendor format with 400 and hands it to a Catch node', async function () {
      await deploy();
      const response = await postJson(url(), vendor.malformed);
      assertRefused(response, 400);
      const [caught] = await nodeRed.waitForMessages(1, at('errors'));
      assert.deepEqual(caught?.msg.raw, vendor.malformed);
      assert.match(caught?.msg.error.message, /does not match/);
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 0);
    });

    for (const contentType of ['application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      it(`refuses a 2 MiB body sent as ${contentType} with 413`, async function () {
        await deploy();
        const body = Buffer.alloc(TWO_MIB, 'a');
        const declared = await request(url(), { method: 'POST', body, headers: { 'content-type': contentType } });
        assertRefused(declared, 413);
        const chunked = await request(url(), { method: 'POST', body, chunked: true, headers: { 'content-type': contentType } });
        assertRefused(chunked, 413);
        const caught = await nodeRed.waitForMessages(2, at('errors'));
        assert.equal(caught[0]?.msg.statusCode, 413);
        // Node-RED is still there and answering.
        assert.equal((await postJson(url(), nextPush())).status, 200);
        await nodeRed.waitForMessages(1, at('readings'));
      });
    }

    it('with a key, refuses a missing or wrong key with 401 and accepts it in the header or the query', async function () {
      await deploy({ credentials: { key: 'k3y-for-the-vendor' } });
      assertRefused(await postJson(url(), nextPush()), 401);
      assertRefused(await postJson(url('?key=wrong'), nextPush()), 401);
      assertRefused(await postJson(url(), nextPush(), { headers: { 'x-health-bridge-key': 'k3y-for-the-vendo' } }), 401);
      assert.equal((await postJson(url('?key=k3y-for-the-vendor'), nextPush())).status, 200);
      assert.equal((await postJson(url(), nextPush(), { headers: { 'x-health-bridge-key': 'k3y-for-the-vendor' } })).status, 200);
      assert.equal((await nodeRed.waitForMessages(2, at('readings'))).length, 2);
      const caught = await nodeRed.settledMessages(at('errors'));
      assert.deepEqual(caught.map((m) => m.msg.statusCode), [401, 401, 401]);
      assert.doesNotMatch(JSON.stringify(caught.map((m) => m.msg.error)), /k3y/);
    });

    it('with an allow list, accepts addresses inside it and refuses the others with 403', async function () {
      await deploy({ allow: '127.0.0.1, 10.0.0.0/8, ::1/128' });
      assert.equal((await postJson(url(), nextPush(), { localAddress: '127.0.0.1' })).status, 200);
      assertRefused(await postJson(url(), nextPush(), { localAddress: '127.0.0.2' }), 403);
      const overIpv6 = url().replace('127.0.0.1', '[::1]');
      assert.equal((await postJson(overIpv6, nextPush(), { localAddress: '::1' })).status, 200);
      assert.equal((await nodeRed.waitForMessages(2, at('readings'))).length, 2);

      await deploy({ allow: '192.168.0.0/16, 2001:db8::/32' });
      assertRefused(await postJson(url(), nextPush()), 403);
      assertRefused(await postJson(overIpv6, nextPush(), { localAddress: '::1' }), 403);
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 2);
    });

    describe('ack: flow', function () {
      it('answers success once health-ack has seen the reading', async function () {
        await deploy({ ack: 'flow', ackTimeout: 3 }, 'store');
        const response = await postJson(url(), nextPush());
        assert.equal(response.status, 200);
        assert.deepEqual(response.json, vendor.accepted);
        const [acked] = await nodeRed.waitForMessages(1, at('acked'));
        assert.equal(typeof acked?.msg._ack, 'string');
      });

      it('answers 500 when the sink fails, and emits the vendor retry again', async function () {
        await deploy({ ack: 'flow', ackTimeout: 3 }, 'fail');
        const body = nextPush();
        assertRefused(await postJson(url(), body), 500);
        assertRefused(await postJson(url(), body), 500);
        assert.equal((await nodeRed.waitForMessages(2, at('readings'))).length, 2);
        // The receiver's own Catch node hears of the first failed push of a minute, with the body;
        // the second is only counted (a hospital down fails every push: one line, not a flood).
        const caught = await nodeRed.settledMessages(at('errors'));
        assert.deepEqual(caught.map((m) => m.msg.statusCode), [500]);
        assert.deepEqual(caught[0]?.msg.raw, body);
      });

      it('answers 503 at ackTimeout when nothing acknowledges, and emits the retry again', async function () {
        await deploy({ ack: 'flow', ackTimeout: 1 }, 'never-answer');
        const body = nextPush();
        const started = Date.now();
        const response = await postJson(url(), body);
        const elapsed = Date.now() - started;
        assertRefused(response, 503);
        assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${elapsed} ms`);
        const [caught] = await nodeRed.waitForMessages(1, at('errors'));
        assert.equal(caught?.msg.statusCode, 503);
        assert.deepEqual(caught?.msg.raw, body);
        assertRefused(await postJson(url(), body), 503);
        assert.equal((await nodeRed.waitForMessages(2, at('readings'))).length, 2);
      });

      it('gives a copy that arrives while the original waits the original answer, without emitting it', async function () {
        await deploy({ ack: 'flow', ackTimeout: 1 }, 'never-answer');
        const body = nextPush();
        const original = postJson(url(), body);
        await nodeRed.waitForMessages(1, at('readings'));
        const copy = await postJson(url(), body);
        assertRefused(copy, 503);
        assertRefused(await original, 503);
        assert.equal((await nodeRed.settledMessages(at('readings'))).length, 1);
      });

      it('keeps the dedup key after a success: the retry is acknowledged and not emitted', async function () {
        await deploy({ ack: 'flow', ackTimeout: 3 }, 'store');
        const body = nextPush();
        assert.equal((await postJson(url(), body)).status, 200);
        assert.equal((await postJson(url(), body)).status, 200);
        assert.equal((await nodeRed.settledMessages(at('readings'))).length, 1);
      });
    });

    it('with pii pseudonymize and no piiKey, answers 503 and shows an error', async function () {
      await deploy({ pii: 'pseudonymize' });
      assertRefused(await postJson(url(), nextPush()), 503);
      const statuses = await nodeRed.waitForMessages(1, at('statuses'));
      assert.ok(statuses.some((s) => s.msg.status.fill === 'red' && /piiKey/.test(s.msg.status.text)), JSON.stringify(statuses));
      assert.equal((await nodeRed.settledMessages(at('readings'))).length, 0);
    });

    it('shows counts of received, duplicate and rejected pushes in its status', async function () {
      await deploy();
      const body = nextPush();
      await postJson(url(), body);
      await postJson(url(), body);
      await request(url(), { method: 'POST', body: 'not json' });
      await nodeRed.waitForMessages(1, at('errors'));
      const statuses = await nodeRed.settledMessages(at('statuses'));
      const last = statuses.at(-1)?.msg.status;
      assert.equal(last?.fill, 'red');
      assert.equal(last?.text, '2 received · 1 dup · 1 rejected · last: body is not JSON');
    });

    it('after 100 redeploys, one request gets exactly one answer and one message', async function () {
      this.timeout(120_000);
      for (let i = 0; i < 100; i++) {
        // Alternate full deploys with changed-node deploys, as users do.
        const flow = receiverFlow({ type: vendor.type, properties: { name: `deploy ${i}`, ackTimeout: 3 + (i % 2) } });
        await nodeRed.deploy(flow, i % 2 ? 'nodes' : 'full');
      }
      await nodeRed.clearMessages();
      const response = await postJson(url(), nextPush());
      assert.equal(response.status, 200);
      assert.deepEqual(response.json, vendor.accepted);
      assert.equal((await nodeRed.settledMessages(at('readings'), 500)).length, 1);
    });

    it('a second receiver on the same path shows an error and the first keeps answering', async function () {
      const first = receiverFlow({ type: vendor.type, id: 'first' });
      const second = receiverFlow({ type: vendor.type, id: 'second' });
      await nodeRed.deploy([...first, ...second]);
      const statuses = await nodeRed.waitForMessages(1, at('statuses', 'second'));
      assert.equal(statuses[0]?.msg.status.fill, 'red');
      assert.match(statuses[0]?.msg.status.text, /already listens on POST \/push/);
      assert.equal((await postJson(url(), nextPush())).status, 200);
      assert.equal((await nodeRed.waitForMessages(1, at('readings', 'first'))).length, 1);
      assert.equal((await nodeRed.settledMessages(at('readings', 'second'))).length, 0);
    });

    it('removes its route when the flow no longer has it', async function () {
      await deploy();
      assert.equal((await postJson(url(), nextPush())).status, 200);
      await nodeRed.deploy([{ id: 'empty', type: 'tab', label: 'empty' }]);
      assert.equal((await postJson(url(), nextPush())).status, 404);
    });
  });
}
