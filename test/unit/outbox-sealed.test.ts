import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newAtRestKeyText, Sealer } from '../../src/lib/at-rest';
import { patientKeyOf } from '../../src/lib/outbox/properties';
import type { SealedStorageOptions } from '../../src/lib/outbox/sealed-storage';
import { orderKey, storable, type StoredMessage, type StoredMsg } from '../../src/lib/outbox/storage';
import { openLog, openSealedLog } from './outbox-open';

type Sealed = Awaited<ReturnType<typeof openSealedLog>>;

const T0 = 1_764_000_000_000;

/** A reading as health-fhir leaves it for the outbox (invented patient). */
function reading(n: number, patientId = 'P-SEALED-1'): StoredMsg {
  return storable({
    _msgid: `m${n}`,
    _ack: `p${n}.0`,
    topic: 'sinocare/glucose',
    payload: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', name: [{ text: '张三丰' }] } }] },
    reading: {
      id: `sinocare:cgm:READING-${n}`,
      vendor: 'sinocare',
      kind: 'glucose',
      subject: { patientId, patientName: '张三丰', idCard: '110101199001011234' },
      values: { glucose: 5.6 },
    },
  });
}

/** Every byte of every file in the directory. */
function bytesOf(directory: string): Buffer {
  return Buffer.concat(fs.readdirSync(directory).map((name) => fs.readFileSync(path.join(directory, name))));
}

function assertNothingInClear(directory: string, texts: string[]): void {
  const bytes = bytesOf(directory);
  for (const text of texts) assert.equal(bytes.indexOf(Buffer.from(text, 'utf8')), -1, `"${text}" is on disk in clear`);
}

