import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { AcknowledgmentParseError, SUCCESS_CODES, controlIdOf, parseAcknowledgment, type AcknowledgmentCode } from './ack';
import { decodeText, encodeText, withCharset, type Charset } from './charset';
import { MllpDecoder, frame } from './mllp';

/**
 * One persistent MLLP connection (docs/nodes/hl7-mllp.md): the socket a config node owns and the
 * hl7-send nodes share. `send` writes a framed message and resolves on the ACK whose MSA-2 is
 * the message's MSH-10. Nothing of a message (nor of an ACK) is logged or put in a state: errors
 * name the control id, the ACK code and the hospital's own MSA-3 / ERR text.
 */

export interface MllpConnectionOptions {
  host: string;
  port: number;
  /** TLS (node:tls) instead of plain TCP; an object is passed to tls.connect (ca, servername, …). */
  tls?: boolean | tls.ConnectionOptions;
  /** How long a send waits for its ACK, including any wait for the connection. Default 10 000 ms. */
  timeoutMs?: number;
  charset?: Charset;
  /** Reconnect backoff: first delay, growth factor, largest delay. Default 500 ms × 2 up to 30 s. */
  backoff?: { initialMs?: number; factor?: number; maxMs?: number };
}

/** What one send may add to the connection's own timeout. */
export interface SendOptions {
  /**
   * The most this send may wait (ms), where a deadline of the sender's is nearer than the
   * connection's timeout (a vendor waiting for its answer): it then fails with code `deadline`
   * instead of `timeout`; at 0 or less it fails at once, unsent.
   */
  budgetMs?: number;
  /** Called when the ACK of this message comes after the send gave up on it (timeout, deadline). */
  onLateAck?(late: LateAck): void;
}

/** An ACK that came for a message whose send had already given up on it. */
export interface LateAck {
  controlId: string;
  code: AcknowledgmentCode;
  /** Why the send gave up: `timeout` or `deadline`. */
  gaveUp: 'timeout' | 'deadline';
  /** How long after giving up it came (ms). */
  lateMs: number;
}

export interface AcknowledgmentResult {
  code: AcknowledgmentCode;
  controlId: string;
  text: string;
}

export type ConnectionState =
  | { state: 'idle' }
  | { state: 'connecting'; attempt: number }
  | { state: 'connected' }
  | { state: 'waiting'; pending: number }
  | { state: 'error'; message: string; retryInMs?: number }
  | { state: 'closed' };

/** Why a send failed: `code` is the ACK's code, or what went wrong before an ACK came. */
export class MllpSendError extends Error {
  constructor(
    readonly code: AcknowledgmentCode | 'timeout' | 'deadline' | 'connection-lost' | 'closed' | 'invalid-message' | 'duplicate-control-id',
    message: string,
    readonly controlId?: string,
    readonly ackText?: string,
  ) {
    super(message);
    this.name = 'MllpSendError';
  }
}

interface Pending {
  controlId: string;
  bytes: Buffer;
  written: boolean;
  timer: NodeJS.Timeout;
  resolve(result: AcknowledgmentResult): void;
  reject(error: MllpSendError): void;
}

const TEXT_LIMIT = 500;
/** How many given-up control ids are remembered, to tell a late ACK from one nobody ever waited for. */
const GIVEN_UP_LIMIT = 1000;
const clip = (text: string): string => (text.length > TEXT_LIMIT ? `${text.slice(0, TEXT_LIMIT)}…` : text);

export class MllpConnection extends EventEmitter {
  private socket: net.Socket | undefined;
  private connected = false;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Control ids whose send gave up before the ACK came, oldest first (bounded). */
  private readonly givenUp = new Map<string, { at: number; why: 'timeout' | 'deadline'; onLateAck?: (late: LateAck) => void }>();
  private readonly decoder = new MllpDecoder();
  private current: ConnectionState = { state: 'idle' };
  /** How long a send waits for its ACK (the `timeout` of hl7-mllp, in ms). */
  readonly timeoutMs: number;
  private readonly charset: Charset;
  private readonly backoff: { initialMs: number; factor: number; maxMs: number };

