import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { placed } from './harness/flows';
import { request, type HttpResponse } from './harness/http';
import { NodeRed } from './harness/node-red';

/**
 * The admin API of the outboxes in a real Node-RED with adminAuth on (users logged in as the
 * editor logs in): a hospital over real HTTP refuses a reading, quoting the patient's name, ID
 * number and phone in its error; the reading dies and is kept; a read-only user lists it and is
 * refused the operations; an admin retries it and the hospital, accepting again, gets it once; a
 * discard removes another; what waits and what died survives a restart and goes after
 * keepDeadLettersDays. No answer holds the name, the ID number or the phone.
 */

const NAME = '欧阳明月';
const ID_NUMBER = '11010519491231002X';
const PHONE = '13912345678';
const PERSONAL = [NAME, ID_NUMBER, PHONE];

/** A hospital that refuses (500, its text quoting the patient) until told to accept. */
class Hospital {
  accepting = false;
  /** Reading ids it accepted, in order, each time it did. */
  readonly accepted: string[] = [];
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<Hospital> {
    let hospital!: Hospital;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const reading = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
        if (hospital.accepting && req.url === '/fhir') {
          hospital.accepted.push(reading.id);
          res.writeHead(201).end('{}');
          return;
        }
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`patient ${NAME} (ID ${ID_NUMBER}, phone ${PHONE}) is not registered`);
      });
    });
    hospital = new Hospital(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return hospital;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function reading(n: number): Record<string, unknown> {
  return {
    id: `sinocare:ADMIN-${n}`, vendor: 'sinocare', kind: 'glucose', time: '2026-12-07T08:00:00+08:00',
    values: { glucose: { value: 2.8, unit: 'mmol/L' } },
    subject: { patientId: 'P-ADMIN-1', name: NAME, idCard: ID_NUMBER, phone: PHONE },
  };
}

/**
 * test-source → outbox → http request (text) → 2xx? → health-ack; a refusal's text becomes
 * msg.error (as a flow that reports the hospital's answer would). `ob` dies fast (dead letters),
 * `ob-wait` keeps waiting (a hospital path that always refuses), for the queue's listing.
 */
function flow(hospitalPort: number, keepDeadLettersDays?: number): object[] {
  const tab = 'tab-admin';
  const outbox = (id: string, path: string, maxAgeHours: number): object[] => [
    { id: `${id}-in`, z: tab, type: 'test-source', name: `${id}/in`, wires: [[id]] },
    {
      id, z: tab, type: 'health-outbox', name: id, version: 1, maxAgeHours, retryMinSeconds: 0.2, retryMaxSeconds: 0.5,
      concurrency: 1, ackTimeout: 10, state: '', ...(keepDeadLettersDays !== undefined && { keepDeadLettersDays }),
      wires: [[`${id}-req`], [`${id}-dead`]],
    },
    {
      id: `${id}-req`, z: tab, type: 'http request', name: '', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: `http://127.0.0.1:${hospitalPort}${path}`,
      tls: '', persist: false, proxy: '', insecureHTTPParser: false, authType: '', senderr: false, headers: [], wires: [[`${id}-ok`]],
    },
    {
      id: `${id}-ok`, z: tab, type: 'switch', name: '', property: 'statusCode', propertyType: 'msg',
      rules: [{ t: 'btwn', v: '200', vt: 'num', v2: '299', v2t: 'num' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2,
      wires: [[`${id}-ack`], [`${id}-refused`]],
    },
    {
      id: `${id}-refused`, z: tab, type: 'change', name: '', wires: [[`${id}-ack`]],
      rules: [{ t: 'set', p: 'error', pt: 'msg', to: '{"message": "the hospital answered " & statusCode & ": " & payload}', tot: 'jsonata' }],
    },
    { id: `${id}-ack`, z: tab, type: 'health-ack', name: '', wires: [[]] },
    { id: `${id}-dead`, z: tab, type: 'test-sink', name: `${id}/dead`, wires: [[]] },
  ];
  return placed([{ id: tab, type: 'tab', label: 'admin' }, ...outbox('ob', '/fhir', 0.0005), ...outbox('ob-wait', '/never', 72)]);
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Entry {
  entry: string;
  readingId: string | null;
  tries: number;
  lastError: { code: string; text: string } | null;
  nextTry?: string | null;
  queuedAt: string | null;
}
interface Page {
  entries: Entry[];
  next: string | null;
  total: number;
}

const USERS = [
  { username: 'admin', password: 'admin-password-1', permissions: '*' },
  { username: 'nurse', password: 'nurse-password-1', permissions: 'read' },
];

describe('admin API of the outboxes, under adminAuth', function () {
  this.timeout(120_000);
  let hospital: Hospital;
  let nodeRed: NodeRed;
  let admin: string;
  let reader: string;
  /** Every answer of the admin API the tests got, to look for personal data in. */
  const answers: string[] = [];

  const call = async (method: 'GET' | 'POST', route: string, token?: string, body?: unknown): Promise<HttpResponse> => {
    const response = await request(`${nodeRed.url}/health-bridge/${route}`, {
      method,
      ...(body !== undefined && { body: body as object }),
      headers: { ...(token && { authorization: `Bearer ${token}` }) },
    });
    answers.push(response.text);
    return response;
  };
  const deadLetters = async (outbox = 'ob'): Promise<Page> => {
    const response = await call('GET', `outboxes/${outbox}/dead-letters`, reader);
    assert.equal(response.status, 200, response.text);
    return response.json as Page;
  };
  const deadOf = (count: number) => until(async () => ((await deadLetters()).entries.length >= count ? deadLetters() : undefined), 30_000, `${count} dead letter(s)`);

  before(async function () {
    hospital = await Hospital.start();
    nodeRed = await NodeRed.start({ adminUsers: USERS, settings: { lang: 'en-US' } });
    await nodeRed.deploy(flow(hospital.port));
    admin = await nodeRed.token('admin', 'admin-password-1');
    reader = await nodeRed.token('nurse', 'nurse-password-1');
  });
  after(async function () {
    await nodeRed?.stop();
    await hospital?.close();
  });

  it('a read-only user lists what waits and what died, masked, and is refused retry and discard', async function () {
    nodeRed.inject('ob/in', { payload: reading(1) });
    nodeRed.inject('ob-wait/in', { payload: reading(2) });
    await nodeRed.waitForMessages(1, 'ob/dead', 30_000);
    const dead = await deadOf(1);
    assert.equal(dead.total, 1);
    const [letter] = dead.entries;
    assert.equal(letter?.readingId, 'sinocare:ADMIN-1');
    assert.ok(letter!.tries >= 1, `tries ${letter?.tries}`);
    assert.equal(letter?.lastError?.code, 'http-500');
    assert.match(letter!.lastError!.text, /^the hospital answered 500: patient 欧\*+ \(ID 110105\*+002X, phone 139\*+5678\) is not registered$/);

    const queue = await until(async () => {
      const response = await call('GET', 'outboxes/ob-wait/queue', reader);
      assert.equal(response.status, 200, response.text);
      const page = response.json as Page;
      return page.entries[0] && page.entries[0].tries >= 1 ? page : undefined;
    }, 20_000, 'a waiting message that failed');
    assert.equal(queue.entries[0]?.readingId, 'sinocare:ADMIN-2');
    assert.equal(queue.entries[0]?.lastError?.code, 'http-500');
    assert.ok(queue.entries[0]?.queuedAt);
    assert.ok('nextTry' in queue.entries[0]!);

    for (const route of ['retry', 'discard']) {
      const refused = await call('POST', `outboxes/ob/dead-letters/${route}`, reader, { all: true });
      assert.ok(refused.status === 401 || refused.status === 403, `${route}: ${refused.status}`);
    }
    const anonymous = await call('GET', 'outboxes/ob/dead-letters');
    assert.equal(anonymous.status, 401);
    assert.equal((await deadLetters()).total, 1, 'nothing changed');
  });

  it('answers 400 to a body it cannot read and 404 to an outbox that does not run', async function () {
    for (const body of [{}, { all: false }, { entries: [] }, { entries: ['x'] }, { all: true, entries: ['1'] }]) {
      const response = await call('POST', 'outboxes/ob/dead-letters/retry', admin, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(String((response.json as { error?: string }).error), /\{"entries": \[/);
    }
    assert.equal((await call('GET', 'outboxes/ob/dead-letters?limit=0', reader)).status, 400);
    assert.equal((await call('GET', 'outboxes/nothing-here/dead-letters', reader)).status, 404);
    assert.equal((await call('POST', 'outboxes/nothing-here/dead-letters/discard', admin, { all: true })).status, 404);
  });

  it("/health-bridge/status lists the outboxes with their figures", async function () {
    const response = await call('GET', 'status', reader);
    assert.equal(response.status, 200);
    const outboxes = (response.json as { outboxes: Array<Record<string, unknown>> }).outboxes;
    const ob = outboxes.find((outbox) => outbox.id === 'ob');
    assert.equal(ob?.deadLetters, 1);
    assert.equal(ob?.deadLettered, 1);
    const waiting = outboxes.find((outbox) => outbox.id === 'ob-wait');
    assert.equal(waiting?.queued, 1);
  });

  it('what died and what waits survive a restart; the dead letters are sealed on disk, for Node-RED\'s user alone', async function () {
    await nodeRed.stop();
    const directory = path.join(nodeRed.userDir, 'health-bridge', 'outbox-ob', 'dead-letters');
    assert.equal(fs.statSync(directory).mode & 0o777, 0o700);
    const files = fs.readdirSync(directory).map((name) => path.join(directory, name));
    assert.ok(files.length > 0);
    for (const file of files) assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
    const bytes = Buffer.concat(files.map((file) => fs.readFileSync(file)));
    assert.ok(bytes.length > 200, 'a dead letter is on disk');
    for (const value of [...PERSONAL, 'ADMIN-1', 'P-ADMIN-1']) assert.ok(!bytes.includes(Buffer.from(value)), `${value} in clear on disk`);
    nodeRed = await nodeRed.startAgain();
    admin = await nodeRed.token('admin', 'admin-password-1');
    reader = await nodeRed.token('nurse', 'nurse-password-1');
    const dead = await until(async () => {
      const response = await call('GET', 'outboxes/ob/dead-letters', reader);
      return response.status === 200 ? (response.json as Page) : undefined;
    }, 20_000, 'the outbox after the restart');
    assert.deepEqual(dead.entries.map((entry) => entry.readingId), ['sinocare:ADMIN-1']);
    const queue = (await call('GET', 'outboxes/ob-wait/queue', reader)).json as Page;
    assert.deepEqual(queue.entries.map((entry) => entry.readingId), ['sinocare:ADMIN-2']);
  });

  it("an admin's retry delivers the reading once the hospital accepts it, and is logged with the user and the count", async function () {
    hospital.accepting = true;
    const [letter] = (await deadLetters()).entries;
    const response = await call('POST', 'outboxes/ob/dead-letters/retry', admin, { entries: [letter!.entry] });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { retried: 1 });
    await until(() => (hospital.accepted.length ? true : undefined), 20_000, 'the hospital to get the reading');
    await nodeRed.settledMessages(undefined, 1000);
    assert.deepEqual(hospital.accepted, ['sinocare:ADMIN-1'], 'once');
    assert.equal((await deadLetters()).total, 0);
    const lines = nodeRed.logs.split('\n').filter((line) => /retried \d+ dead letter/.test(line));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /admin retried 1 dead letter\(s\)/);
  });

  it('a discard removes the dead letters it names, and nothing reaches the hospital', async function () {
    hospital.accepting = false;
    nodeRed.inject('ob/in', { payload: reading(3) });
    nodeRed.inject('ob/in', { payload: reading(4) });
    const dead = await deadOf(2);
    hospital.accepting = true;
    const first = dead.entries.find((entry) => entry.readingId === 'sinocare:ADMIN-3')!;
    let response = await call('POST', 'outboxes/ob/dead-letters/discard', admin, { entries: [first.entry] });
    assert.deepEqual(response.json, { discarded: 1 });
    assert.deepEqual((await deadLetters()).entries.map((entry) => entry.readingId), ['sinocare:ADMIN-4']);
    response = await call('POST', 'outboxes/ob/dead-letters/discard', admin, { all: true });
    assert.deepEqual(response.json, { discarded: 1 });
    assert.equal((await deadLetters()).total, 0);
    await nodeRed.settledMessages(undefined, 500);
    assert.deepEqual(hospital.accepted, ['sinocare:ADMIN-1']);
    assert.match(nodeRed.logs, /admin discarded 1 dead letter\(s\)/);
  });

  it('dead letters go after keepDeadLettersDays', async function () {
    hospital.accepting = false;
    nodeRed.inject('ob/in', { payload: reading(5) });
    await deadOf(1);
    // a redeploy that keeps dead letters for about two seconds (a fraction of a day)
    await nodeRed.deploy(flow(hospital.port, 2 / 86_400));
    await until(async () => {
      const response = await call('GET', 'outboxes/ob/dead-letters', reader);
      return response.status === 200 && (response.json as Page).total === 0 ? true : undefined;
    }, 30_000, 'the dead letter to expire');
  });

  it('no answer holds the patient\'s name, ID number or phone, nor the log', function () {
    assert.ok(answers.length > 10);
    for (const text of [...answers, nodeRed.logs]) {
      for (const value of PERSONAL) assert.ok(!text.includes(value), `${value} in ${text.slice(0, 300)}`);
    }
  });
});