describe('the outbox sealed at rest (sealed-storage.ts around the file log)', function () {
  const keyA = Buffer.from(newAtRestKeyText(), 'hex');
  const keyB = Buffer.from(newAtRestKeyText(), 'hex');
  let directory: string;

  async function open(options: Partial<SealedStorageOptions> & { key?: Buffer } = {}): Promise<Sealed> {
    const { key = keyA, ...rest } = options;
    return openSealedLog(directory, { encrypt: true, sealer: new Sealer(key, 'outbox:ob'), ...rest });
  }

  /** Everything the storage hands out now (the leases end with the close). */
  async function waiting(storage: Sealed): Promise<StoredMessage[]> {
    try {
      return await storage.lease(Infinity, 1000);
    } finally {
      await storage.close();
    }
  }

  beforeEach(function () {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-sealed-'));
  });
  afterEach(function () {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('keeps a message sealed on disk and gives it back as it was, across a restart, its last error too', async function () {
    const storage = await open();
    const stored = await storage.append(reading(1), T0, storage.orderKey('sinocare|subject|P-SEALED-1'));
    assert.deepEqual(stored.msg, reading(1));
    const [leased] = await storage.lease(T0, 1);
    assert.deepEqual(leased!.msg, reading(1));
    await storage.settle(leased!, { ok: false, error: 'the FHIR server answered 400 for 张三丰', nextAt: T0 + 1000 });
    await storage.close();
    assertNothingInClear(directory, ['张三丰', '110101199001011234', 'P-SEALED-1', 'READING-1', 'sinocare', 'answered 400']);

    const [again, ...rest] = await waiting(await open());
    assert.equal(rest.length, 0);
    assert.equal(again!.id, stored.id);
    assert.deepEqual(again!.msg, reading(1));
    assert.equal(again!.lastError, 'the FHIR server answered 400 for 张三丰');
    assert.equal(again!.attempts, 1);
  });

  it('seals a dead letter\'s error text too', async function () {
    const storage = await open();
    await storage.append(reading(1), T0);
    const [leased] = await storage.lease(T0, 1);
    await storage.settle(leased!, { dead: true, error: 'refused: unknown patient 张三丰' });
    await storage.close();
    assertNothingInClear(directory, ['张三丰', 'unknown patient']);
    assert.deepEqual(await waiting(await open()), []);
  });

  it('keys the order key: equal patients share it, it is not the plain hash of the id, and another key gives another', async function () {
    const a = await open();
    const b = await openSealedLog(path.join(directory, 'b'), { encrypt: true, sealer: new Sealer(keyB, 'outbox:ob') });
    const plain = await openSealedLog(path.join(directory, 'c'), { encrypt: false, sealer: new Sealer(keyA, 'outbox:ob') });
    const text = 'sinocare|subject|{"patientId":"P-SEALED-1"}';
    assert.equal(a.orderKey(text), a.orderKey(text));
    assert.notEqual(a.orderKey(text), orderKey(text));
    assert.notEqual(a.orderKey(text), b.orderKey(text));
    assert.notEqual(a.orderKey(text), a.orderKey('sinocare|subject|{"patientId":"P-SEALED-2"}'));
    // without encrypt, the previous release's plain hash (what its logs hold)
    assert.equal(plain.orderKey(text), orderKey(text));
    // the outbox node's way: the patient of a reading through the storage's key
    const key = patientKeyOf(reading(1), a.orderKey);
    assert.equal(key, patientKeyOf(reading(2), a.orderKey));
    assert.notEqual(key, patientKeyOf(reading(1)));
    await Promise.all([a.close(), b.close(), plain.close()]);
  });

  it('keeps the order of a patient\'s messages under the keyed order key', async function () {
    const storage = await open();
    const key = patientKeyOf(reading(1), storage.orderKey);
    await storage.append(reading(1), T0, key);
    await storage.append(reading(2), T0, key);
    const first = await storage.lease(T0, 10);
    assert.deepEqual(first.map((message) => (message.msg.reading as { id: string }).id), ['sinocare:cgm:READING-1']);
    await storage.settle(first[0]!, { ok: true });
    const second = await storage.lease(T0, 10);
    assert.deepEqual(second.map((message) => (message.msg.reading as { id: string }).id), ['sinocare:cgm:READING-2']);
    await storage.close();
  });

  it('a record sealed under another key is reported with its reason, kept on disk, not handed out, and comes back with the right key', async function () {
    const other = await open({ key: keyB });
    await other.append(reading(1), T0, 7);
    await other.append(reading(2), T0, 7);
    await other.close();
    const mine = await open();
    await mine.append(reading(3), T0, 7);
    await mine.close();

    const reports: Array<[string, number]> = [];
    const storage = await open({ onUndecryptable: (reason, count) => reports.push([reason, count]) });
    const handed = await storage.lease(T0, 1);
    // the two that cannot be opened leave room: the batch of one still holds the readable one,
    // and they do not hold back the later message of their order key
    assert.deepEqual(handed.map((message) => (message.msg.reading as { id: string }).id), ['sinocare:cgm:READING-3']);
    assert.equal(storage.unreadable(), 2);
    assert.deepEqual(reports, [['tag', 1]]);
    assert.equal(storage.stats().count, 1, 'the status counts what can be delivered');
    await storage.settle(handed[0]!, { ok: true });
    assert.deepEqual(await storage.lease(Infinity, 10), []);
    assert.equal(storage.stats().count, 0);
    assert.equal(storage.stats().oldestEnqueuedAt, undefined);
    await storage.close();

    // not lost: Node-RED started again with the key they were written under delivers them
    const withB = await open({ key: keyB });
    const delivered: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const message of await withB.lease(T0, 10)) {
        delivered.push((message.msg.reading as { id: string }).id);
        await withB.settle(message, { ok: true });
      }
    }
    await withB.close();
    assert.deepEqual(delivered, ['sinocare:cgm:READING-1', 'sinocare:cgm:READING-2']);
  });

  it('reports again at 10, 100, … records that cannot be opened, not once per record', async function () {
    const other = await open({ key: keyB });
    for (let n = 0; n < 12; n++) await other.append(reading(n), T0);
    await other.close();
    const reports: Array<[string, number]> = [];
    const storage = await open({ onUndecryptable: (reason, count) => reports.push([reason, count]) });
    for (let n = 0; n < 12; n++) await storage.lease(T0, 1);
    assert.equal(storage.unreadable(), 12);
    assert.deepEqual(reports, [['tag', 1], ['tag', 10]]);
    await storage.close();
  });

  it('without a key: refuses to store (never in clear), delivers the plain records it has, and counts the sealed ones as unreadable', async function () {
    const previous = await openLog({ directory });
    await previous.append(reading(1), T0, orderKey('x'));
    await previous.close();
    const sealed = await open();
    await sealed.append(reading(2), T0);
    await sealed.close();

    const reports: Array<[string, number]> = [];
    const storage = await openSealedLog(directory, {
      encrypt: true,
      noSealer: 'no-key',
      onUndecryptable: (reason, count) => reports.push([reason, count]),
    });
    const before = bytesOf(directory).length;
    await assert.rejects(storage.append(reading(3), T0), (error: Error & { code?: string }) => error.code === 'no-key');
    assert.equal(bytesOf(directory).length, before, 'nothing written');
    const handed = await storage.lease(T0, 10);
    assert.deepEqual(handed.map((message) => (message.msg.reading as { id: string }).id), ['sinocare:cgm:READING-1']);
    assert.deepEqual(reports, [['no-key', 1]]);
    await storage.close();
  });

  it('reads and delivers the records of the previous release (plain JSON), and seals one when it is written again', async function () {
    // the previous release: the file log alone, the plain hash as order key
    const previous = await openLog({ directory });
    const key = patientKeyOf(reading(1));
    await previous.append(reading(1), T0, key);
    await previous.append(reading(2), T0, key);
    await previous.close();
    assert.notEqual(bytesOf(directory).indexOf(Buffer.from('张三丰')), -1, 'the fixture is plain');

    const storage = await open();
    const [first] = await storage.lease(T0, 10);
    assert.deepEqual(first!.msg, reading(1), 'in order, the second waits behind it');
    await storage.settle(first!, { ok: false, error: 'down', nextAt: T0 });
    await storage.close();
    // the rewritten record is sealed (the plain one stays in its segment until that is compacted)
    const again = await open();
    const [retried] = await again.lease(T0, 10);
    assert.deepEqual(retried!.msg, reading(1));
    assert.equal(retried!.lastError, 'down');
    await again.settle(retried!, { ok: true });
    const [second] = await again.lease(T0, 10);
    assert.deepEqual(second!.msg, reading(2));
    await again.close();
  });

  it('with encrypt off writes what the previous release wrote: plain records, the plain order key', async function () {
    const storage = await open({ encrypt: false });
    await storage.append(reading(1), T0, storage.orderKey('p'));
    const [leased] = await storage.lease(T0, 1);
    await storage.settle(leased!, { ok: false, error: 'down', nextAt: T0 });
    await storage.close();
    assert.notEqual(bytesOf(directory).indexOf(Buffer.from('"patientName":"张三丰"')), -1);
    // and the file log alone reads it as its own
    const log = await openLog({ directory });
    const [plain] = await log.lease(T0, 1);
    assert.deepEqual(plain!.msg, reading(1));
    assert.equal(plain!.lastError, 'down');
    await log.close();
  });
});
