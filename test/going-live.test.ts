import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { receiverFlow } from './harness/flows';
import { request, postJson } from './harness/http';
import { useNodeRed } from './harness/node-red';
import { isAcceptance, VENDORS } from './harness/vendor-cases';

/**
 * What the real clouds send that a test written from our own reading would not (docs/receivers.md#what-happens-to-a-push): GBK
 * bodies, Java `Long` ids beyond 2^53, absurdly nested bodies, and GET probes of the URL. Told for
 * every receiver against a real Node-RED over real HTTP; the bytes come from a real encoder.
 */

/** A Chinese remark beside the vendor's fields, as the clouds' own examples carry (备注). */
const REMARK = '早上起床后 血压偏高，张三（测试医院）';

for (const vendor of VENDORS) {
  describe(`${vendor.type} going live`, function () {
    const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });
    let pushNumber = 0;
    const nextPush = (): any => ({ ...vendor.push(++pushNumber), remark: REMARK });

    before(async function () {
      await nodeRed.deploy(receiverFlow({ type: vendor.type }));
    });
    const url = '/push';
    const at = (path: string): string => `${nodeRed.url}${path}`;

    for (const [encoding, contentType] of [
      ['gbk', 'application/json; charset=GBK'],
      ['gbk', 'application/json;charset=gb2312'],
      ['gb18030', 'application/json; charset="GB18030"'],
      ['gb18030', 'application/json'],
      ['utf-8', 'application/json; charset=utf-8'],
    ] as const) {
      it(`a push sent as ${encoding} bytes with "${contentType}" reaches the flow with its Chinese text intact`, async function () {
        const body = nextPush();
        const bytes = iconv.encode(JSON.stringify(body), encoding);
        const response = await request(at(url), { method: 'POST', body: bytes, headers: { 'content-type': contentType } });
        assert.equal(response.status, 200, response.text);
        assert.ok(isAcceptance(vendor, response.json), response.text);
        const [reading] = await nodeRed.waitForMessages(1, 'rx/readings');
        assert.equal(reading?.msg.raw.remark, REMARK);
        assert.deepEqual(reading?.msg.raw, body);
      });
    }

    it('two pushes whose 19-digit ids differ only in the last digit are two readings, each with its exact id', async function () {
      // Both ids round to the same double (1234567890123456768): JSON.parse alone would merge two patients' readings.
      const ids = ['1234567890123456789', '1234567890123456788'];
      for (const digits of ids) {
        const response = await request(at(url), { method: 'POST', body: vendor.longId.text(digits), headers: { 'content-type': 'application/json' } });
        assert.equal(response.status, 200, response.text);
      }
      const readings = await nodeRed.waitForMessages(2, 'rx/readings');
      const seen = readings.map((reading) => String(vendor.longId.seenIn(reading.msg)));
      assert.deepEqual(seen.map((text) => text.replace(/^[a-z]+:/, '')), ids);
    });

    it('a body of 20,000 nested arrays is refused with 400 in the vendor envelope, the Catch node hears of it, and the next push is accepted', async function () {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      const response = await request(at(url), { method: 'POST', body: deep, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 400, response.text);
      assert.ok(vendor.isRefusal(response.json), response.text);
      const [caught] = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.equal(caught?.msg.statusCode, 400);
      assert.match(caught?.msg.error.message, /nested deeper than 64/);
      const next = await postJson(at(url), nextPush());
      assert.equal(next.status, 200);
      await nodeRed.waitForMessages(1, 'rx/readings');
    });

    it('a GET of the URL without parameters (a console or a load balancer checking it) is answered 200 and reaches no Catch node', async function () {
      const probe = await request(at(url));
      assert.equal(probe.status, 200);
      assert.equal(probe.text, 'ok');
      // A refused push right after it: if the GET had raised an error, it would have arrived first.
      const refused = await postJson(at(url), vendor.malformed);
      assert.equal(refused.status, 400);
      const caught = await nodeRed.waitForMessages(1, 'rx/errors');
      assert.deepEqual(caught.map((message) => message.msg.statusCode), [400]);
    });
  });
}
