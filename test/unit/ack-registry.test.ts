import assert from 'node:assert/strict';
import { AnswerPaths, countCopies, type FlowNode, type SendEvent } from '../../src/lib/ack-copies';
import {
  fork, hold, isUnretryable, openDelivery, openPush, release, reachHealthAck, timeLeftMs, type Outcome,
} from '../../src/lib/ack-registry';

/**
 * The ack registry and the copy counter without Node-RED: how a push settles when its messages
 * fork into copies, the deadline that travels with msg._ack, failures no retry mends, and which
 * branches of a deployed flow can reach an acknowledgement.
 */

const settled = async (outcome: Promise<Outcome>, ms = 20): Promise<Outcome | 'open'> =>
  Promise.race([outcome, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))]);

describe('ack registry', function () {
  it('a push of two messages succeeds once both are acknowledged; a second arrival of one counts once', async function () {
    const push = openPush(2, 5000);
    assert.equal(reachHealthAck(push.ackIds[0]!, false), 'acknowledged');
    assert.equal(reachHealthAck(push.ackIds[0]!, false), 'acknowledged');
    assert.equal(await settled(push.outcome), 'open');
    assert.equal(reachHealthAck(push.ackIds[1]!, false), 'completed');
    assert.equal(await push.outcome, 'success');
    assert.equal(reachHealthAck(push.ackIds[1]!, false), 'not-pending');
  });

  it('a fork replaces a message by its awaited copies: one success is not enough, every copy is', async function () {
    const push = openPush(1, 5000);
    const [fhir, hl7, file] = fork(push.ackIds[0]!, [true, true, false])!;
    assert.equal(new Set([fhir, hl7, file, push.ackIds[0]]).size, 4, 'an id per copy');
    // the id the message had before the fork is no longer awaited on its own
    assert.equal(reachHealthAck(push.ackIds[0]!, false), 'acknowledged');
    assert.equal(reachHealthAck(fhir!, false), 'acknowledged');
    assert.equal(reachHealthAck(file!, false), 'acknowledged', 'a copy not awaited changes nothing');
    assert.equal(await settled(push.outcome), 'open', 'the HL7 copy is still out');
    assert.equal(reachHealthAck(hl7!, false), 'completed');
    assert.equal(await push.outcome, 'success');
  });

  it('a failure of any copy, awaited or not, fails the push at once', async function () {
    for (const failing of [0, 2]) {
      const push = openPush(1, 5000);
      const copies = fork(push.ackIds[0]!, [true, true, false])!;
      assert.equal(reachHealthAck(copies[1]!, false), 'acknowledged');
      assert.equal(reachHealthAck(copies[failing]!, true, { message: 'AE' }), 'failed');
      assert.equal(await push.outcome, 'failure');
    }
  });

  it('a fork of a fork: the copies of a copy are awaited in its place', async function () {
    const push = openPush(1, 5000);
    const [a, b] = fork(push.ackIds[0]!, [true, true])!;
    const [a1, a2] = fork(a!, [true, true])!;
    for (const id of [b, a1]) assert.equal(reachHealthAck(id!, false), 'acknowledged');
    assert.equal(reachHealthAck(a2!, false), 'completed');
    assert.equal(await push.outcome, 'success');
  });

  it('nothing forks where no copy is awaited, after health-ack, or once the push is answered', async function () {
    const push = openPush(2, 5000);
    assert.equal(fork(push.ackIds[0]!, [false, false]), undefined, 'the message stays awaited as it was');
    reachHealthAck(push.ackIds[0]!, false);
    assert.equal(fork(push.ackIds[0]!, [true, true]), undefined, 'forks after health-ack are nobody\'s concern');
    reachHealthAck(push.ackIds[1]!, false);
    assert.equal(await push.outcome, 'success');
    assert.equal(fork(push.ackIds[1]!, [true, true]), undefined);
    assert.equal(fork('garbage', [true, true]), undefined);
  });

  it('outboxes hold and release a copy: the push waits for both writes', async function () {
    const push = openPush(1, 5000);
    const [fhir, hl7] = fork(push.ackIds[0]!, [true, true])!;
    assert.equal(hold(fhir!), true);
    assert.equal(hold(hl7!), true);
    assert.equal(release(fhir!), 'acknowledged');
    assert.equal(await settled(push.outcome), 'open');
    assert.equal(release(hl7!), 'completed');
    assert.equal(await push.outcome, 'success');
  });

  it('times out at ackTimeout when a copy never arrives', async function () {
    const push = openPush(1, 50);
    const [a] = fork(push.ackIds[0]!, [true, true])!;
    reachHealthAck(a!, false);
    assert.equal(await push.outcome, 'timeout');
  });

  it('a failure no retry mends counts as kept: retryable false on the error or on its cause', async function () {
    assert.equal(isUnretryable({ code: 'no-patient', retryable: false }), true);
    assert.equal(isUnretryable({ message: 'x', code: 'no-patient', cause: { retryable: false } }), true);
    assert.equal(isUnretryable({ code: 'AE' }), false);
    assert.equal(isUnretryable('no-patient'), false);
    const push = openPush(2, 5000);
    assert.equal(reachHealthAck(push.ackIds[0]!, true, { code: 'no-patient', cause: { retryable: false } }), 'kept');
    assert.equal(await settled(push.outcome), 'open');
    assert.equal(reachHealthAck(push.ackIds[1]!, true, { code: 'unknown-kind', retryable: false }), 'kept');
    assert.equal(await push.outcome, 'success');
  });

  it('the deadline travels with every id of the push, copies included; a delivery has its outbox\'s', async function () {
    const push = openPush(1, 3000);
    const [copy] = fork(push.ackIds[0]!, [true, true])!;
    const delivery = openDelivery(30_000);
    // read after opening: what is left can only have shrunk since
    const now = Date.now();
    for (const id of [push.ackIds[0], copy]) {
      const left = timeLeftMs(id, now)!;
      assert.ok(left > 2900 && left <= 3000, String(left));
    }
    assert.equal(timeLeftMs(undefined), undefined);
    assert.equal(timeLeftMs('nobody.0'), undefined);
    assert.ok(timeLeftMs(delivery.ackId, now)! > 29_900);
    assert.equal(timeLeftMs(openDelivery().ackId), undefined, 'a delivery without a timeout has no deadline');
    push.cancel();
    assert.equal(timeLeftMs(copy), undefined, 'answered: no deadline any more');
    delivery.cancel();
  });
});

