import net, { type AddressInfo } from 'node:net';
import {
  MllpDecoder, controlIdOf, decodeText, encodeText, escapeHl7, frame, isAscii, newControlId, unescapeHl7, utcTime, withCharset,
  type AcknowledgmentCode, type Charset,
} from '../lib/formats/hl7v2';
import { HospitalFaults, hold, type FaultOptions } from './hospital-faults';

/**
 * The sandbox's hospital as an HL7 v2 interface engine: an MLLP listener (TCP, conventionally on
 * 2575) that answers each message with an original-mode ACK as hospital engines do: the MSH with
 * sender and receiver swapped, its own MSH-10, MSA-1 `AA` and MSA-2 the message's MSH-10. It uses
 * the library's framing only; the ACKs are built here from the MSH it received.
 *
 * Fails like a hospital (hospital-faults.ts): every n-th message (by its reading, OBR-3, else its
 * MSH-10) is answered `AE` with an MSA-3 text and an ERR segment the first time (its resend is
 * accepted), and one answer in n is slow. Down for maintenance (`down()`, `up()`), it stops
 * listening and drops its connections, and listens again on the same port.
 * Charset: MSH-18 where the message names one (`UNICODE UTF-8`, `GB 18030-2000`), else the
 * listener's `charset`.
 *
 * It logs one line per message naming the kind (OBR-4's text) only: never a name, id or patient.
 */

export const DEFAULT_MLLP_PORT = 2575;

export interface HospitalMllpOptions extends FaultOptions {
  /** 0 picks a free one. */
  port?: number;
  host?: string;
  /** The charset of a message whose MSH-18 names none (default utf-8). */
  charset?: Charset;
  log?: (line: string) => void;
}

export interface ReceivedObx {
  /** OBX-3's code and text. */
  code: string;
  text: string;
  /** OBX-2, OBX-5 (unescaped), OBX-6's unit code. */
  type: string;
  value: string;
  unit: string;
}

export interface ReceivedMessage {
  /** The message as decoded (segments joined by `\r`). */
  text: string;
  charset: Charset;
  /** MSH-9, MSH-10. */
  type: string;
  controlId: string;
  /** OBR-3 (the reading id) and OBR-4's text (the kind). */
  readingId: string;
  kind: string;
  observations: ReceivedObx[];
  /** How the listener answered it. */
  ack: AcknowledgmentCode;
  /** The ACK as sent. */
  answer: string;
}

