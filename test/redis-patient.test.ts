import assert from 'node:assert/strict';
import { placed } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';
import { RedisServer } from './harness/redis';

/**
 * health-patient on two real Node-RED processes with the same flow, as behind one load balancer,
 * and one real Redis: with `state` (a health-redis config node) a row assigned through A names
 * the patient of B's next reading, and Redis holds the rows sealed. Without `state` (the control)
 * B never hears of it: its reading goes to output 2.
 */

const PATIENT = 'MRN-SHARED-4411';
const DEVICE = 'bed-7-thermo-shared';

/** expeed-in → health-patient → two sinks; a test-source for run-time messages; a Catch and a Complete node on it. */
function flow(redisUrl?: string): object[] {
  const tab = 'tab-hp';
  const sink = (name: string): object => ({ id: `hp-${name}`, z: tab, type: 'test-sink', name: `hp/${name}`, wires: [[]] });
  return [
    ...placed([
      { id: tab, type: 'tab', label: 'shared patients' },
      { id: 'hp-catch', z: tab, type: 'catch', scope: ['hp'], uncaught: false, wires: [['hp-errors']] },
      sink('errors'),
      { id: 'hp-complete', z: tab, type: 'complete', scope: ['hp'], uncaught: false, wires: [['hp-completed']] },
      sink('completed'),
      { id: 'rx-expeed', z: tab, type: 'expeed-in', name: '', path: '/expeed', credentials: { key: '', piiKey: '' }, wires: [['hp'], ['hp']] },
      { id: 'hp-source', z: tab, type: 'test-source', name: 'hp/in', wires: [['hp']] },
      {
        id: 'hp', z: tab, type: 'health-patient', name: '', file: '', version: 1, ...(redisUrl && { state: 'shared' }),
        credentials: { sources: '' }, wires: [['hp-matched'], ['hp-unmatched']],
      },
      sink('matched'),
      sink('unmatched'),
    ]),
    ...(redisUrl ? [{ id: 'shared', type: 'health-redis', name: '', url: redisUrl, prefix: 'hb-patients:', tls: false, ca: '', credentials: {} }] : []),
  ];
}

/** An Expeed data push of one temperature of `device`, measured at `timestamp` (Asia/Shanghai). */
const expeedPush = (device: string, timestamp: string): object => ({ msg_type: '2', device_id: device, data: [{ timestamp, temp: 36.8 }] });

const patientOf = (message: SinkMessage | undefined): unknown => message?.msg.payload?.subject?.patientId;