  constructor(private readonly options: MllpConnectionOptions) {
    super();
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.charset = options.charset ?? 'utf-8';
    this.backoff = { initialMs: 500, factor: 2, maxMs: 30_000, ...options.backoff };
  }

  /** The state a node shows as its status. `state` events carry each change. */
  get state(): ConnectionState {
    return this.current;
  }

  /** Where this connection goes, for a status or an error: no message content. */
  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Opens the socket (a send does so too); reconnects after a loss until close(). */
  connect(): void {
    if (this.closed || this.socket || this.retryTimer) return;
    this.open();
  }

  send(message: string, options: SendOptions = {}): Promise<AcknowledgmentResult> {
    if (typeof message !== 'string') {
      return Promise.reject(new MllpSendError('invalid-message', 'an HL7 v2 message is text: msg.payload is not a string'));
    }
    if (this.closed) return Promise.reject(new MllpSendError('closed', `the MLLP connection to ${this.address} is closed`));
    const text = withCharset(message.replace(/\r\n|\n/g, '\r'), this.charset);
    const controlId = controlIdOf(text);
    if (!controlId) {
      return Promise.reject(new MllpSendError('invalid-message', 'not an HL7 v2 message with a control id (MSH-10)'));
    }
    if (this.pending.has(controlId)) {
      return Promise.reject(new MllpSendError('duplicate-control-id', `a message with control id ${controlId} is still waiting for its ACK`, controlId));
    }
    const { budgetMs, onLateAck } = options;
    const byDeadline = budgetMs !== undefined && budgetMs < this.timeoutMs;
    if (byDeadline && budgetMs <= 0) {
      return Promise.reject(new MllpSendError('deadline', `no time left before the sender's deadline: control id ${controlId} not sent`, controlId));
    }
    const waitMs = byDeadline ? budgetMs : this.timeoutMs;
    return new Promise<AcknowledgmentResult>((resolve, reject) => {
      const entry: Pending = {
        controlId,
        bytes: frame(encodeText(text, this.charset)),
        written: false,
        timer: setTimeout(() => {
          this.settle(controlId);
          const code = byDeadline ? 'deadline' : 'timeout';
          // a HIS that answers now has the message: its ACK is no answer to anyone any more
          if (entry.written) this.rememberGivenUp(controlId, code, onLateAck);
          const within = `${Math.round(waitMs) / 1000} s`;
          const why = entry.written
            ? `no ACK for control id ${controlId} from ${this.address} within ${within}`
            : `no connection to ${this.address} within ${within} (control id ${controlId} not sent)`;
          reject(new MllpSendError(code, byDeadline ? `${why}, the sender's deadline` : why, controlId));
        }, waitMs),
        resolve,
        reject,
      };
      this.pending.set(controlId, entry);
      if (this.connected) this.write(entry);
      else this.connect();
      this.publish();
    });
  }

  /** Fails every waiting send, stops reconnecting and closes the socket. */
  close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failAll('closed', (id) => `the MLLP connection to ${this.address} was closed before the ACK of control id ${id}`);
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    this.setState({ state: 'closed' });
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  private open(): void {
    this.attempt += 1;
    this.setState({ state: 'connecting', attempt: this.attempt });
    const { host, port } = this.options;
    const socket = this.options.tls
      ? tls.connect({ host, port, ...(typeof this.options.tls === 'object' ? this.options.tls : {}) })
      : net.connect({ host, port });
    this.socket = socket;
    this.decoder.reset();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.once(this.options.tls ? 'secureConnect' : 'connect', () => {
      if (socket !== this.socket) return;
      this.connected = true;
      this.attempt = 0;
      for (const entry of this.pending.values()) if (!entry.written) this.write(entry);
      this.publish();
    });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    let failure: Error | undefined;
    socket.on('error', (error) => {
      failure = error;
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.lost(failure);
    });
  }

  private write(entry: Pending): void {
    entry.written = true;
    this.socket?.write(entry.bytes);
  }

