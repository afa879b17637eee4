import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { reachHealthAck } from '../../src/lib/ack-registry';
import { MemoryDedupStore, type ClaimResult, type DedupStore } from '../../src/lib/dedup';
import { receiverConfigSchema } from '../../src/lib/receiver/config';
import { PushReceiver, type ReceiverMessage, type Rejection } from '../../src/lib/receiver/core';
import { sinocareProtocol } from '../../src/lib/vendors/sinocare';
import { bodyFixture } from '../harness/flows';
import { postJson, type HttpResponse } from '../harness/http';

/**
 * The receiver core behind a dedup store that answers slowly and out of order, as a store across
 * the network (Redis) does: the core must await every claim and still emit each push once, and
 * answer every copy with the outcome of the one it emitted. The receiver listens on a real HTTP
 * server and the copies come over real connections, all at once.
 */

const COPIES = 30;
const ACCEPTED = { code: 0, msg: '' };
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const randomDelay = (): Promise<void> => delay(5 + Math.random() * 45);

/**
 * A store for this test only: atomic (each call decides at once, on the memory store underneath)
 * but slow, each answer arriving 5–50 ms later in no particular order, many calls outstanding at once.
 */
class SlowStore implements DedupStore {
  readonly inner = new MemoryDedupStore({ windowMs: 3_600_000, maxKeys: 1000 });
  outstanding = 0;
  mostOutstanding = 0;
  claims = 0;
  /** While set, every call fails (the store is unreachable). */
  down: Error | undefined;

