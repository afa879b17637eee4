import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { freePort } from './node-red';

/**
 * A real redis-server for the tests (Debian's `redis-server`; `.ci/run` installs it): its own free
 * port on 127.0.0.1, its own temporary directory, no persistence unless a test asks for it. It can
 * be stopped and started again on the same port (Redis down for a while), and is stopped by `stop`.
 */

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServerOptions {
  /** Extra `--name value…` arguments, e.g. `{ 'maxmemory-policy': 'allkeys-lru' }`; a list for several words. */
  config?: Record<string, string | string[]>;
  /** TLS only (no plain port), with this certificate and key (PEM files); clients need no certificate. */
  tls?: { cert: string; key: string };
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(readonly port: number, readonly dir: string, private readonly options: RedisServerOptions) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    // missing, the tests fail saying how to install it (never skipped)
    if (!fs.existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is not installed: apt-get install redis-server`);
    const server = new RedisServer(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), 'hb-redis-')), options);
    await server.resume();
    return server;
  }

  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port; resolves once it answers PING. */
  async resume(): Promise<void> {
    if (this.child) return;
    const { tls: secure } = this.options;
    const ports = secure
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', secure.cert, '--tls-key-file', secure.key, '--tls-ca-cert-file', secure.cert, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    const args = [...ports, '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    for (const [name, value] of Object.entries(this.options.config ?? {})) args.push(`--${name}`, ...(Array.isArray(value) ? value : [value]));
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${this.output.slice(-2000)}`);
      if (await this.answersPing()) return;
      if (Date.now() - started > 15_000) throw new Error(`redis-server did not answer on port ${this.port}:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills the server at once (as a crash would), keeping its port for `resume`. */
  async pause(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Freezes the server (SIGSTOP): its connections stay open and nothing is answered, as a hung host. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.pause();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** One command in RESP, on a connection of its own: what a test reads or sets beside the nodes. */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const secure = this.options.tls;
      const socket = secure ? tls.connect({ port: this.port, host: '127.0.0.1', ca: fs.readFileSync(secure.cert) }) : net.connect(this.port, '127.0.0.1');
      let reply = '';
      socket.setTimeout(5000, () => socket.destroy(new Error('redis command timed out')));
      socket.on('data', (chunk) => {
        reply += chunk.toString('utf8');
        if (reply.endsWith('\r\n') && complete(reply)) {
          socket.end();
          resolve(reply);
        }
      });
      socket.on('error', reject);
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    });
  }

  private async answersPing(): Promise<boolean> {
    try {
      return (await this.command('PING')).startsWith('+PONG');
    } catch {
      return false;
    }
  }
}

/** Whether a reply is whole: a simple reply, or an array / bulk string whose parts have all come. */
function complete(reply: string): boolean {
  if (!reply.startsWith('*')) return !reply.startsWith('$') || reply.split('\r\n').length >= 3 || reply.startsWith('$-1');
  const count = Number(reply.slice(1, reply.indexOf('\r\n')));
  // every element of the arrays the tests read (KEYS, CONFIG GET) is a bulk string: two lines each
  return count <= 0 || reply.split('\r\n').length - 2 >= count * 2;
}
