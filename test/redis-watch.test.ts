import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { newAtRestKeyText, Sealer } from '../src/lib/at-rest';
import type { Reading } from '../src/lib/reading';
import { RedisConnection, redisPropertiesSchema } from '../src/lib/redis';
import { whenConnected } from '../src/lib/redis/ready';
import { RedisWatchState, Watch, watchPropertiesSchema, type Alert, type WatchProperties } from '../src/lib/watch';
import { bodyFixture, placed } from './harness/flows';
import { postJson } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';
import { RedisServer } from './harness/redis';

/**
 * health-watch on two real Node-RED processes with the same flow, as behind one load balancer,
 * and one real Redis: with `state` (a health-redis config node) one glucose episode whose readings
 * reach both instances gives one `firing` and one `resolved` per rule in all, and a device that
 * reports to B is not silent for A. Without `state` (the control) each instance sees its share:
 * alerts twice, and false silences.
 */

const HOUR = 3_600_000;
const PATIENT_ID = 'MRN-SHARED-0077';
const PATIENT_NAME = '王五';
const DEVICE = 'CGM-SHARED-9';

/** sinocare-in → health-watch → a sink of alerts; a Catch on the watch; the health-redis when `redisUrl` is given. */
function flow(options: { redisUrl?: string; silenceMinutes?: number }): object[] {
  const sink = (name: string): object => ({ id: `w-${name}`, z: 'tab-w', type: 'test-sink', name: `w/${name}`, wires: [[]] });
  return [
    ...placed([
      { id: 'tab-w', type: 'tab', label: 'shared watch' },
      { id: 'w-catch', z: 'tab-w', type: 'catch', scope: ['w'], uncaught: false, wires: [['w-errors']] },
      sink('errors'),
      { id: 'w-status', z: 'tab-w', type: 'status', scope: ['w'], wires: [['w-statuses']] },
      sink('statuses'),
      { id: 'w-rx', z: 'tab-w', type: 'sinocare-in', name: '', path: '/cgm', credentials: { key: '', piiKey: '' }, wires: [['w'], []] },
      {
        id: 'w', z: 'tab-w', type: 'health-watch', name: 'ward 5', version: 2,
        silenceMinutes: String(options.silenceMinutes ?? 60), forgetHours: '', repeatMinutes: '', margin: '',
        ...(options.redisUrl && { state: 'shared' }),
        wires: [['w-alerts']],
      },
      sink('alerts'),
    ]),
    ...(options.redisUrl ? [{ id: 'shared', type: 'health-redis', name: '', url: options.redisUrl, prefix: 'hb-watch:', tls: false, ca: '', credentials: {} }] : []),
  ];
}

let pushNumber = 0;
/** A Sinocare CGM push of one glucose value (mmol/L), no interval of its own. */
function cgmPush(value: number): object {
  const body = bodyFixture('sinocare', 'document-example');
  pushNumber++;
  return {
    ...body,
    data: {
      ...body.data, testId: `shared-${process.pid}-${pushNumber}`, deviceSn: DEVICE, testResult: String(value), status: '0', increMinute: null,
      patientId: PATIENT_ID, patientName: PATIENT_NAME, testTime: `2026-12-07 09:${String(pushNumber % 60).padStart(2, '0')}:00`,
    },
  };
}

const alertsOf = (messages: SinkMessage[]): string[] => messages.map(({ msg }) => `${msg.payload.rule} ${msg.payload.state}`);

