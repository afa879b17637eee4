import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import iconv from 'iconv-lite';
import { identifierCondition, toFhir, type Observation, type TransactionBundle } from '../src/lib/formats/fhir';
import { toOruR01 } from '../src/lib/formats/hl7v2';
import type { Reading } from '../src/lib/reading';
import { startSandbox, type Sandbox, type SandboxOptions } from '../src/sandbox/sandbox';
import { reading } from './unit/hl7-readings';

// an independent HL7 v2 parser (no types of its own)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simpleHl7: any = require('simple-hl7');
const parseHl7 = (text: string): any => new simpleHl7.Parser().parse(text);
/** MSH-n with simple-hl7, whose header fields start at MSH-3. */
const msh = (message: any, n: number): string => message.header.getField(n - 2);

/**
 * The sandbox's hospital as health-fhir and hl7-send will meet it: a FHIR R4 server on the
 * sandbox's HTTP port and an MLLP listener, started in-process, fed with what the fhir and hl7v2
 * libraries make of vendor fixtures. The MLLP side is spoken over a raw socket and its ACKs read
 * with simple-hl7, so the listener's framing and ACKs are checked by code that is not its own.
 */

const PATIENT = 'P-0042';
const NAME = '王小明';
const withPatient = (r: Reading, name?: string): Reading => ({ ...r, subject: { ...r.subject, patientId: PATIENT, ...(name && { name }) } });
const glucose = (): Reading => withPatient(reading('sinocare', 'document-example'));
const bloodPressure = (): Reading => withPatient(reading('lezhi', 'blood-pressure'));
const weight = (): Reading => withPatient(reading('lezhi', 'weight'));

/** A stand-in for Node-RED that answers the sandbox's "is it up?" and nothing else: no vendor pushes. */
async function quietNodeRed(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

interface Started {
  sandbox: Sandbox;
  lines: string[];
}

const running: Array<() => Promise<void>> = [];
async function hospital(options: Partial<SandboxOptions> = {}): Promise<Started> {
  const nodeRed = await quietNodeRed();
  const lines: string[] = [];
  const sandbox = await startSandbox({ nodeRedUrl: nodeRed.url, vendors: [], port: 0, mllpPort: 0, log: (line) => lines.push(line), ...options });
  running.push(async () => {
    await sandbox.stop();
    await nodeRed.close();
  });
  return { sandbox, lines };
}

async function postFhir(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json(), headers: response.headers };
}

const observationOf = (bundle: TransactionBundle): Observation =>
  bundle.entry.find((e) => e.resource.resourceType === 'Observation')!.resource as Observation;

