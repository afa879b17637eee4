import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Server as Hl7Server, type Inbound, type InboundHandler } from 'node-hl7-server';
import {
  MllpConnection, MllpSendError, toOruR01, type ConnectionState, type LateAck, type MllpConnectionOptions,
} from '../../src/lib/formats/hl7v2';
import { reading } from './hl7-readings';

const HOST = '127.0.0.1';
const START = '\x0b';
const END = '\x1c\r';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** node-hl7-server on `port`, answering with `handler`. */
async function hl7Server(port: number, handler: InboundHandler, options: ConstructorParameters<typeof Hl7Server>[0] = {}): Promise<Inbound> {
  const inbound = new Hl7Server({ bindAddress: HOST, ...options }).createInbound({ port }, handler);
  await once(inbound, 'listen');
  return inbound;
}

/** A raw MLLP server of the test's own: frames split by hand, bytes as they came. */
async function rawServer(onFrame: (socket: net.Socket, payload: Buffer) => void): Promise<{ port: number; server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf(END, 0, 'latin1');
        if (end === -1) break;
        const start = buffered.indexOf(0x0b);
        onFrame(socket, buffered.subarray(start + 1, end));
        buffered = buffered.subarray(end + 2);
      }
    });
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, server, sockets };
}

async function stopRaw(raw: { server: net.Server; sockets: Set<net.Socket> }): Promise<void> {
  for (const socket of raw.sockets) socket.destroy();
  raw.server.close();
  await once(raw.server, 'close');
}

const ack = (code: string, controlId: string, extra = ''): string =>
  `MSH|^~\\&|LIS|HOSPITAL|HB|WARD|20261201080910||ACK^R01^ACK|A${controlId}|P|2.5.1\rMSA|${code}|${controlId}${extra}`;

const controlIdIn = (payload: Buffer): string => payload.toString('latin1').split('\r')[0]!.split('|')[9]!;

function untilState(connection: MllpConnection, wanted: ConnectionState['state']): Promise<ConnectionState> {
  if (connection.state.state === wanted) return Promise.resolve(connection.state);
  return new Promise((resolve) => {
    const listener = (state: ConnectionState): void => {
      if (state.state !== wanted) return;
      connection.off('state', listener);
      resolve(state);
    };
    connection.on('state', listener);
  });
}

const message = (controlId?: string): string =>
  toOruR01(reading('sinocare', 'document-example'), { patientAuthority: 'HOSP', ...(controlId && { controlId: () => controlId }) });