describe('health-watch on two Node-RED instances sharing one Redis', function () {
  this.timeout(180_000);
  let redis: RedisServer | undefined;
  let instances: NodeRed[] = [];

  async function startBoth(options: { redisUrl?: string; silenceMinutes?: number }): Promise<[NodeRed, NodeRed]> {
    instances = await Promise.all([0, 1].map(() => NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })));
    await Promise.all(instances.map((instance) => instance.deploy(flow(options))));
    return instances as [NodeRed, NodeRed];
  }
  /** Every alert of both instances. */
  const allAlerts = async (quietMs = 500): Promise<SinkMessage[]> =>
    (await Promise.all(instances.map((instance) => instance.settledMessages('w/alerts', quietMs)))).flat();

  async function push(instance: NodeRed, value: number): Promise<void> {
    const answer = await postJson(`${instance.url}/cgm`, cgmPush(value));
    assert.equal(answer.status, 200, answer.text);
  }

  afterEach(async function () {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await redis?.stop();
    redis = undefined;
  });

  /** When the device was last heard, as Redis keeps it (raw): it changes once an instance has taken a reading. */
  async function lastHeard(): Promise<string> {
    const device = /hb-watch:watch:w:device:[0-9a-f]{64}/.exec(await redis!.command('KEYS', 'hb-watch:watch:w:device:*'))?.[0];
    return device ? redis!.command('HGET', device, 'seen') : '';
  }

  /**
   * 3.5 on A, 3.4 on B, 2.8 on A, 5.0 on B, each taken before the next is pushed. A receiver
   * answers the vendor before the watch has judged the reading, so without a wait a reading pushed
   * to B can be judged before the one pushed to A just before it (seen on a busy machine): the wait
   * is for the alerts each step gives in all (`alertsAfter`, cumulative), and with Redis for the
   * device's last-heard time too (a step that gives no alert).
   */
  async function episode(a: NodeRed, b: NodeRed, alertsAfter: number[]): Promise<void> {
    const alertCount = (): number => [a, b].flatMap((instance) => instance.messages.filter((m) => m.sink === 'w/alerts')).length;
    for (const [n, value] of [3.5, 3.4, 2.8, 5.0].entries()) {
      const heard = redis ? await lastHeard() : '';
      await push(n % 2 ? b : a, value);
      await waitUntil(async () => alertCount() >= alertsAfter[n]! && (!redis || (await lastHeard()) !== heard), 30_000);
    }
  }

  it('one glucose episode, its readings alternating between A and B: glucose-low and glucose-urgent-low each fire once and resolve once in all', async function () {
    redis = await RedisServer.start();
    const [a, b] = await startBoth({ redisUrl: redis.url });
    await episode(a, b, [1, 1, 2, 4]);
    await a.waitForMessages(2, 'w/alerts', 15_000);
    await b.waitForMessages(2, 'w/alerts', 15_000);
    const alerts = await allAlerts();
    assert.deepEqual(alertsOf(alerts).sort(), ['glucose-low firing', 'glucose-low resolved', 'glucose-urgent-low firing', 'glucose-urgent-low resolved']);
    // who sent what: A started both (3.5, 2.8), B ended both (5.0); the resolved alert knows when the episode started
    assert.deepEqual(alertsOf(a.messages.filter((m) => m.sink === 'w/alerts')), ['glucose-low firing', 'glucose-urgent-low firing']);
    const low = alerts.filter(({ msg }) => msg.payload.rule === 'glucose-low');
    assert.equal(low[1]?.msg.payload.since, low[0]?.msg.payload.since);
    assert.equal(low[1]?.msg.payload.value, 5);
    for (const instance of [a, b]) assert.deepEqual(await instance.settledMessages('w/errors', 0), []);
    // A sent both firing alerts and B ended both: A's status (and its alerts_firing) follows within seconds
    const lastStatus = (instance: NodeRed): string | undefined => instance.messages.filter((m) => m.sink === 'w/statuses').at(-1)?.msg.status?.text;
    await waitUntil(async () => lastStatus(a) === '0 firing', 20_000).catch(() => assert.fail(`A's status stayed "${lastStatus(a)}"`));

    // what Redis holds: keys under the prefix, no patient or device in clear anywhere
    const keys = await redis.command('KEYS', '*');
    assert.match(keys, /hb-watch:watch:w:device:[0-9a-f]{64}/);
    const dump = await dumpRedis(redis);
    for (const clear of [PATIENT_ID, PATIENT_NAME, DEVICE, 'patientId', 'glucose']) assert.equal(dump.includes(clear), false, `${clear} is not in Redis in clear`);
  });

  it('both instances restarted in the middle of an episode: neither repeated nor lost, read back from Redis (no file written)', async function () {
    redis = await RedisServer.start();
    let [a, b] = await startBoth({ redisUrl: redis.url });
    await push(a, 3.5);
    await a.waitForMessages(1, 'w/alerts', 15_000);
    [a, b] = await Promise.all([a.restart(), b.restart()]);
    instances = [a, b];
    // each instance read the episode back from Redis at start: its status says so before any reading
    for (const instance of [a, b]) await waitUntil(async () => instance.messages.some((m) => m.sink === 'w/statuses' && m.msg.status?.text === '1 firing'), 15_000);
    // each taken before the next is pushed (see `episode`)
    for (const [instance, value] of [[b, 3.4], [a, 3.3]] as const) {
      const heard = await lastHeard();
      await push(instance, value);
      await waitUntil(async () => (await lastHeard()) !== heard, 30_000);
    }
    await push(b, 5.0);
    await b.waitForMessages(1, 'w/alerts', 15_000);
    assert.deepEqual(alertsOf(await allAlerts()), ['glucose-low resolved'], 'not repeated after the restart, and not lost');
    const [resolved] = b.messages.filter((m) => m.sink === 'w/alerts');
    assert.equal(resolved?.msg.payload.subject.patientId, PATIENT_ID);
    for (const instance of [a, b]) assert.equal(fs.existsSync(path.join(instance.userDir, 'health-bridge', 'watch-w.json')), false, 'kept in Redis, not in a file');
  });

  it('without state (the control), the same episode gives glucose-low firing twice and glucose-urgent-low never resolved', async function () {
    const [a, b] = await startBoth({});
    await episode(a, b, [1, 2, 3, 4]);
    await a.waitForMessages(2, 'w/alerts', 15_000);
    await b.waitForMessages(2, 'w/alerts', 15_000);
    assert.deepEqual(alertsOf(await allAlerts()).sort(), ['glucose-low firing', 'glucose-low firing', 'glucose-low resolved', 'glucose-urgent-low firing']);
  });

  it('a device heard once by A and then only by B is not silent for A; once it stops, one silent in all', async function () {
    redis = await RedisServer.start();
    // a window of 6 s; the device speaks every second
    const [a, b] = await startBoth({ redisUrl: redis.url, silenceMinutes: 0.1 });
    await push(a, 6.0);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      await push(b, 6.1);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.deepEqual(alertsOf(await allAlerts(0)), [], 'no instance finds it silent while it reports to B');
    // it stops: silent once, from whichever instance claims it first
    const deadline = Date.now() + 30_000;
    while ((await allAlerts(0)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const alerts = await allAlerts();
    assert.deepEqual(alertsOf(alerts), ['silent firing']);
    assert.equal(alerts[0]?.msg.payload.device.sn, DEVICE);
    // its next reading, on either instance, resolves it once
    await push(a, 6.2);
    await waitUntil(async () => (await allAlerts(0)).length >= 2, 15_000);
    assert.deepEqual(alertsOf(await allAlerts()).sort(), ['silent firing', 'silent resolved']);
  });

  it('without state (the control), A reports that device silent while it reports to B', async function () {
    const [a, b] = await startBoth({ silenceMinutes: 0.1 });
    await push(a, 6.0);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      await push(b, 6.1);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.deepEqual(alertsOf(a.messages.filter((m) => m.sink === 'w/alerts')), ['silent firing'], 'a false silence');
    assert.deepEqual(alertsOf(b.messages.filter((m) => m.sink === 'w/alerts')), []);
  });

  it('a watch without state in a flow whose receiver shares its state: a warning at deploy saying why', async function () {
    redis = await RedisServer.start();
    instances = [await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })];
    const nodes = flow({ redisUrl: redis.url }).map((node: any) => {
      if (node.type === 'health-watch') return { ...node, state: '' };
      if (node.type === 'sinocare-in') return { ...node, state: 'shared' };
      return node;
    });
    await instances[0]!.deploy(nodes);
    await waitUntil(async () => /\[warn\] \[health-watch:ward 5\] this flow shares its receivers' or outbox's state on Redis, but this watch has no state/.test(instances[0]!.logs), 10_000);
  });

  it('a state naming no health-redis: error state at deploy, and the watch alerts on this instance alone', async function () {
    instances = [await NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })];
    const nodes = flow({}).map((node: any) => (node.type === 'health-watch' ? { ...node, state: 'gone' } : node));
    await instances[0]!.deploy(nodes);
    await waitUntil(async () => instances[0]!.logs.includes('[error] [health-watch:ward 5] state cannot be used (no health-redis config node is selected, or it is not deployed): the watch runs on this instance alone, in memory; on several instances an alert may be sent by each'), 10_000);
    await push(instances[0]!, 2.5);
    assert.deepEqual(alertsOf(await instances[0]!.waitForMessages(2, 'w/alerts', 10_000)).sort(), ['glucose-low firing', 'glucose-urgent-low firing']);
  });
});

