import assert from 'node:assert/strict';
import { actionFlow, bodyFixture, receiverFlow } from './harness/flows';
import { postJson, request } from './harness/http';
import { useNodeRed, type SinkMessage } from './harness/node-red';

/**
 * Viatom going live (issue 10, point 4), as the hospital's integrator meets it: records whose codes
 * come as `{value, unit}`, a meter that shows HI, the answer Viatom gets back, and the account
 * still pointing at the host Viatom's document calls its test host. Real Node-RED, real HTTP.
 */

const SECRET = 'viatom-live-secret-3a91c7';
const ACCESS_TOKEN = 'viatom-live-token-e5d02b';
const TEST_HOST = 'https://open.viatomtech.com.cn';
/** Viatom's API envelope ("公共出参": code, message, reason, data), as its success examples write it. */
const ACCEPTED = { code: 0, message: 'ok', reason: '', data: {} };

describe('Viatom going live', function () {
  const nodeRed = useNodeRed({ settings: { lang: 'en-US' } });

  const push = (body: unknown) => postJson(`${nodeRed.url}/push`, body);
  const readings = (count = 1): Promise<SinkMessage[]> => nodeRed.waitForMessages(count, 'rx/readings');
  const withoutReceivedAt = ({ receivedAt, ...rest }: Record<string, unknown>): Record<string, unknown> => {
    assert.match(String(receivedAt), /^\d{4}-\d{2}-\d{2}T/);
    return rest;
  };

  describe('pushes as the document writes them', function () {
    beforeEach(async function () {
      await nodeRed.deploy(receiverFlow({ type: 'viatom-in' }));
    });

    it('a thermometer record whose type comes as {value, unit} is acknowledged and reaches the flow in Cel, mode adult', async function () {
      const body = bodyFixture('viatom', 'temperature-coded');
      assert.deepEqual(body.data.measure_result.type, { value: 1, unit: '' });
      const response = await push(body);
      assert.deepEqual([response.status, response.json], [200, ACCEPTED]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'viatom/temperature');
      assert.deepEqual(withoutReceivedAt(reading?.msg.payload), {
        id: 'viatom:VEVNUEVSQVRVUkVAMzE3Nw==', vendor: 'viatom', kind: 'temperature', time: '2024-11-19T17:10:00+08:00',
        values: { temperature: { value: 37.42, unit: 'Cel' } },
        device: { sn: '2209TH3012' }, subject: { account_id: 'MzIwMDA=', member_id: 'bnVsbA==' },
        context: { mode: 'adult', modeCode: 1, pii: 'keep' }, retry: false,
      });
      assert.deepEqual(reading?.msg.raw, body);
    });

    it('an oximeter record whose type and duration come as {value, unit} is acknowledged and reaches the flow as a spot check', async function () {
      const body = bodyFixture('viatom', 'spo2-coded');
      const response = await push(body);
      assert.deepEqual([response.status, response.json], [200, ACCEPTED]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'viatom/spo2');
      const payload = reading?.msg.payload;
      assert.deepEqual(payload.values, {
        spo2: { value: 96, unit: '%' }, pulseRate: { value: 72, unit: '/min' }, duration: { value: 62, unit: 's' },
      });
      assert.deepEqual(payload.context, { pii: 'keep',
        mode: 'spot-check', modeCode: 1, lowestSpo2: { value: 95, unit: '%' }, below90Duration: { value: 0, unit: 's' },
        drops: 0, o2Score: 9.8, fileUrl: 'https://viatom.example/data/spo2/2024/1120/8b1d0e7f.dat',
      });
      assert.equal(payload.time, '2024-11-20T08:00:00+08:00');
    });

    it('a glucose reading of HI is acknowledged and reaches the flow flagged high, with what the meter showed', async function () {
      const body = bodyFixture('viatom', 'glucose-hi');
      assert.deepEqual(body.data.measure_result.blood_gucose, { value: 'HI', unit: 'mmol/L' });
      const response = await push(body);
      assert.deepEqual([response.status, response.json], [200, ACCEPTED]);
      const [reading] = await readings();
      assert.equal(reading?.msg.topic, 'viatom/glucose');
      assert.deepEqual(withoutReceivedAt(reading?.msg.payload), {
        id: 'viatom:QkxPT0RfU1VHQVJAMjQ1OQ==', vendor: 'viatom', kind: 'glucose', time: '2024-11-19T15:30:00+08:00',
        values: {},
        subject: { account_id: 'MzIwMDA=', member_id: 'bnVsbA==' },
        context: { specimen: 'capillary', mealPeriod: 'after-meal', mealPeriodCode: 2, resultText: 'HI', outOfRange: 'high', pii: 'keep' },
        retry: false,
      });
      assert.equal((await nodeRed.settledMessages('rx/errors')).length, 0);
    });

    it("Viatom's retry of the HI glucose is acknowledged the same way and not emitted twice", async function () {
      const body = bodyFixture('viatom', 'glucose-hi');
      const first = await push(body);
      const again = await push(body);
      assert.deepEqual([first.status, first.json, again.status, again.json], [200, ACCEPTED, 200, ACCEPTED]);
      await readings();
      assert.equal((await nodeRed.settledMessages('rx/readings')).length, 1);
    });

    it('a glucose meter showing LO or an empty value is still acknowledged: low, and no flag where the text says nothing', async function () {
      const low = bodyFixture('viatom', 'glucose-hi');
      low.data_tag = 'QkxPT0RfU1VHQVJAMjQ2MA==';
      low.data.measure_result.blood_gucose.value = 'LO';
      const empty = bodyFixture('viatom', 'glucose-hi');
      empty.data_tag = 'QkxPT0RfU1VHQVJAMjQ2MQ==';
      empty.data.measure_result.blood_gucose.value = '';
      for (const body of [low, empty]) assert.deepEqual((await push(body)).json, ACCEPTED);
      const got = await readings(2);
      assert.deepEqual(
        got.map((m) => [m.msg.payload.context.resultText, m.msg.payload.context.outOfRange, m.msg.payload.values]),
        [['LO', 'low', {}], ['', undefined, {}]],
      );
    });

    it('a push we refuse is answered in the same four-field envelope, with a non-zero code and the reason', async function () {
      // a blood pressure without its diastolic value does not fit the record
      const refused = await push(bodyFixture('viatom', 'invalid-blood-pressure'));
      assert.equal(refused.status, 400);
      assert.deepEqual(refused.json, { code: 400, message: 'invalid body', reason: 'invalid body', data: null });
      const notJson = await request(`${nodeRed.url}/push`, { method: 'POST', body: '{"type": 1,', headers: { 'content-type': 'application/json' } });
      assert.equal(notJson.status, 400);
      assert.deepEqual(Object.keys(notJson.json as object).sort(), ['code', 'data', 'message', 'reason']);
      assert.notEqual((notJson.json as { code: number }).code, 0);
      await nodeRed.waitForMessages(2, 'rx/errors');
    });
  });

  describe("an account still on Viatom's test host", function () {
    const account = (host: string) => ({
      id: 'acct', type: 'viatom-account', name: 'hospital', host, language: 'zh-CN', timeout: 10,
      credentials: { secret: SECRET, accessToken: ACCESS_TOKEN },
    });
    const deployAccount = async (host: string): Promise<string> => {
      const before = nodeRed.logs.length;
      await nodeRed.deploy(actionFlow({ id: 'url', type: 'viatom-auth', name: '', account: 'acct', operation: 'authorize-url' }, [account(host)]));
      return nodeRed.logs.slice(before);
    };
    const testHostLines = (log: string): string[] => log.split('\n').filter((line) => line.includes('test host'));

    it('the deploy logs one warning that names the test host and asks for the production host, with no secret', async function () {
      const log = await deployAccount(TEST_HOST);
      const lines = testHostLines(log);
      assert.equal(lines.length, 1, log);
      assert.match(lines[0] ?? '', /\[warn\] \[viatom-account:hospital\]/);
      assert.match(lines[0] ?? '', /open\.viatomtech\.com\.cn/);
      assert.match(lines[0] ?? '', /ask Viatom for the production host/);
      for (const secret of [SECRET, ACCESS_TOKEN]) assert.equal(nodeRed.logs.includes(secret), false, `the log shows ${secret}`);
    });

    it('an account on the production host Viatom gave logs no such warning', async function () {
      const log = await deployAccount('https://api.viatom-production.example');
      assert.deepEqual(testHostLines(log), []);
      assert.match(log, /Started flows/);
    });

    it('the editor marks the host field as the test host and tells the user to ask for the production host, in en-US and zh-CN', async function () {
      const editor = await request(`${nodeRed.url}/nodes`, { headers: { accept: 'text/html' } });
      assert.equal(editor.status, 200);
      const form = /<script type="text\/html" data-template-name="viatom-account">([\s\S]*?)<\/script>/.exec(editor.text)?.[1] ?? '';
      // the hint sits right under the host field
      assert.match(form, /id="node-config-input-host"[^>]*>\s*<\/div>\s*<div class="form-row">\s*<div class="form-tips"[^>]*>.*data-i18n="\[html\]viatom-account\.tip\.test-host"/);

      const expected: Record<string, { hint: RegExp; help: RegExp }> = {
        'en-US': { hint: /open\.viatomtech\.com\.cn.*<b>test<\/b> host.*ask Viatom for the production host/, help: /calls its <b>test<\/b> host[\s\S]*ask\s+Viatom for the production host/ },
        'zh-CN': { hint: /open\.viatomtech\.com\.cn.*<b>测试<\/b>地址.*向乐普索取正式环境地址/, help: /<b>测试<\/b>地址[\s\S]*向乐普索取正式环境地址/ },
      };
      for (const [lang, { hint, help }] of Object.entries(expected)) {
        const messages = await request(`${nodeRed.url}/nodes/messages?lng=${lang}`);
        assert.equal(messages.status, 200);
        const catalog = (messages.json as Record<string, any>)['@health-bridge/node-red-nodes/viatom-account'];
        assert.match(catalog?.['viatom-account']?.tip?.['test-host'] ?? '', hint, lang);
        const helpPage = await request(`${nodeRed.url}/nodes`, { headers: { accept: 'text/html', 'accept-language': lang } });
        const helpText = /<script type="text\/html" data-help-name="viatom-account">([\s\S]*?)<\/script>/.exec(helpPage.text)?.[1] ?? '';
        assert.match(helpText, help, lang);
      }
    });
  });
});