describe('copy counter', function () {
  const tab = (id: string): FlowNode => ({ id, type: 'tab' });
  const node = (id: string, type: string, wires: string[][] = [], extra: Partial<FlowNode> = {}): FlowNode => ({ id, type, z: 't', wires, ...extra });

  // receiver → [file, fhir → http → switch → ack, hl7 → send → ack, subflow]; catch(send) → ack
  const flows: FlowNode[] = [
    tab('t'),
    node('rx', 'sinocare-in', [['file', 'fhir', 'hl7', 'lo'], ['events']], { ack: 'flow' }),
    node('file', 'file', [[]]),
    node('fhir', 'health-fhir', [['http']]),
    node('http', 'http request', [['switch']]),
    node('switch', 'switch', [['ack'], ['fail']]),
    node('fail', 'change', [['ack']]),
    node('hl7', 'health-hl7', [['send']]),
    node('send', 'hl7-send', [['debug']]),
    node('debug', 'debug'),
    node('catch', 'catch', [['ack']], { scope: ['send'] }),
    node('lo', 'link out', [], { links: ['li'], mode: 'link' }),
    node('lo2', 'link out', [], { mode: 'link' }),
    node('li2', 'link in', [['ack']], { links: ['lo2'] }),
    node('li', 'link in', [['box']]),
    node('box', 'health-outbox', [['http2'], []]),
    node('http2', 'http request', [['ack']]),
    node('ack', 'health-ack', [[]]),
    node('events', 'file', [[]]),
    node('mqtt', 'mqtt out', [], { d: true }),
    node('done', 'complete', [['ack']], { scope: ['file2'] }),
    node('file2', 'file', [[]]),
    node('call', 'link call', [[]], { linkType: 'dynamic' }),
    node('sub', 'subflow:def', [['ack']]),
    { id: 'def', type: 'subflow', name: 'my subflow' },
  ];
  const graph = new AnswerPaths(flows);

  it('reads which destinations can reach health-ack or an outbox, along wires, links and Complete nodes, not Catch nodes', function () {
    assert.equal(graph.reaches('fhir'), true);
    assert.equal(graph.reaches('lo'), true, 'link out → link in → outbox');
    assert.equal(graph.reaches('lo2'), true, 'a link named by its link in');
    assert.equal(graph.reaches('file'), false);
    assert.equal(graph.reaches('hl7'), false, 'hl7-send → debug only: its success never comes; the Catch node carries failures');
    assert.equal(graph.reaches('file2'), true, 'a Complete node passes the message on once the file is written');
    assert.equal(graph.reaches('mqtt'), false, 'a disabled node is not deployed: what is sent to it is dropped');
    assert.equal(graph.reaches('sub'), undefined, 'a subflow instance cannot be read');
    assert.equal(graph.reaches('inside-a-subflow-instance'), undefined);
  });

  it('names what cannot be counted downstream of a receiver', function () {
    assert.deepEqual(graph.obstacles('rx'), []);
    const withSubflow = new AnswerPaths([...flows.filter((n) => n.id !== 'rx'), node('rx', 'sinocare-in', [['fhir', 'sub', 'call']])]);
    assert.deepEqual(withSubflow.obstacles('rx').map((o) => `${o.kind} ${o.name}`), ['subflow my subflow', 'dynamic-link-call call']);
  });

  it('clones each awaited copy with an id of its own before Node-RED would, and keeps the original for the first', async function () {
    const push = openPush(1, 5000);
    const original = { _msgid: 'm', payload: { a: 1 }, _ack: push.ackIds[0] };
    const other = { _msgid: 'n', payload: 'no ack here' };
    const events: SendEvent[] = ['file', 'fhir', 'lo'].map((id, index) => ({ msg: original, destination: { id }, cloneMessage: index > 0 }));
    events.push({ msg: other, destination: { id: 'fhir' }, cloneMessage: true }, { msg: other, destination: { id: 'lo' }, cloneMessage: true });
    let clones = 0;
    countCopies(events, (id) => graph.reaches(id), (message) => {
      clones += 1;
      return structuredClone(message);
    });
    assert.equal(clones, 2);
    assert.equal(events[0]!.msg, original, 'the first destination gets the object itself');
    assert.ok(events.slice(1, 3).every((e) => e.msg !== original && !e.cloneMessage && e.msg._msgid === 'm'));
    const ids = events.slice(0, 3).map((e) => e.msg._ack as string);
    assert.equal(new Set(ids).size, 3);
    assert.equal(events[3]!.msg, other, 'a message without _ack is left to Node-RED');
    assert.equal(events[3]!.cloneMessage, true);
    // file (not awaited), fhir and the link to the outbox (awaited)
    reachHealthAck(ids[1]!, false);
    reachHealthAck(ids[0]!, false);
    assert.equal(await settled(push.outcome), 'open');
    reachHealthAck(ids[2]!, false);
    assert.equal(await push.outcome, 'success');
  });

  it('leaves a send with a destination it cannot read as it was', function () {
    const push = openPush(1, 5000);
    const msg = { _ack: push.ackIds[0] };
    const events: SendEvent[] = [{ msg, destination: { id: 'fhir' }, cloneMessage: false }, { msg, destination: { id: 'sub' }, cloneMessage: true }];
    countCopies(events, (id) => graph.reaches(id), (m) => structuredClone(m));
    assert.equal(events[1]!.msg, msg);
    assert.equal(events[1]!.cloneMessage, true);
    assert.equal(msg._ack, push.ackIds[0]);
    push.cancel();
  });
});
