import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sealer } from '../../src/lib/at-rest';
import { DeadLetterStore, type DeadLetter } from '../../src/lib/outbox/dead-letters';
import { errorCodeOf, errorView, maskText } from '../../src/lib/outbox/entries';
import { FileLog } from '../../src/lib/outbox/file-log/index';
import { OutboxQueue, type Clock } from '../../src/lib/outbox/queue';
import { SealedStorage } from '../../src/lib/outbox/sealed-storage';
import type { StoredMessage } from '../../src/lib/outbox/storage';

/**
 * The dead letters an outbox keeps, on the real file log sealed at rest, with time moved by the
 * test: kept until keepDeadLettersDays and not a millisecond longer, across a reopen, retried in
 * each patient's order, discarded; and what the admin API shows of them: no personal data.
 */

const T0 = 1_764_000_000_000;
const DAY = 86_400_000;
const NAME = '欧阳明月';
const ID_NUMBER = '11010519491231002X';
const PHONE = '13912345678';

/** Time the test moves (`to`), running the timers due by then; handles are numbers. */
class ManualClock implements Clock {
  time = T0;
  private readonly due = new Map<number, { at: number; callback: () => void }>();
  private handles = 0;
  now = (): number => this.time;
  setTimeout = (callback: () => void, ms: number): unknown => {
    this.due.set(++this.handles, { at: this.time + ms, callback });
    return this.handles;
  };
  clearTimeout = (handle: unknown): void => void this.due.delete(handle as number);
  to(time: number): void {
    this.time = time;
    for (const [handle, { at, callback }] of [...this.due]) {
      if (at > time) continue;
      this.due.delete(handle);
      callback();
    }
  }
}

function message(n: number, enqueuedAt: number, key = 7): StoredMessage {
  return {
    ref: n, seq: n, id: `m${n}`, enqueuedAt, nextAt: enqueuedAt, attempts: 3, key,
    msg: { payload: { id: `sinocare:${n}`, vendor: 'sinocare', kind: 'glucose', time: '2026-12-07T08:00:00+08:00', subject: { name: NAME, idCard: ID_NUMBER, phone: PHONE } } },
  };
}

