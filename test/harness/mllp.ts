import { once } from 'node:events';
import net from 'node:net';
import { Server as Hl7Server, type Inbound, type InboundHandler } from 'node-hl7-server';

/**
 * Hospital-side MLLP listeners for the tests: node-hl7-server (a real HL7 v2 server that parses
 * what it gets and answers with its own ACK), and a raw net server of the test's own for what
 * node-hl7-server will not do (an AE with the hospital's MSA-3 text, silence).
 */

export const HOST = '127.0.0.1';

export async function hl7Server(port: number, handler: InboundHandler): Promise<Inbound> {
  const inbound = new Hl7Server({ bindAddress: HOST }).createInbound({ port }, handler);
  await once(inbound, 'listen');
  return inbound;
}

export interface RawServer {
  port: number;
  /** The messages received, as text. */
  received: string[];
  /** How many connections it accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

/** The MSH-10 of a message. */
export const controlIdIn = (message: string): string => message.split('\r')[0]!.split('|')[9]!;

/**
 * A raw MLLP server that answers each message with `answer(message)` (an ACK without framing),
 * or not at all where it gives undefined; a promise answers when it settles (a slow HIS).
 */
export async function rawServer(answer: (message: string) => string | undefined | Promise<string | undefined>, port = 0): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\x1c\r', 0, 'latin1');
        if (end === -1) break;
        const start = buffered.indexOf(0x0b);
        const message = buffered.subarray(start + 1, end).toString('utf8');
        buffered = buffered.subarray(end + 2);
        received.push(message);
        const write = (reply: string | undefined): void => {
          if (reply !== undefined && !socket.destroyed) socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(reply, 'utf8'), Buffer.from([0x1c, 0x0d])]));
        };
        const reply = answer(message);
        if (typeof reply === 'object') void reply.then(write);
        else write(reply);
      }
    });
  });
  server.listen(port, HOST);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An ACK of `code` to the message with control id `controlId`, MSA-3 `text`. */
export const ackOf = (code: string, controlId: string, text = ''): string =>
  `MSH|^~\\&|LIS|HOSPITAL|HB|WARD|20261201080910||ACK^R01^ACK|A${controlId}|P|2.5.1\rMSA|${code}|${controlId}${text ? `|${text}` : ''}`;
