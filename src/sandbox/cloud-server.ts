import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The plumbing every vendor emulator shares: a plain HTTP server on 127.0.0.1 that hands each
 * request, with its URL and JSON body parsed, to the vendor's handler, and a way to push to a
 * receiver as the vendor's cloud does. The emulators never import the production vendor code:
 * they are written from the vendor documents, so they can catch our mistakes.
 */

export interface CloudRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** The body parsed as JSON; undefined when empty or not JSON (`text` has it as sent). */
  body: unknown;
  text: string;
}

/** Answers a request, or returns false to let the server answer 404. */
export type CloudHandler = (request: CloudRequest, res: ServerResponse) => boolean | Promise<boolean>;

export interface CloudServer {
  url: string;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function startCloudServer(handler: CloudHandler, port = 0, host = '127.0.0.1'): Promise<CloudServer> {
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const request: CloudRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', `http://${host}`),
        headers: req.headers,
        body,
        text,
      };
      Promise.resolve(handler(request, res)).then(
        (handled) => {
          if (!handled && !res.headersSent) sendJson(res, 404, { error: 'not found' });
        },
        (error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
        },
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${actual}`,
        close: () =>
          new Promise((done) => {
            // An emulator told not to answer holds sockets open: end them, or close never returns.
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export interface PushResult {
  status: number;
  text: string;
}

/** POSTs a JSON push to a receiver, as a vendor cloud does. */
export async function pushJson(url: string, body: unknown): Promise<PushResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}