  private receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.socket?.destroy(error as Error);
      return;
    }
    for (const bytes of frames) {
      let acknowledgment;
      try {
        acknowledgment = parseAcknowledgment(decodeText(bytes, this.charset));
      } catch (error) {
        if (error instanceof AcknowledgmentParseError) continue; // not an ACK we can match: nothing waits for it
        throw error;
      }
      const entry = this.settle(acknowledgment.controlId);
      if (!entry) {
        // an ACK nobody waits for is ignored; one that comes after its send gave up is told to
        // that sender (HL7 has no conditional create: the HIS may have stored the message, and
        // OBR-3 is what lets it recognize the next delivery of the same reading)
        const late = this.givenUp.get(acknowledgment.controlId);
        if (late) {
          this.givenUp.delete(acknowledgment.controlId);
          late.onLateAck?.({ controlId: acknowledgment.controlId, code: acknowledgment.code, gaveUp: late.why, lateMs: Date.now() - late.at });
        }
        continue;
      }
      const text = acknowledgment.text || acknowledgment.errorText;
      if (SUCCESS_CODES.has(acknowledgment.code)) {
        entry.resolve({ code: acknowledgment.code, controlId: acknowledgment.controlId, text });
        continue;
      }
      const detail = ackDetail(acknowledgment.text, acknowledgment.errorText);
      entry.reject(new MllpSendError(
        acknowledgment.code,
        `${this.address} answered ${acknowledgment.code} to control id ${acknowledgment.controlId}${detail ? `: ${clip(detail)}` : ''}`,
        acknowledgment.controlId,
        clip(detail),
      ));
    }
  }

  private rememberGivenUp(controlId: string, why: 'timeout' | 'deadline', onLateAck?: (late: LateAck) => void): void {
    this.givenUp.set(controlId, { at: Date.now(), why, onLateAck });
    if (this.givenUp.size > GIVEN_UP_LIMIT) this.givenUp.delete(this.givenUp.keys().next().value!);
  }

  /** Removes a waiting send; the caller resolves or rejects it. */
  private settle(controlId: string): Pending | undefined {
    const entry = this.pending.get(controlId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(controlId);
    this.publish();
    return entry;
  }

  private failAll(code: 'closed' | 'connection-lost', why: (controlId: string) => string, onlyWritten = false): void {
    for (const entry of [...this.pending.values()]) {
      if (onlyWritten && !entry.written) continue;
      clearTimeout(entry.timer);
      this.pending.delete(entry.controlId);
      entry.reject(new MllpSendError(code, why(entry.controlId), entry.controlId));
    }
  }

  private lost(failure: Error | undefined): void {
    const wasConnected = this.connected;
    this.socket = undefined;
    this.connected = false;
    if (this.closed) return;
    // what was written may or may not have arrived: its sender decides (an outbox re-delivers);
    // what was not written yet waits for the next connection, within its own timeout
    this.failAll('connection-lost', (id) => `the MLLP connection to ${this.address} was lost before the ACK of control id ${id}`, true);
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * this.backoff.factor ** Math.max(0, this.attempt - 1));
    const reason = failure ? describe(failure) : wasConnected ? 'connection closed by the peer' : 'connection refused';
    this.setState({ state: 'error', message: `${this.address}: ${reason}`, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.open();
    }, delay);
  }

  private publish(): void {
    if (!this.connected) return;
    this.setState(this.pending.size ? { state: 'waiting', pending: this.pending.size } : { state: 'connected' });
  }

  private setState(next: ConnectionState): void {
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.emit('state', next);
  }
}

/**
 * The hospital's words of a refusal: MSA-3 and the ERR segments' texts, each said once (many a
 * HIS puts the same sentence in MSA-3 and ERR-8).
 */
export function ackDetail(text: string, errorText: string): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const part of [text, ...errorText.split('; ')]) {
    const key = part.trim().replace(/\s+/g, ' ').toLowerCase();
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    parts.push(part.trim());
  }
  return parts.join('; ');
}

/** An error's code and message (ECONNREFUSED …): no content of ours is in it. */
function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}

export interface MllpConnection {
  on(event: 'state', listener: (state: ConnectionState) => void): this;
  once(event: 'state', listener: (state: ConnectionState) => void): this;
  off(event: 'state', listener: (state: ConnectionState) => void): this;
}
