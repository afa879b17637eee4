import assert from 'node:assert/strict';
import { catchAll, firstCall, helper, load, nextMessage, noMessage, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * hl7-send and its hl7-mllp on the test helper: without a connection, or with one whose
 * properties are invalid, hl7-send says so at deploy and answers every message with it, the
 * payload unchanged, and opens no socket. Over real TCP: test/hospital.test.ts.
 */

const modules = nodes('hl7-mllp', 'hl7-send', 'health-hl7', 'health-fhir');

const mllp = (properties: Record<string, unknown> = {}): FlowNode => ({
  id: 'his', type: 'hl7-mllp', name: '', version: 1, host: '127.0.0.1', port: '2575', tls: false, timeout: 10, charset: 'utf-8', ...properties,
});

describe('hl7-send and hl7-mllp (test helper)', function () {
  useHelper();

  const deploy = (send: Record<string, unknown>, more: FlowNode[]): Promise<void> =>
    load(modules, [
      ...catchAll(),
      { id: 'send', z: TAB, type: 'hl7-send', name: '', version: 1, connection: 'his', wires: [['out']], ...send },
      { id: 'out', z: TAB, type: 'helper' },
      ...more,
    ]);

  async function refused(id: string, msg: Record<string, unknown>): Promise<Record<string, any>> {
    const caught = nextMessage('caught');
    helper.getNode(id).receive(msg);
    const heard = await caught;
    assert.equal(heard.error.source.id, id);
    await noMessage('out');
    return heard;
  }

  it('without a connection, hl7-send turns red at deploy, and every message goes to the Catch node with its payload', async function () {
    await deploy({ connection: '' }, []);
    const node = helper.getNode('send');
    assert.match(String((await firstCall(node, 'error')).args[0]), /no-config {"type":"hl7-mllp"}/);
    assert.equal((await firstCall(node, 'status')).args[0].fill, 'red');
    const heard = await refused('send', { payload: 'MSH|^~\\&|HB' });
    assert.equal(heard.payload, 'MSH|^~\\&|HB');
    assert.match(heard.error.message, /no-config/);
  });

  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no host', { host: '' }, /host/],
    ['a port of 0', { port: '0' }, /port: port must be 1–65535/],
    ['a port that is no number', { port: 'mllp' }, /port/],
    ['a timeout of 0', { timeout: '0' }, /timeout: timeout must be above 0/],
    ['an unknown charset', { charset: 'latin1' }, /charset/],
  ];
  for (const [what, properties, issue] of invalid) {
    it(`an hl7-mllp with ${what}: its hl7-send reports the invalid property, by name, at deploy and per message`, async function () {
      await deploy({}, [mllp(properties)]);
      const config = helper.getNode('his');
      assert.equal(config.client, undefined, 'no connection is made');
      assert.match(config.configError, /^hl7-mllp\.errors\.invalid-config /);
      assert.match(config.configError, issue);
      const node = helper.getNode('send');
      assert.match(String((await firstCall(node, 'error')).args[0]), issue);
      const heard = await refused('send', { payload: 'MSH|^~\\&|HB' });
      assert.match(heard.error.message, issue);
      assert.equal(heard.payload, 'MSH|^~\\&|HB');
    });
  }

  it('a valid hl7-mllp reads blanks as defaults and hands out one connection (text port, timeout in seconds)', async function () {
    await deploy({}, [mllp({ timeout: '', charset: '', port: ' 2575 ' })]);
    const config = helper.getNode('his');
    assert.equal(config.configError, undefined);
    assert.equal(config.client.address, '127.0.0.1:2575');
    assert.equal(config.client.timeoutMs, 10_000);
  });

  it('health-hl7 with an unknown HL7 version and health-fhir with an unknown output are refused at deploy', async function () {
    await load(modules, [
      ...catchAll(),
      { id: 'hl7', z: TAB, type: 'health-hl7', name: '', configVersion: 1, version: '2.9', wires: [['out']] },
      { id: 'fhir', z: TAB, type: 'health-fhir', name: '', version: 1, output: 'xml', wires: [['out']] },
      { id: 'out', z: TAB, type: 'helper' },
    ]);
    assert.match(String((await firstCall(helper.getNode('hl7'), 'error')).args[0]), /invalid-config .*version/);
    assert.match(String((await firstCall(helper.getNode('fhir'), 'error')).args[0]), /invalid-config .*output must be/);
    const heard = await refused('hl7', { payload: { id: 'x' } });
    assert.deepEqual(heard.payload, { id: 'x' });
  });
});