/** An MLLP peer written here, not from the library: frames out, ACK frames in, in order. */
class MllpPeer {
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<(frame: Buffer) => void> = [];
  private readonly frames: Buffer[] = [];
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  private constructor(private readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const start = this.buffer.indexOf(0x0b);
        const end = this.buffer.indexOf(Buffer.of(0x1c, 0x0d));
        if (start === -1 || end === -1) break;
        const frame = this.buffer.subarray(start + 1, end);
        this.buffer = this.buffer.subarray(end + 2);
        const next = this.waiting.shift();
        if (next) next(frame);
        else this.frames.push(frame);
      }
    });
  }

  static connect(port: number): Promise<MllpPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new MllpPeer(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  static framed(bytes: Buffer): Buffer {
    return Buffer.concat([Buffer.of(0x0b), bytes, Buffer.of(0x1c, 0x0d)]);
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** The next answer, as bytes. */
  answer(): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends one message (UTF-8) and reads its ACK with simple-hl7. */
  async send(text: string): Promise<any> {
    await this.write(MllpPeer.framed(Buffer.from(text, 'utf8')));
    return parseHl7((await this.answer()).toString('utf8'));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Whether a TCP connect to the port succeeds now ('connected') or with which error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A FHIR POST's status, or the code of the connection error ('ECONNREFUSED'). */
async function fhirStatus(url: string, body: unknown): Promise<number | string> {
  try {
    return (await postFhir(url, body)).status;
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    return cause?.code ?? (error as Error).message;
  }
}

/** Polls `check` every 25 ms until it returns true; fails after `timeoutMs` saying what it waited for. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const controlIdOfText = (text: string): string => text.split('\r')[0]!.split('|')[9]!;
let sequence = 0;
const oru = (r: Reading, options: Parameters<typeof toOruR01>[1] = {}): string =>
  toOruR01(r, { sendingApplication: 'HEALTH-BRIDGE', sendingFacility: 'WARD-3', receivingApplication: 'LIS', receivingFacility: 'HOSPITAL', controlId: () => `CTRL${++sequence}`, ...options });

describe('the sandbox hospital answers like a real FHIR server and a real HL7 interface engine', function () {
  this.timeout(30_000);
  afterEach(async function () {
    while (running.length) await running.pop()!();
  });

  describe('FHIR R4 at <sandbox>/fhir', function () {
    it('a transaction Bundle from health-fhir is stored with its references resolved, and sent again it stores nothing new', async function () {
      const { sandbox, lines } = await hospital();
      const bundle = toFhir(glucose()) as TransactionBundle;
      assert.deepEqual(bundle.entry.map((e) => e.resource.resourceType), ['Patient', 'Device', 'Observation']);

      const first = await postFhir(sandbox.fhirUrl, bundle);
      assert.equal(first.status, 200);
      assert.match(first.type ?? '', /^application\/fhir\+json/);
      assert.equal(first.body.resourceType, 'Bundle');
      assert.equal(first.body.type, 'transaction-response');
      assert.deepEqual(first.body.entry.map((e: any) => e.response.status), ['201 Created', '201 Created', '201 Created']);
      const locations = first.body.entry.map((e: any) => e.response.location);
      locations.forEach((location: string, i: number) => assert.match(location, new RegExp(`^${bundle.entry[i]!.resource.resourceType}/[^/]+/_history/1$`)));
      assert.deepEqual(sandbox.hospitalFhir.counts(), { Patient: 1, Device: 1, Observation: 1 });

      // the urn:uuid: references now name the stored Patient and Device
      const stored = sandbox.hospitalFhir.stored.find((r) => r.resourceType === 'Observation') as any;
      const [patient, device] = locations.map((l: string) => l.split('/_history')[0]);
      assert.equal(stored.subject.reference, patient);
      assert.equal(stored.device.reference, device);
      assert.deepEqual(stored.identifier, observationOf(bundle).identifier);

      const again = await postFhir(sandbox.fhirUrl, bundle);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body.entry.map((e: any) => e.response.status), ['200 OK', '200 OK', '200 OK']);
      assert.deepEqual(again.body.entry.map((e: any) => e.response.location), locations);
      assert.deepEqual(sandbox.hospitalFhir.counts(), { Patient: 1, Device: 1, Observation: 1 });

      // a second reading of the same patient and device adds one Observation only
      const next = await postFhir(sandbox.fhirUrl, toFhir(withPatient(reading('sinocare', 'valid-reading'))));
      assert.equal(next.body.entry.find((e: any) => e.response.location.startsWith('Observation/')).response.status, '201 Created');
      assert.equal(sandbox.hospitalFhir.counts().Observation, 2);

      const stores = lines.filter((line) => /FHIR stored Observation/.test(line));
      assert.equal(stores.length, 2, lines.join('\n'));
      for (const line of lines) assert.ok(!line.includes(PATIENT) && !line.includes(glucose().id), `the log names no patient or reading: ${line}`);
    });

    it('refuses every n-th reading once with 503 and an OperationOutcome, and stores its retry', async function () {
      const { sandbox, lines } = await hospital({ hospitalFailEvery: 2 });
      const one = toFhir(glucose());
      const two = toFhir(bloodPressure());
      assert.equal((await postFhir(sandbox.fhirUrl, one)).status, 200);

      const refused = await postFhir(sandbox.fhirUrl, two);
      assert.equal(refused.status, 503);
      assert.match(refused.type ?? '', /^application\/fhir\+json/);
      assert.equal(refused.body.resourceType, 'OperationOutcome');
      assert.equal(refused.body.issue[0].code, 'transient');
      assert.equal(sandbox.hospitalFhir.counts().Observation, 1, 'nothing of a refused Bundle is stored');

      const retry = await postFhir(sandbox.fhirUrl, two);
      assert.equal(retry.status, 200);
      assert.equal(retry.body.entry.at(-1).response.status, '201 Created');
      assert.equal(sandbox.hospitalFhir.counts().Observation, 2);
      // a reading seen before is never refused, whatever the count
      assert.equal((await postFhir(sandbox.fhirUrl, one)).status, 200);
      assert.equal(lines.filter((line) => /FHIR refused/.test(line)).length, 1);
    });

    it('finds a stored Observation by its identifier, as health-fhir writes the condition', async function () {
      const { sandbox } = await hospital();
      const bundle = toFhir(glucose()) as TransactionBundle;
      await postFhir(sandbox.fhirUrl, bundle);
      const observation = observationOf(bundle);

      const search = async (query: string): Promise<any> => {
        const response = await fetch(`${sandbox.fhirUrl}/Observation?${query}`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^application\/fhir\+json/);
        return response.json();
      };
      const found = await search(identifierCondition(observation.identifier[0]!));
      assert.equal(found.resourceType, 'Bundle');
      assert.equal(found.type, 'searchset');
      assert.equal(found.total, 1);
      assert.deepEqual(found.entry[0].resource.identifier, observation.identifier);
      assert.equal(found.entry[0].fullUrl, `${sandbox.fhirUrl}/Observation/${found.entry[0].resource.id}`);
      assert.equal(found.entry[0].search.mode, 'match');
      // the value alone matches too; another system does not
      assert.equal((await search(`identifier=${encodeURIComponent(observation.identifier[0]!.value)}`)).total, 1);
      assert.equal((await search(`identifier=urn:other|${encodeURIComponent(observation.identifier[0]!.value)}`)).total, 0);
      assert.equal((await search('identifier=urn:health-bridge:reading|nothing')).total, 0);
    });

    it('takes one Observation at <base>/Observation with If-None-Exist, and refuses what is not a FHIR resource with 400', async function () {
      const { sandbox } = await hospital();
      const observation = toFhir(weight(), { output: 'observation' }) as Observation;
      const condition = identifierCondition(observation.identifier[0]!);
      const created = await postFhir(`${sandbox.fhirUrl}/Observation`, observation, { 'if-none-exist': condition });
      assert.equal(created.status, 201);
      assert.equal(created.body.resourceType, 'Observation');
      assert.match(created.headers.get('location') ?? '', new RegExp(`/fhir/Observation/${created.body.id}/_history/1$`));
      const again = await postFhir(`${sandbox.fhirUrl}/Observation`, observation, { 'if-none-exist': condition });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, created.body.id);
      assert.deepEqual(sandbox.hospitalFhir.counts(), { Observation: 1 });

      for (const body of ['not json', '{"kind":"weight"}', '[]']) {
        const bad = await postFhir(sandbox.fhirUrl, body);
        assert.equal(bad.status, 400, body);
        assert.match(bad.type ?? '', /^application\/fhir\+json/);
        assert.equal(bad.body.resourceType, 'OperationOutcome');
      }
      const wrongType = await postFhir(`${sandbox.fhirUrl}/Patient`, observation);
      assert.equal(wrongType.status, 400);
      assert.deepEqual(sandbox.hospitalFhir.counts(), { Observation: 1 });
    });

    it('answers one request in n late, with the reading already stored', async function () {
      const { sandbox } = await hospital({ hospitalSlowEvery: 2, hospitalSlowMs: 400 });
      const timed = async (body: unknown): Promise<number> => {
        const start = Date.now();
        assert.equal((await postFhir(sandbox.fhirUrl, body)).status, 200);
        return Date.now() - start;
      };
      await timed(toFhir(glucose()));
      const pending = timed(toFhir(bloodPressure()));
      // the slow one is stored before it is answered
      await new Promise<void>((resolve) => {
        const check = (): void => (sandbox.hospitalFhir.counts().Observation === 2 ? resolve() : void setImmediate(check));
        check();
      });
      assert.ok((await pending) >= 390, 'the second answer is slow');
    });
  });

  describe('HL7 v2 over MLLP', function () {
    it('an ORU^R01 from health-hl7 gets AA with MSA-2 its MSH-10, from the receiver back to the sender', async function () {
      const { sandbox, lines } = await hospital();
      const peer = await MllpPeer.connect(sandbox.mllpPort);
      const message = oru(bloodPressure());
      const ack = await peer.send(message);
      peer.close();

      assert.equal(msh(ack, 9), 'ACK^R01^ACK');
      assert.equal(msh(ack, 3), 'LIS');
      assert.equal(msh(ack, 4), 'HOSPITAL');
      assert.equal(msh(ack, 5), 'HEALTH-BRIDGE');
      assert.equal(msh(ack, 6), 'WARD-3');
      assert.equal(msh(ack, 12), '2.5.1');
      assert.notEqual(msh(ack, 10), controlIdOfText(message));
      const msa = ack.getSegment('MSA');
      assert.equal(msa.getField(1), 'AA');
      assert.equal(msa.getField(2), controlIdOfText(message));
      assert.equal(ack.getSegment('ERR'), undefined);

      const [received] = sandbox.hospitalMllp.messages;
      assert.equal(sandbox.hospitalMllp.messages.length, 1);
      assert.equal(received!.text, message);
      assert.equal(received!.controlId, controlIdOfText(message));
      assert.equal(received!.type, 'ORU^R01');
      assert.equal(received!.readingId, bloodPressure().id);
      assert.equal(received!.ack, 'AA');
      const values = Object.fromEntries(received!.observations.map((o) => [o.code, [o.value, o.unit]]));
      assert.deepEqual(values['8480-6'], [String(bloodPressure().values.systolic!.value), 'mm[Hg]']);
      assert.deepEqual(values['8462-4'], [String(bloodPressure().values.diastolic!.value), 'mm[Hg]']);

      const line = lines.find((l) => /MLLP stored/.test(l));
      assert.ok(line, lines.join('\n'));
      assert.match(line!, /ORU\^R01 .*(pressure|85354-9)/i);
      for (const l of lines) assert.ok(!l.includes(PATIENT) && !l.includes(bloodPressure().id), `the log names no patient or reading: ${l}`);
    });

    it('refuses every n-th message once with AE, an MSA-3 text and an ERR segment, and accepts its resend', async function () {
      const { sandbox, lines } = await hospital({ hospitalFailEvery: 2 });
      const peer = await MllpPeer.connect(sandbox.mllpPort);
      assert.equal((await peer.send(oru(glucose()))).getSegment('MSA').getField(1), 'AA');

      const second = oru(bloodPressure());
      const refused = await peer.send(second);
      const msa = refused.getSegment('MSA');
      assert.equal(msa.getField(1), 'AE');
      assert.equal(msa.getField(2), controlIdOfText(second));
      assert.ok(msa.getField(3).length > 0, 'MSA-3 says why');
      const err = refused.getSegment('ERR');
      assert.ok(err, 'an ERR segment');
      assert.equal(err.getComponent(3, 1), '207');
      assert.equal(err.getField(4), 'E');

      // hl7-send sends it again (a new MSH-10, the same reading): accepted
      const resend = oru(bloodPressure());
      const accepted = await peer.send(resend);
      assert.equal(accepted.getSegment('MSA').getField(1), 'AA');
      assert.equal(accepted.getSegment('MSA').getField(2), controlIdOfText(resend));
      peer.close();
      assert.deepEqual(sandbox.hospitalMllp.messages.map((m) => m.ack), ['AA', 'AE', 'AA']);
      assert.equal(sandbox.hospitalMllp.accepted().length, 2);
      assert.equal(lines.filter((l) => /MLLP refused .* AE/.test(l)).length, 1);
    });

    it('reads frames split over many packets and several frames in one, answering each in order', async function () {
      const { sandbox } = await hospital();
      const peer = await MllpPeer.connect(sandbox.mllpPort);
      const messages = [oru(glucose()), oru(bloodPressure()), oru(weight())];
      const framed = messages.map((m) => MllpPeer.framed(Buffer.from(m, 'utf8')));

      // the first one a few bytes at a time, the 0x1C and the 0x0D in packets of their own
      const first = framed[0]!;
      for (const at of [0, 1, 7, 40, first.length - 2, first.length - 1]) {
        const to = [1, 7, 40, first.length - 2, first.length - 1, first.length].find((n) => n > at)!;
        await peer.write(first.subarray(at, to));
      }
      // the other two coalesced into one write
      await peer.write(Buffer.concat([framed[1]!, framed[2]!]));

      const acks = [await peer.answer(), await peer.answer(), await peer.answer()].map((a) => parseHl7(a.toString('utf8')));
      peer.close();
      assert.deepEqual(acks.map((a) => a.getSegment('MSA').getField(2)), messages.map(controlIdOfText));
      assert.deepEqual(acks.map((a) => a.getSegment('MSA').getField(1)), ['AA', 'AA', 'AA']);
      assert.deepEqual(sandbox.hospitalMllp.messages.map((m) => m.text), messages);
    });

    it('reads GB18030 by MSH-18, and by its charset option where MSH-18 names none', async function () {
      const { sandbox } = await hospital();
      const message = oru(withPatient(reading('lezhi', 'glucose'), NAME), { charset: 'gb18030' });
      assert.equal(message.split('\r')[0]!.split('|')[17], 'GB 18030-2000');
      const bytes = iconv.encode(message, 'gb18030');
      assert.notDeepEqual(bytes, Buffer.from(message, 'utf8'));
      const peer = await MllpPeer.connect(sandbox.mllpPort);
      await peer.write(MllpPeer.framed(bytes));
      const ack = parseHl7(iconv.decode(await peer.answer(), 'gb18030'));
      peer.close();
      assert.equal(ack.getSegment('MSA').getField(1), 'AA');
      assert.equal(ack.getSegment('MSA').getField(2), controlIdOfText(message));
      assert.equal(sandbox.hospitalMllp.messages[0]!.charset, 'gb18030');
      assert.equal(sandbox.hospitalMllp.messages[0]!.text, message);
      assert.ok(sandbox.hospitalMllp.messages[0]!.text.includes(NAME));

      // no MSH-18: the listener's own charset
      const { sandbox: gb } = await hospital({ mllpCharset: 'gb18030' });
      const fields = message.split('\r')[0]!.split('|');
      fields[17] = '';
      const bare = [fields.join('|').replace(/\|+$/, ''), ...message.split('\r').slice(1)].join('\r');
      const other = await MllpPeer.connect(gb.mllpPort);
      await other.write(MllpPeer.framed(iconv.encode(bare, 'gb18030')));
      assert.equal(parseHl7(iconv.decode(await other.answer(), 'gb18030')).getSegment('MSA').getField(1), 'AA');
      other.close();
      assert.equal(gb.hospitalMllp.messages[0]!.text, bare);
      assert.ok(gb.hospitalMllp.messages[0]!.text.includes(NAME));
    });

    it('answers one message in n late', async function () {
      const { sandbox } = await hospital({ hospitalSlowEvery: 2, hospitalSlowMs: 400 });
      const peer = await MllpPeer.connect(sandbox.mllpPort);
      const timed = async (text: string): Promise<number> => {
        const start = Date.now();
        assert.equal((await peer.send(text)).getSegment('MSA').getField(1), 'AA');
        return Date.now() - start;
      };
      await timed(oru(glucose()));
      assert.ok((await timed(oru(bloodPressure()))) >= 390, 'the second answer is slow');
      peer.close();
    });

    it('the default MLLP port is 2575, or a free one when 2575 is taken', async function () {
      const blocker = net.createServer();
      const taken = await new Promise<boolean>((resolve) => {
        blocker.once('error', () => resolve(false));
        blocker.listen(2575, '127.0.0.1', () => resolve(true));
      });
      try {
        const { sandbox, lines } = await hospital({ mllpPort: undefined });
        // 2575 is held, by us or by another program: the sandbox moved on
        assert.notEqual(sandbox.mllpPort, 2575);
        assert.ok(lines.some((l) => /2575 is taken/.test(l)), lines.join('\n'));
        const peer = await MllpPeer.connect(sandbox.mllpPort);
        assert.equal((await peer.send(oru(glucose()))).getSegment('MSA').getField(1), 'AA');
        peer.close();
      } finally {
        if (taken) await new Promise((done) => blocker.close(done));
      }
    });
  });

  describe('down for maintenance (hospitalDown)', function () {
    it('from 2 s to 4 s the MLLP port refuses connections (the open one dropped) and FHIR answers 503; then both take readings again on the same ports, and the log says when', async function () {
      const fromMs = 2000;
      const toMs = 4000;
      const before = Date.now();
      const { sandbox, lines } = await hospital({ hospitalDown: [{ fromMs, toMs }] });
      const port = sandbox.mllpPort;
      const hospitalApi = (): Promise<Response> =>
        fetch(`${sandbox.apiUrl}/hospital/readings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'r-1', vendor: 'sinocare', kind: 'glucose' }) });

      // up until `fromMs` (2 s of margin for a busy machine): a connection kept open, a Bundle stored
      const open = await MllpPeer.connect(port);
      assert.equal((await open.send(oru(glucose()))).getSegment('MSA').getField(1), 'AA');
      assert.equal(await fhirStatus(sandbox.fhirUrl, toFhir(glucose())), 200);
      assert.equal((await hospitalApi()).status, 201);

      // down: a connect is refused, as by a stopped server, and the open connection is dropped
      await until(async () => (await tryConnect(port)) === 'ECONNREFUSED', toMs + 10_000, 'the MLLP port to refuse connections');
      assert.ok(Date.now() - before >= fromMs, `down only from ${fromMs} ms, not after ${Date.now() - before} ms`);
      await open.closed;
      await until(async () => (await fhirStatus(sandbox.fhirUrl, toFhir(bloodPressure()))) === 503, toMs + 10_000, 'FHIR to answer 503');
      const refused = await postFhir(sandbox.fhirUrl, toFhir(bloodPressure()));
      assert.match(refused.type ?? '', /^application\/fhir\+json/);
      assert.equal(refused.body.resourceType, 'OperationOutcome');
      assert.equal(refused.body.issue[0].code, 'transient');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After says when to come back');
      assert.equal((await hospitalApi()).status, 503);
      assert.equal(sandbox.hospitalFhir.counts().Observation, 1, 'nothing stored while down');

      // back at `toMs`, on the same ports
      await until(async () => (await tryConnect(port)) === 'connected', toMs + 10_000, 'the MLLP port to take connections again');
      assert.ok(Date.now() - before >= toMs, `down until ${toMs} ms, not only until ${Date.now() - before} ms`);
      await until(async () => (await fhirStatus(sandbox.fhirUrl, toFhir(bloodPressure()))) === 200, 10_000, 'FHIR to store again');
      assert.equal(sandbox.hospitalFhir.counts().Observation, 2);
      assert.equal(sandbox.mllpPort, port);
      const again = await MllpPeer.connect(port);
      assert.equal((await again.send(oru(bloodPressure()))).getSegment('MSA').getField(1), 'AA');
      again.close();
      assert.equal(sandbox.hospitalMllp.accepted().length, 2);

      const down = lines.findIndex((line) => /hospital +DOWN for maintenance for 2 s \(until 4 s after the sandbox started\)/.test(line));
      const up = lines.findIndex((line) => /hospital +back UP after 2 s of maintenance/.test(line));
      assert.ok(down !== -1 && up > down, lines.join('\n'));
      assert.match(lines[down]!, new RegExp(`MLLP 127\\.0\\.0\\.1:${port} refuses connections`));
      for (const line of lines) assert.ok(!line.includes(PATIENT), `the log names no patient: ${line}`);
    });

    it('a window from 0 is down before startSandbox returns, Retry-After says how long it lasts, and the sandbox stops while down', async function () {
      const { sandbox } = await hospital({ hospitalDown: [{ fromMs: 0, toMs: 60_000 }] });
      assert.equal(await tryConnect(sandbox.mllpPort), 'ECONNREFUSED');
      const refused = await postFhir(sandbox.fhirUrl, toFhir(glucose()));
      assert.equal(refused.status, 503);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter > 50 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      // afterEach stops it, down as it is
    });

    it('a window that ends before it begins, or overlaps the one before, is refused: by startSandbox before anything listens, by the CLI with exit code 2', async function () {
      // nothing listens yet, so nothing is left open: no Node-RED is needed either
      const start = (hospitalDown: SandboxOptions['hospitalDown']): Promise<Sandbox> =>
        startSandbox({ nodeRedUrl: 'http://127.0.0.1:9', vendors: [], port: 0, mllpPort: 0, log: () => undefined, hospitalDown });
      await assert.rejects(start([{ fromMs: 3000, toMs: 1000 }]), /the down window 3-1 must end after it begins/);
      await assert.rejects(start([{ fromMs: 0, toMs: 2000 }, { fromMs: 1000, toMs: 3000 }]), /the down window 1-3 must begin after the one before it ends/);

      // build/test/… → build/src/sandbox/cli.js
      const cli = path.resolve(__dirname, '..', 'src', 'sandbox', 'cli.js');
      const run = (value: string): Promise<{ code: number | null; stderr: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [cli, '--hospital-down', value], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
          child.on('close', (code) => resolve({ code, stderr }));
        });
      for (const [value, message] of [
        ['90-30', /^--hospital-down: the down window 90-30 must end after it begins/],
        ['30-90,60-120', /^--hospital-down: the down window 60-120 must begin after the one before it ends/],
        ['soon', /^--hospital-down: "soon" is not <from>-<to> in seconds since the sandbox started, such as 30-90/],
      ] as const) {
        const { code, stderr } = await run(value);
        assert.equal(code, 2, stderr);
        assert.match(stderr, message);
      }
    });
  });
});