  claim(key: string): Promise<ClaimResult> {
    this.claims++;
    return this.slowly(() => this.inner.claimNow(key));
  }
  confirm(key: string): Promise<void> {
    return this.slowly(() => void this.inner.confirm(key));
  }
  release(key: string): Promise<void> {
    return this.slowly(() => void this.inner.release(key));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async slowly<T>(decide: () => T): Promise<T> {
    const failure = this.down;
    const result = failure ? undefined : decide();
    this.outstanding++;
    this.mostOutstanding = Math.max(this.mostOutstanding, this.outstanding);
    await randomDelay();
    this.outstanding--;
    if (failure) throw failure;
    return result as T;
  }
}

type FlowBehaviour = 'stores' | 'fails';

/** One receiver on a real HTTP server; in `ack: flow` a stand-in for health-ack settles each message. */
async function startReceiver(store: DedupStore, properties: Record<string, unknown>, flow: FlowBehaviour = 'stores') {
  const emitted: ReceiverMessage[] = [];
  const rejections: Rejection[] = [];
  const storeFailures: unknown[] = [];
  const settings = receiverConfigSchema.parse({ path: '/sinocare', ...properties });
  const receiver = new PushReceiver(sinocareProtocol, settings, store, {
    emit(readings, events) {
      for (const message of [...readings, ...events]) {
        emitted.push(message);
        // the flow takes a while to store it, then health-ack hears of the outcome
        const ackId = message._ack;
        if (ackId) void randomDelay().then(() => reachHealthAck(ackId, flow === 'fails', flow === 'fails' ? new Error('database down') : undefined));
      }
    },
    rejected(rejection) {
      rejections.push(rejection);
    },
    accepted() {},
    storeFailed(error) {
      storeFailures.push(error);
    },
  });
  const server = http.createServer((req, res) => void receiver.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sinocare`;
  return {
    url,
    emitted,
    rejections,
    storeFailures,
    async stop(): Promise<void> {
      await receiver.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let pushNumber = 0;
function sinocarePush(): any {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = `slow-store-${process.pid}-${++pushNumber}`;
  return body;
}

const sendCopies = (url: string, body: unknown, count = COPIES): Promise<HttpResponse[]> =>
  Promise.all(Array.from({ length: count }, () => postJson(url, body)));

/** `COPIES` copies of each push, all at once, in a shuffled order, spread over the receivers' URLs. */
function sendInterleaved(urls: string[], bodies: unknown[]): Promise<HttpResponse[]> {
  const sends = bodies.flatMap((body) => Array.from({ length: COPIES }, (_, copy) => ({ body, url: urls[copy % urls.length] as string })));
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [sends[i], sends[j]] = [sends[j] as (typeof sends)[number], sends[i] as (typeof sends)[number]];
  }
  return Promise.all(sends.map(({ url, body }) => postJson(url, body)));
}

/** The answers as `status body` lines, counted: what every copy got. */
function answers(responses: HttpResponse[]): Record<string, number> {
  const counted: Record<string, number> = {};
  for (const response of responses) {
    const line = `${response.status} ${response.text}`;
    counted[line] = (counted[line] ?? 0) + 1;
  }
  return counted;
}

const emittedIds = (emitted: ReceiverMessage[]): unknown[] => emitted.map((message) => (message.raw as any).data.testId);

describe('a receiver on a slow dedup store', function () {
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterEach(async function () {
    await receiver?.stop();
    receiver = undefined;
  });

  for (const ack of ['auto', 'flow'] as const) {
    it(`emits each push once under ${COPIES} concurrent copies of it and answers every copy with success (ack: ${ack})`, async function () {
      const store = new SlowStore();
      receiver = await startReceiver(store, { ack, ackTimeout: 10 });
      const bodies = [sinocarePush(), sinocarePush(), sinocarePush()];
      const responses = await sendInterleaved([receiver.url], bodies);
      assert.deepEqual(answers(responses), { [`200 ${JSON.stringify(ACCEPTED)}`]: COPIES * bodies.length });
      assert.deepEqual(emittedIds(receiver.emitted).sort(), bodies.map((body) => body.data.testId).sort());
      // a retry after the answers is a duplicate too
      assert.equal((await postJson(receiver.url, bodies[0])).status, 200);
      await delay(100);
      assert.equal(receiver.emitted.length, bodies.length);
      assert.ok(store.mostOutstanding > 1, 'the store answered calls concurrently');
      assert.deepEqual(receiver.rejections, []);
    });
  }

  it(`answers every one of ${COPIES} concurrent copies with the failure of the one emitted, and emits the retry again (ack: flow)`, async function () {
    receiver = await startReceiver(new SlowStore(), { ack: 'flow', ackTimeout: 10 }, 'fails');
    const body = sinocarePush();
    const responses = await sendCopies(receiver.url, body);
    assert.deepEqual(answers(responses), { [`500 ${JSON.stringify({ code: 500, msg: 'receiver failed to store the data' })}`]: COPIES });
    assert.equal(receiver.emitted.length, 1);
    // the key was released: the vendor's retry is emitted again, once more
    const retries = await sendCopies(receiver.url, body, 5);
    assert.deepEqual(retries.map((r) => r.status), [500, 500, 500, 500, 500]);
    assert.equal(receiver.emitted.length, 2);
  });

  it('answers 503 while the store fails, emits nothing, and takes the next push once the store is back', async function () {
    const store = new SlowStore();
    receiver = await startReceiver(store, { ack: 'flow', ackTimeout: 10 });
    store.down = new Error('store unreachable');
    const body = sinocarePush();
    const refused = await sendCopies(receiver.url, body, 5);
    assert.deepEqual(answers(refused), { [`503 ${JSON.stringify({ code: 503, msg: 'temporarily unavailable' })}`]: 5 });
    assert.equal(receiver.emitted.length, 0);
    assert.ok(receiver.rejections.length > 0);
    assert.ok(receiver.rejections.every((r) => r.code === 'dedup-store' && r.params.message === 'store unreachable'), JSON.stringify(receiver.rejections));

    store.down = undefined;
    const responses = await sendCopies(receiver.url, body, 5);
    assert.deepEqual(answers(responses), { [`200 ${JSON.stringify(ACCEPTED)}`]: 5 });
    assert.deepEqual(emittedIds(receiver.emitted), [body.data.testId]);
  });

  it('reports a confirm that fails, and answers the stored push with success all the same', async function () {
    const store = new SlowStore();
    store.confirm = () => Promise.reject(new Error('confirm lost'));
    receiver = await startReceiver(store, { ack: 'flow', ackTimeout: 10 });
    const response = await postJson(receiver.url, sinocarePush());
    assert.equal(response.status, 200);
    assert.equal(receiver.emitted.length, 1);
    assert.deepEqual(receiver.storeFailures.map((error) => (error as Error).message), ['confirm lost']);
  });

  it('answers 503 at ackTimeout, without emitting, a push whose key another instance holds and never settles', async function () {
    const store = new SlowStore();
    receiver = await startReceiver(store, { ack: 'flow', ackTimeout: 1 });
    const body = sinocarePush();
    assert.equal(store.inner.claimNow(body.data.testId), 'claimed', 'held by an instance that went silent');
    const started = Date.now();
    const responses = await sendCopies(receiver.url, body, 3);
    assert.deepEqual(answers(responses), { [`503 ${JSON.stringify({ code: 503, msg: 'receiver timed out storing the data' })}`]: 3 });
    assert.ok(Date.now() - started >= 900, 'asked again until ackTimeout');
    assert.equal(receiver.emitted.length, 0);
    // that instance's claim ends (in Redis: it expires): the vendor's next retry is emitted
    await store.inner.release(body.data.testId);
    assert.equal((await postJson(receiver.url, body)).status, 200);
    assert.equal(receiver.emitted.length, 1);
  });

  it('two receivers on one store (two instances) emit each push once and answer every copy with success', async function () {
    // Here the store alone keeps the copies apart: neither receiver knows what the other claimed.
    const store = new SlowStore();
    receiver = await startReceiver(store, { ack: 'flow', ackTimeout: 10 });
    const other = await startReceiver(store, { ack: 'flow', ackTimeout: 10 });
    try {
      const bodies = [sinocarePush(), sinocarePush(), sinocarePush()];
      const responses = await sendInterleaved([receiver.url, other.url], bodies);
      assert.deepEqual(answers(responses), { [`200 ${JSON.stringify(ACCEPTED)}`]: COPIES * bodies.length });
      assert.deepEqual(emittedIds([...receiver.emitted, ...other.emitted]).sort(), bodies.map((body) => body.data.testId).sort());
      assert.ok(store.mostOutstanding > 1, 'the store answered calls concurrently');
    } finally {
      await other.stop();
    }
  });
});
