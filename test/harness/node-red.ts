import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { request } from './http';

/**
 * A real Node-RED process for the tests: its own user directory, settings file and port, our
 * package installed into it (a link to this checkout, or an `npm pack` tarball), flows deployed
 * through the admin API exactly as the editor does. Messages reach the test through the
 * `test-sink` node (test/fixtures/nodes), which forwards what it receives over the IPC channel;
 * `inject` sends a message from a `test-source` node the same way in the other direction.
 *
 * HB_NODE_RED=5 runs Node-RED 5 (the `node-red-5` alias) instead of 4; the Node version is
 * whatever runs the tests.
 */

export const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURE_NODES = path.join(ROOT, 'test', 'fixtures', 'nodes');

export const NODE_RED_MAJOR = process.env.HB_NODE_RED === '5' ? 5 : 4;
const NODE_RED_PACKAGE = NODE_RED_MAJOR === 5 ? 'node-red-5' : 'node-red';

export interface SinkMessage {
  /** The `name` of the test-sink node that received it. */
  sink: string;
  msg: Record<string, any>;
  /** Node-RED's heap when the sink received it. */
  heapUsed: number;
}

export interface StartOptions {
  /** Extra settings (JSON-able); merged over the harness defaults. */
  settings?: Record<string, unknown>;
  /** Extra settings written as JavaScript (functions such as httpNodeMiddleware). */
  settingsSource?: string;
  /** Reuse a user directory (a restart); a new temporary one otherwise. */
  userDir?: string;
  /** false: do not link this checkout into the user directory (the package is installed). */
  linkPackage?: boolean;
  /** Console log level; `debug` by default so that log tests see as much as possible. */
  logLevel?: string;
  /**
   * Environment of the Node-RED process over the test's own. `HEALTH_BRIDGE_KEY` (the key of
   * patients' data at rest) is TEST_AT_REST_KEY unless given here; undefined removes a variable.
   */
  env?: Record<string, string | undefined>;
  /**
   * Node-RED's `adminAuth` on, with these users (passwords in clear here, bcrypt-hashed into the
   * settings as the docs show). The harness deploys with a token of the first user, which needs
   * the `*` permission.
   */
  adminUsers?: AdminUser[];
}

export interface AdminUser {
  username: string;
  password: string;
  /** `*`, `read`, or a list such as ['read', 'health-bridge.write']. */
  permissions: string | string[];
}

/** The at-rest key every test's Node-RED gets by default (tests only: a real one is secret). */
export const TEST_AT_REST_KEY = '5e1f0c2b9a7d4e3f8a6b1c0d2e4f6a8b9c7d5e3f1a2b4c6d8e0f1a3b5c7d9e1f';