/** Every key and value in Redis, as one text (hashes field by field). */
async function dumpRedis(redis: RedisServer): Promise<string> {
  const keys = [...(await redis.command('KEYS', '*')).matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]!);
  const parts = [keys.join('\n')];
  for (const key of keys) {
    const type = await redis.command('TYPE', key);
    parts.push(type.includes('hash') ? await redis.command('HGETALL', key) : await redis.command('GET', key));
  }
  return parts.join('\n');
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the shared episodes on a real Redis: many instances judging the same readings at the same moment', function () {
  this.timeout(60_000);
  let server: RedisServer | undefined;
  const connections: RedisConnection[] = [];
  const watches: Watch[] = [];
  afterEach(async function () {
    await Promise.all(watches.splice(0).map((watch) => watch.close()));
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
    await server?.stop();
    server = undefined;
  });

  let serial = 0;
  const reading = (value: number): Reading => ({
    id: `sinocare:race-${++serial}`, vendor: 'sinocare', kind: 'glucose', time: new Date(Date.now() + serial).toISOString(),
    values: { glucose: { value, unit: 'mmol/L' } }, device: { sn: 'CGM-RACE' }, subject: { patientId: 'P-RACE' },
    context: {}, retry: false, receivedAt: new Date().toISOString(),
  } as unknown as Reading);

  /** `count` watches on one Redis, sending into `sent`, on the clock `now`. */
  async function startWatches(count: number, sent: Alert[], properties: WatchProperties, now?: () => number): Promise<Watch[]> {
    server ??= await RedisServer.start();
    const key = Buffer.from(newAtRestKeyText(), 'hex');
    for (let n = 0; n < count; n++) {
      const connection = new RedisConnection(redisPropertiesSchema.parse({ url: server.url, prefix: 'hb-race:' }));
      connections.push(connection);
      const shared = new RedisWatchState(connection.use(), new Sealer(key, 'watch:race'), { keyPrefix: 'hb-race:watch:race:', forgetMs: HOUR, ready: () => whenConnected(connection, 10_000) });
      const watch = new Watch({
        properties, shared, newVersion: () => randomBytes(8).toString('hex'), ...(now && { now }),
        hooks: { send: (alerts) => sent.push(...alerts), changed: () => undefined, storeProblem: () => undefined, sharedProblem: (error) => assert.fail(String(error)) },
      });
      watches.push(watch);
      await watch.start();
    }
    return watches;
  }
  const brief = (alerts: Alert[]): string[] => alerts.map(({ payload }) => `${payload.rule} ${payload.state}`).sort();

  it('repeatMinutes across instances: one repeat per interval in all, whichever instances judge the readings', async function () {
    let clock = Date.now();
    const sent: Alert[] = [];
    await startWatches(4, sent, watchPropertiesSchema.parse({ repeatMinutes: 1 }), () => clock);
    const all = (value: number): Promise<unknown> => Promise.all(watches.map((watch) => watch.observe(reading(value))));
    await all(2.8);
    assert.deepEqual(brief(sent), ['glucose-low firing', 'glucose-urgent-low firing']);
    sent.length = 0;
    clock += 30_000;
    await all(2.7);
    assert.deepEqual(brief(sent), [], 'not yet');
    clock += 31_000;
    await all(2.7);
    await all(2.6);
    assert.deepEqual(brief(sent), ['glucose-low firing', 'glucose-urgent-low firing'], 'one repeat of each in all');
  });

  it('of 8 instances given 2.8 at once, one sends glucose-urgent-low and glucose-low firing; of 8 given 5.0 at once, one sends each resolved', async function () {
    const sent: Alert[] = [];
    await startWatches(8, sent, watchPropertiesSchema.parse({}));
    for (let round = 0; round < 5; round++) {
      sent.length = 0;
      await Promise.all(watches.map((watch) => watch.observe(reading(2.8))));
      assert.deepEqual(sent.map(({ payload }) => `${payload.rule} ${payload.state}`).sort(), ['glucose-low firing', 'glucose-urgent-low firing'], `round ${round}`);
      // every instance took the winner's episodes
      for (const watch of watches) assert.equal(watch.engine.firingCount(), 2);
      sent.length = 0;
      await Promise.all(watches.map((watch) => watch.observe(reading(5.0))));
      assert.deepEqual(sent.map(({ payload }) => `${payload.rule} ${payload.state}`).sort(), ['glucose-low resolved', 'glucose-urgent-low resolved'], `round ${round}`);
    }
    for (const watch of watches) assert.equal(watch.engine.firingCount(), 0);
  });
});