describe('dead letters kept by the outbox', function () {
  let directory: string;
  const key = randomBytes(32);
  const open = async (clock: ManualClock, keepDays: number): Promise<DeadLetterStore> => {
    const storage = new SealedStorage(await FileLog.open({ directory }), { encrypt: true, sealer: new Sealer(key, 'outbox:ob') });
    return DeadLetterStore.open(storage, { keepMs: keepDays * DAY, clock });
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const eventually = async (condition: () => boolean, what: string): Promise<void> => {
    for (let round = 0; round < 200 && !condition(); round++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(condition(), what);
  };

  beforeEach(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-dead-'));
  });
  afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('are kept sealed, survive a reopen, and go exactly keepDeadLettersDays after they died', async function () {
    const clock = new ManualClock();
    let store = await open(clock, 1);
    await store.keep(message(1, T0 - 5_000), `hospital: patient ${NAME} unknown`);
    clock.to(T0 + 1_000);
    await store.keep(message(2, T0 - 4_000), 'no answer');
    assert.equal(store.count(), 2);
    const files = fs.readdirSync(directory).map((name) => fs.readFileSync(path.join(directory, name)).toString('utf8')).join('');
    for (const value of [NAME, ID_NUMBER, PHONE, 'sinocare:1']) assert.ok(!files.includes(value), `${value} in clear on disk`);
    await store.close();

    store = await open(clock, 1);
    const { letters } = await store.page(0, 10);
    assert.deepEqual(letters.map((letter) => [letter.msg?.payload && (letter.msg.payload as { id: string }).id, letter.queuedAt, letter.tries, letter.deadAt]), [
      ['sinocare:1', T0 - 5_000, 3, T0],
      ['sinocare:2', T0 - 4_000, 3, T0 + 1_000],
    ]);
    clock.to(T0 + DAY - 1);
    await settle();
    assert.equal(store.count(), 2, 'a millisecond before');
    // the store's own timer, nobody asking
    clock.to(T0 + DAY);
    await eventually(() => store.count() === 1, 'the first to go at keepDeadLettersDays');
    clock.to(T0 + DAY + 1_000);
    await eventually(() => store.count() === 0, 'the second to go');
    await store.close();
    assert.equal((await open(clock, 1)).count(), 0, 'gone for good');
  });

  it('with keepDeadLettersDays 0 keep none, and drop those kept before at the open', async function () {
    const clock = new ManualClock();
    let store = await open(clock, 30);
    await store.keep(message(1, T0), 'refused');
    await store.close();
    store = await open(clock, 0);
    assert.equal(store.count(), 0);
    await store.keep(message(2, T0), 'refused');
    assert.equal(store.count(), 0);
    await store.close();
  });

  it('are retried in the order the outbox first accepted them, and leave once queued', async function () {
    const clock = new ManualClock();
    const store = await open(clock, 30);
    // died in another order than they came (backoff): 3 came first
    await store.keep(message(1, T0 + 200), 'refused');
    await store.keep(message(2, T0 + 300), 'refused');
    await store.keep(message(3, T0 + 100), 'refused');
    const requeued: DeadLetter[] = [];
    const all = (await store.page(0, 10)).letters.map((letter) => letter.seq);
    const count = await store.retry({ entries: [all[0]!, all[2]!, 999] }, async (letters) => {
      requeued.push(...letters);
    });
    assert.equal(count, 2);
    assert.deepEqual(requeued.map((letter) => (letter.msg!.payload as { id: string }).id), ['sinocare:3', 'sinocare:1']);
    assert.deepEqual(requeued.map((letter) => letter.key), [7, 7], 'the patient\'s order key goes with it');
    assert.deepEqual((await store.page(0, 10)).letters.map((letter) => letter.seq), [all[1]]);
    // a requeue that fails leaves them kept
    await assert.rejects(store.retry({ all: true }, () => Promise.reject(new Error('disk full'))));
    assert.equal(store.count(), 1);
    assert.equal(await store.discard({ all: true }), 1);
    assert.equal(store.count(), 0);
    await store.close();
  });

  it('page with `after`', async function () {
    const clock = new ManualClock();
    const store = await open(clock, 30);
    for (let n = 1; n <= 5; n++) await store.keep(message(n, T0), 'refused');
    const first = await store.page(0, 2);
    assert.equal(first.letters.length, 2);
    assert.equal(first.more, true);
    const second = await store.page(first.letters[1]!.seq, 2);
    const third = await store.page(second.letters[1]!.seq, 2);
    assert.equal(third.more, false);
    assert.equal(new Set([...first.letters, ...second.letters, ...third.letters].map((letter) => letter.seq)).size, 5);
    await store.close();
  });

  it('a retried letter is delivered by the queue with its tries counted afresh', async function () {
    const clock = new ManualClock();
    const store = await open(clock, 30);
    await store.keep(message(1, T0 - DAY), 'refused');
    const sent: StoredMessage[] = [];
    const queue = new OutboxQueue({
      storage: await FileLog.open({ directory: path.join(directory, 'queue') }),
      clock,
      send: (stored) => sent.push(stored),
      deadLetter: () => undefined,
    });
    await store.retry({ all: true }, async (letters) => {
      await Promise.all(letters.map((letter) => queue.enqueue(letter.msg!, letter.key)));
    });
    await queue.idle();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.attempts, 0);
    assert.equal(sent[0]!.enqueuedAt, clock.now(), 'a new max age');
    assert.deepEqual((await queue.page(0, 10)).entries.map((entry) => entry.inFlight), [true]);
    await queue.close();
    await store.close();
  });
});

describe('what an operator sees of an entry', function () {
  it('masks the patient\'s values wherever the hospital quotes them, and ID and phone shapes', function () {
    const msg = { payload: { subject: { name: NAME, idCard: ID_NUMBER, phone: PHONE } } };
    const view = errorView(`400: patient ${NAME}, id ${ID_NUMBER}, phone +86 ${PHONE}`, msg);
    assert.equal(view.text, '400: patient 欧***, id 110105********002X, phone +86 139****5678');
    assert.equal(maskText('card 110101199001011234 and 440301990101123 call 18600001111'), 'card 110101********1234 and 440301*****1123 call 186****1111');
    assert.equal(errorView('x'.repeat(1000), undefined).text.length, 300);
  });

  it('names the kind of failure', function () {
    assert.equal(errorCodeOf('no answer from the flow within 30 s (ackTimeout)'), 'timeout');
    assert.equal(errorCodeOf('connect ECONNREFUSED 127.0.0.1:8080'), 'ECONNREFUSED');
    assert.equal(errorCodeOf('the FHIR server answered 503'), 'http-503');
    assert.equal(errorCodeOf('something else'), 'error');
  });
});