export interface HospitalMllp {
  port: number;
  host: string;
  /** Every message received, accepted or not, in order. */
  readonly messages: ReceivedMessage[];
  /** The messages it accepted (AA). */
  accepted(): ReceivedMessage[];
  /**
   * Down for maintenance, as a stopped engine is: the listener closed (a connect is refused) and
   * every connection dropped, an answer still held back (a slow one) lost with it.
   */
  down(): Promise<void>;
  /** Listening again, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** MSH-18 → our charset; undefined when it names none we know. */
function charsetNamed(name: string): Charset | undefined {
  if (/gb\s*-?\s*18030/i.test(name)) return 'gb18030';
  if (/utf\s*-?\s*8/i.test(name)) return 'utf-8';
  return undefined;
}

/** MSH-18 of a frame, read before decoding: the MSH segment up to MSH-18 is ASCII. */
function declaredCharset(bytes: Buffer): Charset | undefined {
  const head = bytes.subarray(0, Math.min(bytes.length, 2048)).toString('latin1');
  const end = head.search(/\r|\n/);
  const msh = end === -1 ? head : head.slice(0, end);
  if (!msh.startsWith('MSH') || msh.length < 8) return undefined;
  const field = msh.split(msh.charAt(3))[17];
  return field ? charsetNamed(field) : undefined;
}

interface Parsed {
  separator: string;
  component: string;
  msh: string[];
  segments: string[][];
}

function parse(text: string): Parsed | undefined {
  const lines = text.split(/\r\n|\r|\n/).filter((s) => s !== '');
  const header = lines[0];
  if (!header || !header.startsWith('MSH') || header.length < 8) return undefined;
  const separator = header.charAt(3);
  return { separator, component: header.charAt(4), msh: header.split(separator), segments: lines.slice(1).map((line) => line.split(separator)) };
}

/** MSH-n of a parsed MSH (fields[0] is "MSH", fields[1] MSH-2, so MSH-n is fields[n - 1]). */
const mshField = (p: Parsed, n: number): string => p.msh[n - 1] ?? '';
const componentOf = (p: Parsed, field: string | undefined, index: number): string => unescapeHl7((field ?? '').split(p.component)[index] ?? '');

/**
 * The ACK a hospital sends for `p`: its MSH with sending and receiving application and facility
 * swapped, a control id of its own, MSA-2 the message's MSH-10 (as it came, escapes and all).
 * For AE/AR: MSA-3 the text and an ERR segment in the form of the message's version.
 */
export function buildAck(p: Parsed | undefined, code: AcknowledgmentCode, text = ''): string {
  const sep = p?.separator ?? '|';
  const field = (n: number): string => (p ? mshField(p, n) : '');
  const version = field(12) || '2.5.1';
  const trigger = p ? (field(9).split(p.component)[1] ?? '') : '';
  const msh = [
    'MSH', p ? field(2) : '^~\\&', field(5), field(6), field(3), field(4), utcTime(new Date()), '',
    ['ACK', trigger, 'ACK'].filter(Boolean).join(p?.component ?? '^'), newControlId(), field(11) || 'P', version,
  ];
  const msa = ['MSA', code, field(10)];
  if (text) msa.push(escapeHl7(text));
  const segments = [msh.join(sep), msa.join(sep)];
  if (code !== 'AA' && code !== 'CA') {
    // HL7 table 0357: 207 application internal error; 100 segment sequence error (no MSH)
    const [errorCode, errorText] = p ? ['207', 'Application internal error'] : ['100', 'Segment sequence error'];
    segments.push(
      version.startsWith('2.3') || version.startsWith('2.2') || version.startsWith('2.1')
        ? ['ERR', `^^^${errorCode}&${errorText}&HL70357`].join(sep)
        : ['ERR', '', '', `${errorCode}^${errorText}^HL70357`, 'E', '', '', '', escapeHl7(text)].join(sep),
    );
  }
  return segments.join('\r');
}

function observationsOf(p: Parsed): ReceivedObx[] {
  return p.segments
    .filter((fields) => fields[0] === 'OBX')
    .map((fields) => ({
      code: componentOf(p, fields[3], 0),
      text: componentOf(p, fields[3], 1),
      type: fields[2] ?? '',
      value: unescapeHl7(fields[5] ?? ''),
      unit: componentOf(p, fields[6], 0),
    }));
}

export function startHospitalMllp(options: HospitalMllpOptions = {}): Promise<HospitalMllp> {
  const log = options.log ?? (() => undefined);
  const faults = new HospitalFaults(options);
  const host = options.host ?? '127.0.0.1';
  const messages: ReceivedMessage[] = [];
  const sockets = new Set<net.Socket>();
  const clock = (): string => new Date().toTimeString().slice(0, 8);

  async function answer(socket: net.Socket, bytes: Buffer): Promise<void> {
    const charset = declaredCharset(bytes) ?? options.charset ?? 'utf-8';
    const text = decodeText(bytes, charset);
    const p = parse(text);
    let ack: string;
    if (!p) {
      log(`${clock()}  hospital   MLLP refused a frame that is not an HL7 v2 message (AR)`);
      ack = buildAck(undefined, 'AR', 'Not an HL7 v2 message: it does not begin with MSH');
    } else {
      const obr = p.segments.find((fields) => fields[0] === 'OBR');
      const readingId = componentOf(p, obr?.[3], 0);
      const kind = componentOf(p, obr?.[4], 1) || componentOf(p, obr?.[4], 0) || 'no OBR';
      const controlId = controlIdOf(text) ?? '';
      const type = mshField(p, 9).split(p.component).slice(0, 2).join('^');
      const key = readingId || `MSH-10 ${controlId}`;
      const code: AcknowledgmentCode = faults.refuse(key) ? 'AE' : 'AA';
      const reason = code === 'AE' ? 'The hospital could not store the message just now (a sandbox outage); send it again' : '';
      ack = buildAck(p, code, reason);
      messages.push({ text, charset, type, controlId, readingId, kind, observations: observationsOf(p), ack: code, answer: ack });
      log(
        code === 'AA'
          ? `${clock()}  hospital   MLLP stored ${type} ${kind} (AA)`
          : `${clock()}  hospital   MLLP refused ${type} ${kind} with AE (a hospital outage: the sender must send it again)`,
      );
    }
    await hold(faults.delay());
    const out = isAscii(ack) ? ack : withCharset(ack, charset);
    if (!socket.destroyed) socket.write(frame(encodeText(out, charset)));
  }

  const server = net.createServer((socket) => {
    sockets.add(socket);
    const decoder = new MllpDecoder();
    // answers go out in the order the messages came, a slow one holding back those behind it, as one connection of an engine does
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const bytes of frames) queue = queue.then(() => answer(socket, bytes)).catch(() => undefined);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((done) => {
      for (const socket of sockets) socket.destroy();
      // not listening (down already): close answers ERR_SERVER_NOT_RUNNING, which is fine here
      server.close(() => done());
    });

  return listen(options.port ?? DEFAULT_MLLP_PORT).then((port) => ({
    port,
    host,
    messages,
    accepted: () => messages.filter((m) => m.ack === 'AA'),
    down: () => (server.listening ? stopListening() : Promise.resolve()),
    up: async () => {
      if (!server.listening) await listen(port);
    },
    close: stopListening,
  }));
}
