import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body ourselves, whatever its content type, so that the size limit and the JSON
 * parse are the same for every vendor. Node-RED mounts its admin app, with a JSON body parser,
 * in front of the HTTP nodes (both at "/" by default): that parser would answer malformed JSON
 * with its own HTML 400 before a receiver ever saw the push. So the body is captured before it
 * (see route.ts), and the route handler picks up what was captured.
 */

export type BodyResult = { tooLarge: false; bytes: Buffer } | { tooLarge: true };

const CAPTURED = Symbol.for('health-bridge.captured-body');

interface RequestState {
  [CAPTURED]?: Promise<BodyResult>;
  /** body-parser skips a request whose body someone already read. */
  _body?: boolean;
  body?: unknown;
  rawBody?: unknown;
}

/** Starts reading the body now and marks it read for every parser after us. */
export function captureBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const state = req as IncomingMessage & RequestState;
  state[CAPTURED] ??= readStream(req, maxBytes);
  state._body = true;
  return state[CAPTURED];
}

/** The body of a request: captured early, read by middleware before us, or read now. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const state = req as IncomingMessage & RequestState;
  const captured = state[CAPTURED];
  if (captured) return captured;
  if (state._body || req.readableEnded) {
    const bytes = bytesOf(state.rawBody ?? state.body);
    return Promise.resolve(bytes.length > maxBytes ? { tooLarge: true } : { tooLarge: false, bytes });
  }
  return readStream(req, maxBytes);
}

function readStream(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    // Let the body flow past unread so the client can finish sending and read our 413.
    req.resume();
    return Promise.resolve({ tooLarge: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > maxBytes) {
        req.off('data', onData);
        chunks.length = 0;
        req.resume();
        resolve({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve({ tooLarge: false, bytes: Buffer.concat(chunks, length) }));
    req.once('error', reject);
  });
}

function bytesOf(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  if (body === undefined || body === null) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(body));
}