describe('health-patient on two Node-RED instances sharing one Redis', function () {
  this.timeout(180_000);
  let redis: RedisServer | undefined;
  let instances: NodeRed[] = [];

  async function startBoth(redisUrl?: string): Promise<[NodeRed, NodeRed]> {
    instances = await Promise.all([0, 1].map(() => NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })));
    await Promise.all(instances.map((instance) => instance.deploy(flow(redisUrl))));
    return instances as [NodeRed, NodeRed];
  }
  afterEach(async function () {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await redis?.stop();
    redis = undefined;
  });

  /** Assigns `device` to `patient` through `instance`, and waits for the change to be made. */
  async function assign(instance: NodeRed, device: string, patient: string): Promise<void> {
    const before = instance.messages.filter((m) => m.sink === 'hp/completed').length;
    instance.inject('hp/in', { topic: 'health-patient/assign', payload: { vendor: 'expeed', field: 'device', value: device, patientId: patient, from: '2017-02-13T08:00:00+08:00' } });
    await instance.waitForMessages(before + 1, 'hp/completed', 10_000);
    assert.deepEqual(await instance.settledMessages('hp/errors', 0), []);
  }

  it('a row assigned through A names the patient of B\'s next reading of that device; Redis holds no patient id or device in clear', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth(redis.url);
    await assign(a, DEVICE, PATIENT);
    assert.equal((await postJson(`${b.url}/expeed`, expeedPush(DEVICE, '2017-02-13T09-00-00-000'))).status, 200);
    const [matched] = await b.waitForMessages(1, 'hp/matched', 10_000);
    assert.equal(patientOf(matched), PATIENT);
    assert.equal(matched?.msg.payload.context.patientSource, 'assigned');
    assert.deepEqual(await b.settledMessages('hp/unmatched', 0), []);

    // and the other way round, at once: B moves the device to another patient, A's next reading follows
    await assign(b, DEVICE, 'MRN-SHARED-4412');
    assert.equal((await postJson(`${a.url}/expeed`, expeedPush(DEVICE, '2017-02-13T09-30-00-000'))).status, 200);
    const [fromA] = await a.waitForMessages(1, 'hp/matched', 10_000);
    assert.equal(patientOf(fromA), 'MRN-SHARED-4412');

    // assignments of 10 devices made at once through both instances: none lost
    await Promise.all(Array.from({ length: 10 }, (_, n) => assign(n % 2 ? b : a, `shared-dev-${n}`, `MRN-${n}`)));
    for (let n = 0; n < 10; n++) assert.equal((await postJson(`${(n % 2 ? a : b).url}/expeed`, expeedPush(`shared-dev-${n}`, '2017-02-13T10-00-00-000'))).status, 200);
    const all = [...(await a.waitForMessages(6, 'hp/matched', 10_000)), ...(await b.waitForMessages(6, 'hp/matched', 10_000))];
    for (let n = 0; n < 10; n++) assert.ok(all.some((m) => m.msg.payload.device.id === `shared-dev-${n}` && patientOf(m) === `MRN-${n}`), `shared-dev-${n}`);

    const keys = await redis.command('KEYS', '*');
    assert.match(keys, /hb-patients:patients:hp\r\n/);
    const rows = await redis.command('HGETALL', 'hb-patients:patients:hp');
    for (const clear of [PATIENT, 'MRN-SHARED-4412', DEVICE, 'shared-dev-', 'expeed', 'patientId']) assert.equal(rows.includes(clear) || keys.includes(clear), false, `${clear} is not in Redis in clear`);
    assert.match(rows, /\$64\r\n[0-9a-f]{64}\r\n/, 'fields are keyed hashes');
    for (const instance of [a, b]) assert.doesNotMatch(instance.logs, new RegExp(`${PATIENT}|${DEVICE}`), 'nor in a log');
  });

  it('without state (the control), B does not know the row assigned through A: its reading goes to output 2', async function () {
    const [a, b] = await startBoth();
    await assign(a, DEVICE, PATIENT);
    assert.equal((await postJson(`${b.url}/expeed`, expeedPush(DEVICE, '2017-02-13T09-00-00-000'))).status, 200);
    const [unmatched] = await b.waitForMessages(1, 'hp/unmatched', 10_000);
    assert.equal(patientOf(unmatched), undefined);
  });

  it('Redis down: a reading is refused (the vendor pushes it again), and taken once Redis is back', async function () {
    // every acknowledged write on disk before Redis answers: the row outlives the crash
    redis = await RedisServer.start({ config: { appendonly: 'yes', appendfsync: 'always' } });
    const [a, b] = await startBoth(redis.url);
    await assign(a, DEVICE, PATIENT);
    await redis.pause();
    inject(b, DEVICE);
    const [refused] = await b.waitForMessages(1, 'hp/errors', 10_000);
    assert.equal(refused?.msg.error.code, 'redis');
    assert.match(refused?.msg.error.message, /^(Error: )?the run-time rows in Redis cannot be reached \(.+\): the message is refused/);
    await redis.resume();
    const deadline = Date.now() + 30_000;
    for (;;) {
      inject(b, DEVICE);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (b.messages.some((m) => m.sink === 'hp/matched' || m.sink === 'hp/unmatched')) break;
      if (Date.now() > deadline) assert.fail('no reading matched after Redis came back');
    }
    assert.equal(patientOf(b.messages.find((m) => m.sink === 'hp/matched')), PATIENT);
    assert.equal(b.messages.some((m) => m.sink === 'hp/unmatched'), false);
  });
});

let serial = 0;
/** A reading of `device` straight into health-patient, as a receiver's output 1 would send it. */
function inject(instance: NodeRed, device: string): void {
  instance.inject('hp/in', {
    topic: 'expeed/datapoint',
    payload: {
      id: `expeed:shared-${++serial}`, vendor: 'expeed', kind: 'temperature', time: '2017-02-13T10:00:00+08:00',
      values: { temperature: { value: 36.7, unit: 'Cel' } }, device: { id: device }, subject: {}, context: {}, retry: false, receivedAt: new Date().toISOString(),
    },
  });
}