function childEnv(userDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HEALTH_BRIDGE_KEY: TEST_AT_REST_KEY, NODE_RED_HOME: userDir };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export class NodeRed {
  readonly messages: SinkMessage[] = [];
  private output = '';
  private exited = false;
  private readonly listeners = new Set<() => void>();
  private readonly barriersPassed = new Set<number>();
  private nextBarrier = 0;
  /** Under adminAuth: the token deploys are made with. */
  private deployToken: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly userDir: string,
    private readonly options: StartOptions,
  ) {
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
      this.notify();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('message', (message: any) => {
      if (message?.type === 'sink') this.messages.push({ sink: message.sink, msg: message.msg, heapUsed: message.heapUsed });
      if (message?.type === 'barrier') this.barriersPassed.add(message.id);
      this.notify();
    });
    child.on('exit', () => {
      this.exited = true;
      this.notify();
    });
  }

  static async start(options: StartOptions = {}): Promise<NodeRed> {
    const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hb-node-red-'));
    const port = await freePort();
    if (options.linkPackage !== false) {
      const scope = path.join(userDir, 'node_modules', '@health-bridge');
      fs.mkdirSync(scope, { recursive: true });
      const link = path.join(scope, 'node-red-nodes');
      if (!fs.existsSync(link)) fs.symlinkSync(ROOT, link, 'dir');
    }
    const settings = {
      uiHost: '::',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: 'health-bridge-test-credential-secret',
      nodesDir: [FIXTURE_NODES],
      logging: { console: { level: options.logLevel ?? 'debug', metrics: false, audit: false } },
      telemetry: { enabled: false },
      editorTheme: { tours: false },
      ...(options.adminUsers && {
        adminAuth: {
          type: 'credentials',
          users: options.adminUsers.map(({ username, password, permissions }) => ({ username, password: bcrypt.hashSync(password, 8), permissions })),
        },
      }),
      ...options.settings,
    };
    const settingsFile = path.join(userDir, 'settings.js');
    fs.writeFileSync(
      settingsFile,
      `module.exports = Object.assign(${JSON.stringify(settings, null, 2)}, {\n${options.settingsSource ?? ''}\n});\n`,
    );
    const redJs = path.join(ROOT, 'node_modules', NODE_RED_PACKAGE, 'red.js');
    const child = fork(redJs, ['--userDir', userDir, '--settings', settingsFile], {
      silent: true,
      env: childEnv(userDir, options.env),
    });
    const nodeRed = new NodeRed(child, port, userDir, options);
    try {
      await nodeRed.waitFor(() => /Server now running/.test(nodeRed.output) || nodeRed.exited, 30_000, 'Node-RED start');
      if (nodeRed.exited) throw new Error(`Node-RED exited while starting:\n${nodeRed.output}`);
      // The server listens before the flows start; a deploy must not be confused with that start.
      // (Both lines are info: a logLevel above info would make this wait time out.)
      await nodeRed.waitFor(
        () => /Server now running/.test(nodeRed.output) && /Started flows|Waiting for missing types/.test(nodeRed.output),
        30_000,
        'Node-RED flows started',
      );
      const [deployer] = options.adminUsers ?? [];
      if (deployer) nodeRed.deployToken = await nodeRed.token(deployer.username, deployer.password);
    } catch (error) {
      // A Node-RED left running would keep mocha from ever exiting.
      child.kill('SIGKILL');
      throw error;
    }
    return nodeRed;
  }

  /**
   * An admin API token for `username` under adminAuth, asked for as the editor's login does
   * (POST /auth/token, the password grant of the editor's client).
   */
  async token(username: string, password: string): Promise<string> {
    const response = await request(`${this.url}/auth/token`, {
      method: 'POST',
      body: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password },
    });
    const token = (response.json as { access_token?: unknown } | undefined)?.access_token;
    if (response.status !== 200 || typeof token !== 'string') throw new Error(`no token for ${username}: ${response.status} ${response.text}`);
    return token;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the process printed so far (its log). */
  get logs(): string {
    return this.output;
  }

  /** Deploys `flow` (node objects, credentials inline as the editor sends them) and waits for it. */
  async deploy(flow: object[], type: 'full' | 'nodes' | 'flows' = 'full'): Promise<void> {
    const startedBefore = this.count(/Started (modified )?(flows|nodes)/g);
    const response = await request(`${this.url}/flows`, {
      method: 'POST',
      body: JSON.stringify(flow),
      headers: {
        'content-type': 'application/json', 'Node-RED-Deployment-Type': type, 'Node-RED-API-Version': 'v1',
        ...(this.deployToken && { authorization: `Bearer ${this.deployToken}` }),
      },
    });
    if (response.status >= 300) throw new Error(`deploy failed: ${response.status} ${response.text}`);
    await this.waitFor(() => this.count(/Started (modified )?(flows|nodes)/g) > startedBefore, 10_000, 'flows started');
  }

  /** Waits until `count` messages reached sinks (optionally one sink) and returns them. */
  async waitForMessages(count: number, sink?: string, timeoutMs = 5000): Promise<SinkMessage[]> {
    const matching = (): SinkMessage[] => this.messages.filter((m) => sink === undefined || m.sink === sink);
    await this.waitFor(() => matching().length >= count, timeoutMs, `${count} message(s) at ${sink ?? 'any sink'}`);
    return matching();
  }

  /** Lets in-flight messages land, then returns what a sink has (for "exactly N" checks). */
  async settledMessages(sink?: string, quietMs = 300): Promise<SinkMessage[]> {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    return this.messages.filter((m) => sink === undefined || m.sink === sink);
  }

  /** Sends `msg` from the test-source node named `source`, as an inject node would. */
  inject(source: string, msg: Record<string, unknown>): void {
    this.child.send({ type: 'inject', source, msg });
  }

  /**
   * Forgets the messages received so far, after a round trip over the IPC channel so that a
   * message the previous test caused but did not wait for cannot arrive after the clear.
   */
  async clearMessages(): Promise<void> {
    const id = this.nextBarrier++;
    this.child.send({ type: 'barrier', id });
    await this.waitFor(() => this.barriersPassed.has(id), 5000, 'IPC barrier');
    this.barriersPassed.delete(id);
    this.messages.length = 0;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGINT');
    await this.waitFor(() => this.exited, 15_000, 'Node-RED exit').catch(() => this.child.kill('SIGKILL'));
  }

  /** `kill -9`: no close handler runs, nothing is flushed (a crash, a power cut of the process). */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.waitFor(() => this.exited, 15_000, 'Node-RED exit');
  }

  /** Starts Node-RED again on the same user directory after `stop` or `kill`. */
  startAgain(): Promise<NodeRed> {
    return NodeRed.start({ ...this.options, userDir: this.userDir });
  }

  /** Stops and starts Node-RED again on the same user directory (flows, credentials, context). */
  async restart(): Promise<NodeRed> {
    await this.stop();
    return this.startAgain();
  }

  private count(pattern: RegExp): number {
    return this.output.match(pattern)?.length ?? 0;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}\n--- Node-RED log (tail) ---\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}

/**
 * One Node-RED for a describe block: started before its tests, stopped after them, its sink
 * messages cleared before each test. The returned object stands for the running instance.
 */
export function useNodeRed(options: StartOptions = {}): NodeRed {
  let instance: NodeRed | undefined;
  before(async function () {
    this.timeout(60_000);
    instance = await NodeRed.start(options);
  });
  after(async function () {
    await instance?.stop();
  });
  beforeEach(async function () {
    await instance?.clearMessages();
  });
  return new Proxy({} as NodeRed, {
    get(_target, property) {
      if (!instance) throw new Error('Node-RED has not started yet: use it inside a hook or a test');
      const value: unknown = Reflect.get(instance, property, instance);
      return typeof value === 'function' ? value.bind(instance) : value;
    },
  });
}