describe('hl7-send: one persistent MLLP connection to a hospital', function () {
  const open: MllpConnection[] = [];
  const inbounds: Inbound[] = [];
  const connect = (options: Partial<MllpConnectionOptions> & { port: number }): MllpConnection => {
    const connection = new MllpConnection({ host: HOST, timeoutMs: 5000, backoff: { initialMs: 20, maxMs: 200 }, ...options });
    open.push(connection);
    return connection;
  };
  afterEach(async function () {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await Promise.all(inbounds.splice(0).map((i) => i.close()));
  });

  it('an AA from node-hl7-server resolves with the control id, and the server reads the patient, the name and the value', async function () {
    const port = await freePort();
    const seen: Record<string, string>[] = [];
    inbounds.push(await hl7Server(port, async (req, res) => {
      const m = req.getMessage();
      seen.push(Object.fromEntries(['MSH.10', 'MSH.18', 'PID.3.1', 'PID.3.4', 'PID.5.1', 'OBR.3', 'OBX.3.1', 'OBX.5', 'OBX.6.1', 'OBX.18']
        .map((p) => [p, m.get(p).toString()])));
      await res.sendResponse('AA');
    }));
    const connection = connect({ port });
    const states: string[] = [];
    connection.on('state', (s) => states.push(s.state === 'waiting' ? `waiting ${s.pending}` : s.state));
    const result = await connection.send(message('CTRL-AA-1'));
    assert.deepEqual(result, { code: 'AA', controlId: 'CTRL-AA-1', text: '' });
    assert.deepEqual(seen, [{
      'MSH.10': 'CTRL-AA-1', 'MSH.18': 'UNICODE UTF-8', 'PID.3.1': '12', 'PID.3.4': 'HOSP', 'PID.5.1': '张三',
      'OBR.3': 'sinocare:23434335345', 'OBX.3.1': '105272-9', 'OBX.5': '5.6', 'OBX.6.1': 'mmol/L', 'OBX.18': '23xxdrt33',
    }]);
    assert.deepEqual(states, ['connecting', 'waiting 1', 'connected']);
    // the same socket carries the next message (node-hl7-server then re-answers the first as well: ignored)
    const second = await connection.send(message('CTRL-AA-2'));
    assert.equal(second.controlId, 'CTRL-AA-2');
    assert.ok(!states.includes('error'));
    for (const state of states) assert.ok(!state.includes('张三'));
  });

  it('a name with | ^ ~ \\ & reaches node-hl7-server as it was written', async function () {
    const port = await freePort();
    let name = '';
    inbounds.push(await hl7Server(port, async (req, res) => {
      name = req.getMessage().get('PID.5.1').toString();
      await res.sendResponse('AA');
    }));
    const tricky = 'O|Brien^Jr~A\\B&C 李';
    const r = reading('sinocare', 'document-example');
    await connect({ port }).send(toOruR01({ ...r, subject: { ...r.subject, name: tricky } }));
    assert.equal(name, tricky);
  });

  it('an AE from node-hl7-server rejects with the code AE and the control id', async function () {
    const port = await freePort();
    inbounds.push(await hl7Server(port, async (_req, res) => res.sendResponse('AE')));
    await assert.rejects(connect({ port }).send(message('CTRL-AE')), (error: MllpSendError) => {
      assert.ok(error instanceof MllpSendError);
      assert.equal(error.code, 'AE');
      assert.equal(error.controlId, 'CTRL-AE');
      assert.match(error.message, /answered AE to control id CTRL-AE/);
      return true;
    });
  });

  it('AE, AR, CE and CR reject with the MSA-3 and ERR text; CA resolves (raw server: node-hl7-server cannot write MSA-3)', async function () {
    const answers: Record<string, string> = {
      E1: ack('AE', 'E1', '|Unknown patient\rERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Patient not on file'),
      R1: ack('AR', 'R1', '\rERR|MSH^1^12^203&Unsupported version id&HL70357'),
      C1: ack('CE', 'C1', '|Queue full'),
      C2: ack('CR', 'C2', '|Rejected \\F\\ invalid'),
      OK: ack('CA', 'OK', '|Accepted'),
    };
    const raw = await rawServer((socket, payload) => socket.write(`${START}${answers[controlIdIn(payload)]}${END}`));
    try {
      const connection = connect({ port: raw.port });
      const outcome = async (id: string) => connection.send(message(id)).then(
        (ok) => `${ok.code} ${ok.text}`,
        (error: MllpSendError) => `${error.code} ${error.ackText}`,
      );
      assert.deepEqual(await Promise.all(Object.keys(answers).map(outcome)), [
        'AE Unknown patient; Patient not on file',
        'AR Unsupported version id',
        'CE Queue full',
        'CR Rejected | invalid',
        'CA Accepted',
      ]);
    } finally {
      await stopRaw(raw);
    }
  });

  it('says the hospital\'s text once where MSA-3 and ERR-8 say the same', async function () {
    const raw = await rawServer((socket, payload) => socket.write(
      `${START}${ack('AE', controlIdIn(payload), '|Patient not admitted\rERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Patient not admitted')}${END}`));
    try {
      const connection = connect({ port: raw.port });
      await assert.rejects(connection.send(message('TWICE')), (error: MllpSendError) => {
        assert.equal(error.ackText, 'Patient not admitted');
        assert.equal(error.message.split('Patient not admitted').length, 2, error.message);
        return true;
      });
    } finally {
      await stopRaw(raw);
    }
  });

  it('a sender\'s deadline nearer than the timeout: code deadline then, and an ACK that comes later is handed to onLateAck only', async function () {
    let answer: (() => void) | undefined;
    const raw = await rawServer((socket, payload) => {
      answer = () => socket.write(`${START}${ack('AA', controlIdIn(payload))}${END}`);
    });
    try {
      const connection = connect({ port: raw.port, timeoutMs: 10_000 });
      const late: LateAck[] = [];
      const started = Date.now();
      await assert.rejects(connection.send(message('DEADLINE'), { budgetMs: 300, onLateAck: (l) => late.push(l) }), (error: MllpSendError) => {
        assert.equal(error.code, 'deadline');
        assert.match(error.message, /no ACK for control id DEADLINE from 127\.0\.0\.1:\d+ within 0\.3 s, the sender's deadline/);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 5000, `${elapsed} ms`);
      answer!();
      for (let i = 0; i < 50 && late.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(late.length, 1);
      assert.equal(late[0]!.controlId, 'DEADLINE');
      assert.equal(late[0]!.code, 'AA');
      assert.equal(late[0]!.gaveUp, 'deadline');
      // no time left at all: nothing is sent
      const before = connection.state;
      await assert.rejects(connection.send(message('NO-TIME'), { budgetMs: -5 }), (error: MllpSendError) => error.code === 'deadline');
      assert.deepEqual(connection.state, before);
      // a budget beyond the connection's timeout changes nothing: the timeout is the connection's
      await assert.rejects(connect({ port: raw.port, timeoutMs: 200 }).send(message('LONG'), { budgetMs: 60_000 }), (error: MllpSendError) => error.code === 'timeout');
    } finally {
      await stopRaw(raw);
    }
  });

  it('a server that never answers rejects the send at the response timeout', async function () {
    const port = await freePort();
    let received = 0;
    inbounds.push(await hl7Server(port, () => {
      received += 1; // and no answer
    }));
    const connection = connect({ port, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(connection.send(message('CTRL-SILENT')), (error: MllpSendError) => {
      assert.equal(error.code, 'timeout');
      assert.match(error.message, /no ACK for control id CTRL-SILENT from 127\.0\.0\.1:\d+ within 0\.3 s/);
      return true;
    });
    assert.ok(Date.now() - started >= 290);
    assert.equal(received, 1);
    assert.equal(connection.state.state, 'connected', 'a timeout leaves the connection up');
  });

  it('the server killed and restarted: the waiting send fails clearly, the connection comes back and the next send succeeds', async function () {
    const port = await freePort();
    const first = await hl7Server(port, () => undefined);
    const connection = connect({ port });
    const waiting = connection.send(message('CTRL-LOST')).then(() => assert.fail('no ACK was sent'), (error: unknown) => error);
    await untilState(connection, 'waiting');
    const failed = untilState(connection, 'error');
    await first.close();
    await assert.rejects(waiting.then((error) => Promise.reject(error)), (error: MllpSendError) => {
      assert.equal(error.code, 'connection-lost');
      assert.match(error.message, /lost before the ACK of control id CTRL-LOST/);
      return true;
    });
    const error = await failed;
    assert.ok(error.state === 'error' && !error.message.includes('张三') && !error.message.includes('12^^^'));
    // while it is down, attempts fail and back off
    await untilState(connection, 'connecting');
    inbounds.push(await hl7Server(port, async (_req, res) => res.sendResponse('AA')));
    await untilState(connection, 'connected');
    assert.equal((await connection.send(message('CTRL-BACK'))).controlId, 'CTRL-BACK');
  });

  it('a send while the hospital is down waits for the connection within its timeout', async function () {
    const port = await freePort();
    const impatient = connect({ port, timeoutMs: 300 });
    await assert.rejects(impatient.send(message('CTRL-DOWN')), /no connection to 127\.0\.0\.1:\d+ within 0\.3 s \(control id CTRL-DOWN not sent\)/);
    const connection = connect({ port });
    const later = connection.send(message('CTRL-UP'));
    const refused = await untilState(connection, 'error');
    assert.ok(refused.state === 'error' && /ECONNREFUSED/.test(refused.message) && refused.retryInMs! > 0);
    inbounds.push(await hl7Server(port, async (_req, res) => res.sendResponse('AA')));
    assert.equal((await later).controlId, 'CTRL-UP');
  });

  it('an ACK sent in pieces, split even between 0x1C and 0x0D, and two ACKs in one write are read', async function () {
    const raw = await rawServer((socket, payload) => {
      const id = controlIdIn(payload);
      const bytes = Buffer.from(`${START}${ack('AA', id, '|piecewise')}${END}`, 'utf8');
      if (id === 'SPLIT') {
        // write piece by piece, each after the previous one was handed to the kernel
        const cuts = [1, 5, 20, bytes.length - 1, bytes.length];
        let from = 0;
        const next = (index: number): void => {
          if (index === cuts.length) return;
          socket.write(bytes.subarray(from, cuts[index]), () => next(index + 1));
          from = cuts[index]!;
        };
        next(0);
      }
    });
    try {
      const connection = connect({ port: raw.port });
      assert.deepEqual(await connection.send(message('SPLIT')), { code: 'AA', controlId: 'SPLIT', text: 'piecewise' });
      const [socket] = raw.sockets;
      const a = connection.send(message('JOIN-A'));
      const b = connection.send(message('JOIN-B'));
      socket!.write(`${START}${ack('AA', 'JOIN-B')}${END}${START}${ack('AA', 'JOIN-A')}${END}`);
      assert.deepEqual([(await a).controlId, (await b).controlId], ['JOIN-A', 'JOIN-B']);
    } finally {
      await stopRaw(raw);
    }
  });

  it('several messages in flight are matched to their ACKs by control id, whatever the order', async function () {
    const ids = ['M1', 'M2', 'M3', 'M4'];
    const got: string[] = [];
    const raw = await rawServer((socket, payload) => {
      got.push(controlIdIn(payload));
      if (got.length < ids.length) return;
      // all four at once, in reverse, with one ACK for a message nobody waits for
      socket.write(`${START}${ack('AA', 'UNKNOWN')}${END}` + [...got].reverse()
        .map((id) => `${START}${ack(id === 'M2' ? 'AE' : 'AA', id, `|for ${id}`)}${END}`).join(''));
    });
    try {
      const connection = connect({ port: raw.port });
      const outcomes = await Promise.all(ids.map((id) => connection.send(message(id)).then(
        (ok) => `${ok.controlId} ${ok.code} ${ok.text}`,
        (error: MllpSendError) => `${error.controlId} ${error.code} ${error.ackText}`,
      )));
      assert.deepEqual(outcomes, ['M1 AA for M1', 'M2 AE for M2', 'M3 AA for M3', 'M4 AA for M4']);
      await assert.rejects(
        Promise.all([connection.send(message('TWICE')), connection.send(message('TWICE'))]),
        (error: MllpSendError) => error.code === 'duplicate-control-id',
      );
    } finally {
      await stopRaw(raw);
    }
  });

  it('GB18030: a Chinese name travels as GB18030 bytes the server decodes, and a Chinese ACK text comes back', async function () {
    let decoded = '';
    let bytes = Buffer.alloc(0);
    const raw = await rawServer((socket, payload) => {
      bytes = Buffer.from(payload);
      // an independent decoder: the WHATWG GB18030 decoder of Node's ICU
      decoded = new TextDecoder('gb18030').decode(payload);
      const head = Buffer.from(`${START}${ack('AE', controlIdIn(payload), '|')}`, 'latin1');
      // "错误" in GB18030, written out: 错 B4 ED, 误 CE F3
      socket.write(Buffer.concat([head, Buffer.from([0xb4, 0xed, 0xce, 0xf3]), Buffer.from(END, 'latin1')]));
    });
    try {
      assert.equal(new TextDecoder('gb18030').decode(Buffer.from([0xb4, 0xed, 0xce, 0xf3])), '错误');
      const connection = connect({ port: raw.port, charset: 'gb18030' });
      await assert.rejects(connection.send(message('GB-1')), (error: MllpSendError) => error.code === 'AE' && error.ackText === '错误');
      assert.ok(bytes.includes(Buffer.from([0xd5, 0xc5, 0xc8, 0xfd])), '张三 is D5C5 C8FD in GB18030');
      assert.ok(!bytes.includes(Buffer.from('张三', 'utf8')));
      assert.match(decoded, /\rPID\|1\|\|12\^\^\^HOSP\^PI\|\|张三\r/);
      assert.equal(decoded.split('\r')[0]!.split('|')[17], 'GB 18030-2000', 'MSH-18 names the bytes sent');
    } finally {
      await stopRaw(raw);
    }
  });

  it('TLS: the same exchange with node-hl7-server over TLS', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl7-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    } catch (error) {
      // not skipped: a suite that passes without its TLS test would say TLS works when nothing showed it
      throw new Error(`this test makes its certificate with openssl, which failed (${(error as Error).message}): apt-get install openssl`);
    }
    const key = fs.readFileSync(path.join(dir, 'key.pem'));
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    fs.rmSync(dir, { recursive: true, force: true });
    const port = await freePort();
    inbounds.push(await hl7Server(port, async (_req, res) => res.sendResponse('AA'), { tls: { key, cert } }));
    const connection = connect({ port, tls: { ca: cert } });
    assert.equal((await connection.send(message('CTRL-TLS'))).code, 'AA');
    // an untrusted certificate is an error state, not a crash
    const untrusted = connect({ port, tls: true, timeoutMs: 300 });
    const error = untilState(untrusted, 'error');
    await assert.rejects(untrusted.send(message('CTRL-UNTRUSTED')), /no connection/);
    assert.match((await error as { message: string }).message, /self[- ]signed|certificate/i);
  });

  it('close() fails what waits, frees the socket and stops reconnecting', async function () {
    const port = await freePort();
    inbounds.push(await hl7Server(port, () => undefined));
    const connection = connect({ port });
    const waiting = connection.send(message('CTRL-CLOSE')).then(() => assert.fail('no ACK was sent'), (error: unknown) => error);
    await untilState(connection, 'waiting');
    await connection.close();
    assert.equal(((await waiting) as MllpSendError).code, 'closed');
    assert.equal(connection.state.state, 'closed');
    await assert.rejects(connection.send(message('CTRL-AFTER')), /is closed/);
  });

  it('refuses text that is not an HL7 message with a control id', async function () {
    const connection = connect({ port: 1 });
    await assert.rejects(connection.send('hello'), (error: MllpSendError) => error.code === 'invalid-message');
    await assert.rejects(connection.send({ payload: 1 } as never), /not a string/);
    assert.equal(connection.state.state, 'idle', 'nothing was opened for it');
  });
});
