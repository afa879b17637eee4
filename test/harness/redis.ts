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
    return redisCommand(this.port, this.options.tls?.cert, args);
  }

  private async answersPing(): Promise<boolean> {
    try {
      return (await this.command('PING')).startsWith('+PONG');
    } catch {
      return false;
    }
  }
}

/** One command in RESP to 127.0.0.1:`port` (TLS with `caFile`), on a connection of its own. */
function redisCommand(port: number, caFile: string | undefined, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = caFile ? tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(caFile) }) : net.connect(port, '127.0.0.1');
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

/**
 * A primary, one replica of it and one Sentinel watching them (quorum 1, the primary judged down
 * after a second without an answer), each its own redis-server process on a free port. Debian's
 * `redis-server <conf> --sentinel` is the Sentinel: it rewrites its conf file, kept in its own
 * temporary directory. Resolves once the Sentinel knows the replica (it can fail over then).
 */
export class RedisSentinelGroup {
  private output = '';

  private constructor(
    readonly name: string,
    readonly primary: RedisServer,
    readonly replica: RedisServer,
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(name = 'mymaster'): Promise<RedisSentinelGroup> {
    const primary = await RedisServer.start();
    const replica = await RedisServer.start({ config: { replicaof: ['127.0.0.1', String(primary.port)] } });
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-sentinel-'));
    const conf = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    const child = spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const group = new RedisSentinelGroup(name, primary, replica, port, dir, child);
    child.stdout?.on('data', (chunk: Buffer) => (group.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (group.output += chunk.toString('utf8')));
    // the Sentinel learns of replicas from the primary's INFO, read every 10 s at first
    await group.waitUntil(async () => /,slaves=1,/.test(await group.command('INFO', 'sentinel')), 60_000, 'the Sentinel knows the replica');
    return group;
  }

  /** `host:port` of the Sentinel, as the health-redis `sentinels` property takes it. */
  get sentinels(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** One command to the Sentinel. */
  command(...args: string[]): Promise<string> {
    return redisCommand(this.port, undefined, args);
  }

  /** The port of the server the Sentinel names as primary now. */
  async primaryPort(): Promise<number> {
    const reply = await this.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
    return Number(reply.split('\r\n')[4]);
  }

  /**
   * Asks the Sentinel to fail over (retried while the replica is not yet fit), and waits until the
   * replica is primary and the former primary its replica: a forced failover leaves the old primary
   * writable for some seconds (the Sentinel demotes it later), when a write there would be lost.
   */
  async failover(timeoutMs = 90_000): Promise<void> {
    await this.waitUntil(async () => (await this.command('SENTINEL', 'FAILOVER', this.name)).startsWith('+OK'), timeoutMs, 'the Sentinel accepts FAILOVER');
    await this.waitUntil(
      async () => (await this.primaryPort()) === this.replica.port && /role:master/.test(await this.replica.command('INFO', 'replication')),
      timeoutMs,
      'the replica promoted',
    );
    await this.waitUntil(async () => /role:slave/.test(await this.primary.command('INFO', 'replication')), timeoutMs, 'the former primary demoted');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    await Promise.all([this.primary.stop(), this.replica.stop()]);
  }

  private async waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the Sentinel exited (${this.child.exitCode}):\n${this.output.slice(-2000)}`);
      if (await condition().catch(() => false)) return;
      if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
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
