import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { buildCgmPush, type CgmPatient } from '../src/sandbox/sinocare-pushes';
import { httpDelivery, placed } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed } from './harness/node-red';
import { RedisServer } from './harness/redis';

/**
 * health-outbox with `state`: one queue in Redis shared by two real Node-RED processes running
 * the same flow (a Sinocare receiver in `ack: flow` → the outbox → the core http request node →
 * health-ack), as behind a load balancer. The hospital is an HTTP server in this process that can
 * be up, refuse (503), or hang (take the request and never answer: deliveries stay in flight);
 * it records each reading it stored and every request it got, with the time.
 */

type Mode = 'up' | 'refuse' | 'hang';

interface Received {
  readingId: string;
  patient: string;
  at: number;
}

class Hospital {
  mode: Mode = 'up';
  readonly stored: Received[] = [];
  readonly requests: Received[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reading = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; subject?: unknown };
      const entry = { readingId: String(reading.id), patient: JSON.stringify(reading.subject), at: Date.now() };
      this.requests.push(entry);
      if (this.mode === 'hang') return; // never answered: the delivery stays in flight
      if (this.mode === 'refuse') {
        res.writeHead(503).end('maintenance');
        return;
      }
      this.stored.push(entry);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<number> {
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Cuts the requests left hanging (their sender is gone). */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const patients: CgmPatient[] = Array.from({ length: 4 }, (_, index) => ({
  deviceSn: `SN-RO-${index}`,
  patientId: `P-REDIS-OUTBOX-${index}`,
  visitId: `V-${index}`,
  inSerialId: `IN-${index}`,
  patientName: `共享患者${index}`,
  idCard: `11010119850202${String(3000 + index)}`,
  customerName: '示例医院',
}));
const START = Date.parse('2026-12-01T08:00:00+08:00');
let serial = 0;

/** The next reading of patient `p`; its id as the hospital sees it. */
function push(p: number): { body: Record<string, unknown>; readingId: string } {
  const k = ++serial;
  const body = buildCgmPush(patients[p]!, { serialNo: k, testResult: (5 + (k % 30) / 10).toFixed(1), measuredAt: START + k * 60_000, warmingUp: false });
  return { body, readingId: `sinocare:${(body.data as { testId: string }).testId}` };
}

interface OutboxProps {
  ackTimeout?: number;
  retryMinSeconds?: number;
  retryMaxSeconds?: number;
  maxAgeHours?: number;
  concurrency?: number;
  encrypt?: boolean;
}

function flow(hospitalPort: number, redisUrl: string, outbox: OutboxProps = {}): object[] {
  const tab = 'tab-ro';
  return [
    ...placed([
      { id: tab, type: 'tab', label: 'shared outbox' },
      { id: 'rx', z: tab, type: 'sinocare-in', name: '', version: 1, path: '/push', ack: 'flow', ackTimeout: 10, dedupHours: 72, pii: 'keep', credentials: { key: '', piiKey: '' }, wires: [['ob'], []] },
      {
        id: 'ob', z: tab, type: 'health-outbox', name: '', version: 1, maxAgeHours: 72, retryMinSeconds: 0.2, retryMaxSeconds: 1,
        concurrency: 4, ackTimeout: 4, keepDeadLettersDays: 30, encrypt: true, state: 'shared', ...outbox, wires: [['req'], ['dead']],
      },
      ...httpDelivery(tab, `http://127.0.0.1:${hospitalPort}/in`, 'the hospital'),
      { id: 'dead', z: tab, type: 'test-sink', name: 'ob/dead', wires: [[]] },
      { id: 'ob-status', z: tab, type: 'status', scope: ['ob'], wires: [['statuses']] },
      { id: 'statuses', z: tab, type: 'test-sink', name: 'ob/statuses', wires: [[]] },
    ]),
    { id: 'shared', type: 'health-redis', name: '', url: redisUrl, prefix: 'hb-test:', tls: false, ca: '', credentials: {} },
  ];
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Per patient, the reading ids in the order the hospital first stored them. */
function orderPerPatient(received: Received[]): Map<string, string[]> {
  const seen = new Set<string>();
  const order = new Map<string, string[]>();
  for (const entry of received) {
    if (seen.has(entry.readingId)) continue;
    seen.add(entry.readingId);
    order.set(entry.patient, [...(order.get(entry.patient) ?? []), entry.readingId]);
  }
  return order;
}

async function pushAll(instance: NodeRed, count: number): Promise<string[][]> {
  const sent: string[][] = patients.map(() => []);
  for (let n = 0; n < count; n++) {
    const p = n % patients.length;
    const { body, readingId } = push(p);
    const answer = await postJson(`${instance.url}/push`, body);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { code: 0, msg: '' });
    sent[p]!.push(readingId);
  }
  return sent;
}

async function outboxStatus(instance: NodeRed): Promise<any> {
  const status = (await request(`${instance.url}/health-bridge/status`)).json as { outboxes: any[] };
  return status.outboxes.find((outbox) => outbox.id === 'ob');
}

describe('health-outbox with state: one queue in Redis shared by two Node-RED instances', function () {
  this.timeout(240_000);
  let redis: RedisServer;
  let hospital: Hospital;
  let hospitalPort: number;
  let instances: NodeRed[] = [];

  beforeEach(async function () {
    hospital = new Hospital();
    hospitalPort = await hospital.start();
    // what docs/redis.md recommends for an outbox: every acknowledged write on disk first
    redis = await RedisServer.start({ config: { appendonly: 'yes', appendfsync: 'always' } });
    instances = await Promise.all([0, 1].map(() => NodeRed.start({ settings: { lang: 'en-US' }, logLevel: 'info' })));
  });
  afterEach(async function () {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await redis.stop();
    await hospital.close();
  });

  it('A holds 20 readings (4 patients) while the hospital is away and dies (kill -9): B delivers all 20, each patient\'s in order', async function () {
    const [a, b] = instances as [NodeRed, NodeRed];
    hospital.mode = 'hang';
    await a.deploy(flow(hospitalPort, redis.url));
    const sent = await pushAll(a, 20);
    // each patient's oldest reading is in flight on A (concurrency 4), the others wait behind it
    await until(() => hospital.requests.length >= 4, 20_000, 'A to hand out the 4 patients\' first readings');
    await until(async () => (await outboxStatus(a)).queued === 20, 5_000, 'A to count 20 waiting');
    await a.kill();
    hospital.cut();
    hospital.mode = 'up';
    const requestsBefore = hospital.requests.length;
    await b.deploy(flow(hospitalPort, redis.url));
    // B sees the shared queue before delivering anything: what A left
    await until(async () => (await outboxStatus(b))?.queued === 20, 10_000, 'B to count the 20 waiting in Redis');
    await until(() => new Set(hospital.stored.map((entry) => entry.readingId)).size === 20, 90_000, `all 20 at the hospital (it has ${new Set(hospital.stored.map((entry) => entry.readingId)).size})`);
    const order = orderPerPatient(hospital.stored);
    assert.equal(order.size, 4);
    const sentInOrder = sent.map((ids) => ids.join(' '));
    for (const ids of order.values()) assert.ok(sentInOrder.includes(ids.join(' ')), `a patient's readings in the order sent: ${ids.join(' ')}`);
    // each reached the hospital once: A's deliveries were taken over once they passed ackTimeout
    const counts = new Map<string, number>();
    for (const entry of hospital.stored) counts.set(entry.readingId, (counts.get(entry.readingId) ?? 0) + 1);
    assert.deepEqual([...counts.values()].filter((count) => count > 1), []);
    assert.ok(hospital.requests.length - requestsBefore >= 20);
    await until(async () => (await outboxStatus(b)).queued === 0, 10_000, 'B\'s status to count none waiting');
  });

  it('a reading waiting out its backoff is not taken for a dead instance\'s: B delivers it at its due time, not at ackTimeout', async function () {
    const [a, b] = instances as [NodeRed, NodeRed];
    hospital.mode = 'refuse';
    const props = { ackTimeout: 2, retryMinSeconds: 15, retryMaxSeconds: 15 };
    await a.deploy(flow(hospitalPort, redis.url, props));
    await b.deploy(flow(hospitalPort, redis.url, props));
    const [[readingId]] = (await pushAll(a, 1)).filter((ids) => ids.length);
    await until(() => hospital.requests.length === 1, 20_000, 'the first (refused) delivery');
    const refusedAt = hospital.requests[0]!.at;
    // A dies with the reading waiting for its retry; the hospital is back
    await a.kill();
    hospital.mode = 'up';
    // well past ackTimeout (2 s) and B's takeover of idle deliveries, still before the retry is due
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    assert.equal(hospital.requests.length, 1, 'nothing handed out before the retry is due');
    const status = await outboxStatus(b);
    assert.equal(status.queued, 1);
    assert.equal(status.inFlight, 0, 'the waiting retry is not shown in flight');
    await until(() => hospital.stored.length === 1, 30_000, 'the retry at its due time');
    assert.equal(hospital.stored[0]!.readingId, readingId);
    assert.ok(hospital.stored[0]!.at >= refusedAt + 14_000, `retried ${hospital.stored[0]!.at - refusedAt} ms after the refusal`);
  });

  it('dead letters in Redis: what died on A is listed, retried and delivered through B\'s admin API; status counts them on both', async function () {
    const [a, b] = instances as [NodeRed, NodeRed];
    hospital.mode = 'refuse';
    // 3.6 s of max age
    const props = { maxAgeHours: 0.001, retryMinSeconds: 0.5, retryMaxSeconds: 0.5 };
    await a.deploy(flow(hospitalPort, redis.url, props));
    const sent = (await pushAll(a, 2)).flat();
    await until(() => a.messages.filter((m) => m.sink === 'ob/dead').length === 2, 30_000, 'both on output 2');
    await b.deploy(flow(hospitalPort, redis.url, props));
    // just deployed, B may still be making its first connection to Redis (503, code redis, meanwhile)
    let listed = await request(`${b.url}/health-bridge/outboxes/ob/dead-letters`);
    for (let n = 0; n < 50 && listed.status === 503; n++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      listed = await request(`${b.url}/health-bridge/outboxes/ob/dead-letters`);
    }
    assert.equal(listed.status, 200, listed.text);
    const page = listed.json as { entries: Array<{ readingId: string; tries: number; lastError: { text: string } }>; total: number; next: null };
    assert.equal(page.total, 2);
    // the listing masks what looks like an ID number: the ids' ends and the readings' count
    assert.deepEqual(page.entries.map((entry) => entry.readingId.slice(-4)).sort(), sent.map((id) => id.slice(-4)).sort());
    for (const entry of page.entries) assert.match(entry.lastError.text, /the hospital answered 503/);
    await until(async () => (await outboxStatus(b)).deadLetters === 2 && (await outboxStatus(a)).deadLetters === 2, 10_000, 'both to count 2 dead letters');

    hospital.mode = 'up';
    const retried = await postJson(`${b.url}/health-bridge/outboxes/ob/dead-letters/retry`, { all: true });
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(retried.json, { retried: 2 });
    await until(() => hospital.stored.length === 2, 30_000, 'the retried letters at the hospital');
    await until(async () => (await outboxStatus(a)).deadLetters === 0, 10_000, 'A to count none');
    assert.equal(((await request(`${a.url}/health-bridge/outboxes/ob/dead-letters`)).json as { total: number }).total, 0);
  });

  it('a push right after a deploy is stored, not refused: the outbox waits for the first connection to Redis', async function () {
    const [a] = instances as [NodeRed, NodeRed];
    hospital.mode = 'up';
    for (let n = 0; n < 4; n++) {
      await a.deploy(flow(hospitalPort, redis.url, { retryMaxSeconds: 2 + n }));
      const before = new Set(hospital.stored.map((entry) => entry.readingId)).size;
      // pushAll checks the answer: 200 with Sinocare's success, not the 500 of a message not stored
      await pushAll(a, 1);
      await until(() => new Set(hospital.stored.map((entry) => entry.readingId)).size === before + 1, 30_000, 'the reading at the hospital');
    }
  });

  it('Redis down: pushes answered with failure (the vendor retries) and a red status; once it is back the outbox goes on without a redeploy', async function () {
    const [a] = instances as [NodeRed, NodeRed];
    hospital.mode = 'refuse';
    await a.deploy(flow(hospitalPort, redis.url, { retryMinSeconds: 1, retryMaxSeconds: 1 }));
    const before = (await pushAll(a, 2)).flat();
    await redis.pause();
    const lastStatus = (): any => a.messages.filter((m) => m.sink === 'ob/statuses').at(-1)?.msg.status;
    const { body, readingId } = push(0);
    const refused = await postJson(`${a.url}/push`, body);
    assert.notEqual(refused.status, 200, 'not stored: not answered with success');
    await until(() => lastStatus()?.fill === 'red' && /^storage error: redis$/.test(lastStatus()?.text), 10_000, 'a red status');
    await redis.resume();
    hospital.mode = 'up';
    // the vendor pushes it again until it is taken
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await postJson(`${a.url}/push`, body);
      if (answer.status === 200) break;
      if (Date.now() > deadline) throw new Error('a push still refused long after Redis came back');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await until(() => new Set(hospital.stored.map((entry) => entry.readingId)).size === 3, 30_000, 'the three readings at the hospital');
    assert.deepEqual(new Set(hospital.stored.map((entry) => entry.readingId)), new Set([...before, readingId]));
    await until(() => lastStatus()?.fill === 'green', 10_000, 'the status back to green');
  });

  for (const encrypt of [true, false]) {
    it(encrypt
      ? 'with encrypt, the bytes Redis keeps (its append-only file) hold no patient name or id, in a key or a value'
      : 'without encrypt (the control): the same bytes do hold them, so the check above can see them', async function () {
      const [a] = instances as [NodeRed, NodeRed];
      hospital.mode = 'refuse';
      const props = { encrypt, maxAgeHours: 0.001, retryMinSeconds: 0.5, retryMaxSeconds: 0.5 };
      await a.deploy(flow(hospitalPort, redis.url, props));
      await pushAll(a, 8);
      // waiting, retried (a record rewritten with its error), and dead letters
      await until(() => a.messages.filter((m) => m.sink === 'ob/dead').length >= 4, 60_000, `dead letters (${a.messages.filter((m) => m.sink === 'ob/dead').length} so far)`);
      await pushAll(a, 4);
      const bytes = Buffer.concat(allFiles(redis.dir).map((file) => fs.readFileSync(file)));
      assert.ok(bytes.includes(Buffer.from('hb-test:outbox:ob:msgs')), 'the append-only file is read');
      const found = patients.flatMap((patient) => [patient.patientName, patient.patientId, patient.idCard, patient.deviceSn])
        .filter((value) => bytes.includes(Buffer.from(value, 'utf8')));
      if (encrypt) assert.deepEqual(found, []);
      else assert.ok(found.length >= 4, `found ${found.length} of the patients' values in ${bytes.length} bytes (${allFiles(redis.dir).map((file) => path.basename(file)).join(', ')})`);
    });
  }
});

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? allFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}
