// A real Node-RED for the benchmark, started the way the tests start theirs (test/harness/node-red.ts)
// but standalone: a temporary user directory with this checkout linked in as
// node_modules/@health-bridge/node-red-nodes, a settings file, red.js forked from
// node_modules/node-red, and flows deployed through the admin API as the editor does.
//
// The console logs at `warn` only, so that logging costs nothing under load. The runner still
// has to know when the flows have started, which Node-RED says at `info`: a second logger at
// `info` forwards just those lines over the fork's IPC channel.
import { fork } from 'node:child_process';

const BENCH_AT_REST_KEY = 'b3c1d2e4f5a6978812345678abcdef0123456789abcdef0123456789abcdef01';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export function nodeRedVersion() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'node-red', 'package.json'), 'utf8')).version;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Lines of Node-RED's `info` log the runner waits for; nothing else crosses the IPC channel. */
const FORWARDED = /^(Started (modified )?(flows|nodes)|Stopped (modified )?(flows|nodes)|Waiting for missing types|Server now running)/;

function settingsSource(port, extra = '') {
  return `module.exports = {${extra}
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: 'health-bridge-bench',
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  logging: {
    console: { level: 'warn', metrics: false, audit: false },
    benchRunner: {
      level: 'info',
      metrics: false,
      audit: false,
      handler() {
        const forwarded = ${FORWARDED};
        return (entry) => {
          const text = String(entry.msg);
          if (process.send && forwarded.test(text)) process.send({ type: 'bench-log', text });
        };
      },
    },
  },
};
`;
}

export class NodeRed {
  /**
   * @param {{ execArgv?: string[], cwd?: string, packageDir?: string, settings?: string }} [options]
   *   execArgv for the Node-RED process (e.g. --cpu-prof); cwd is where a CPU profile lands when
   *   no --cpu-prof-dir is given; packageDir is the package to link in (this checkout unless
   *   told); settings, more properties of settings.js as source text (`name: value,` lines).
   */
  static async start(options = {}) {
    // options.userDir: start again on what an earlier run left (its flows, an outbox's files)
    const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-node-red-'));
    const scope = path.join(userDir, 'node_modules', '@health-bridge');
    fs.mkdirSync(scope, { recursive: true });
    if (!fs.existsSync(path.join(scope, 'node-red-nodes'))) fs.symlinkSync(options.packageDir ?? ROOT, path.join(scope, 'node-red-nodes'), 'dir');
    const port = await freePort();
    const settingsFile = path.join(userDir, 'settings.js');
    fs.writeFileSync(settingsFile, settingsSource(port, options.settings ? `\n  ${options.settings}` : ''));
    const child = fork(path.join(ROOT, 'node_modules', 'node-red', 'red.js'), ['--userDir', userDir, '--settings', settingsFile], {
      silent: true,
      execArgv: options.execArgv ?? [],
      cwd: options.cwd ?? userDir,
      // a fixed at-rest key: the bench's outboxes encrypt as shipped
      env: { ...process.env, HEALTH_BRIDGE_KEY: BENCH_AT_REST_KEY, NODE_RED_HOME: userDir, ...options.env },
    });
    const nodeRed = new NodeRed(child, port, userDir);
    await nodeRed.waitFor(() => nodeRed.count(/^Server now running/) > 0 || nodeRed.exited, 60_000, 'Node-RED start');
    if (nodeRed.exited) throw new Error(`Node-RED exited while starting:\n${nodeRed.output}`);
    await nodeRed.waitFor(() => nodeRed.count(/^(Started flows|Waiting for missing types)/) > 0, 30_000, 'Node-RED flows started');
    return nodeRed;
  }

  constructor(child, port, userDir) {
    this.child = child;
    this.port = port;
    this.userDir = userDir;
    this.output = '';
    this.lines = [];
    this.exited = false;
    this.listeners = new Set();
    const collect = (chunk) => {
      // Only the tail is kept: a long run must not grow this process.
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
      this.notify();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('message', (message) => {
      if (message?.type === 'bench-log') this.lines.push(message.text);
      this.notify();
    });
    child.on('exit', () => {
      this.exited = true;
      this.notify();
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What Node-RED printed (warnings and errors only), last 20,000 characters. */
  get log() {
    return this.output;
  }

  /** Deploys `flow` (a full deploy, as the editor's Deploy button) and waits until it runs. */
  async deploy(flow) {
    const started = this.count(/^Started (modified )?(flows|nodes)/);
    const response = await fetch(`${this.url}/flows`, {
      method: 'POST',
      body: JSON.stringify(flow),
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' },
    });
    if (response.status >= 300) throw new Error(`deploy failed: ${response.status} ${await response.text()}`);
    await this.waitFor(
      () => this.count(/^Started (modified )?(flows|nodes)/) > started || this.count(/^Waiting for missing types/) > 0,
      30_000,
      'deployed flows started',
    );
    if (this.count(/^Waiting for missing types/) > 0) throw new Error(`the flow uses node types Node-RED does not have:\n${this.output}`);
  }

  /** Ends Node-RED the way Ctrl-C does (a CPU profile is written on that exit); `keep`: leave its user directory. */
  async stop({ keep = false } = {}) {
    if (!this.exited) {
      this.child.kill('SIGINT');
      await this.waitFor(() => this.exited, 30_000, 'Node-RED exit').catch(() => this.child.kill('SIGKILL'));
    }
    if (!keep) fs.rmSync(this.userDir, { recursive: true, force: true });
  }

  count(pattern) {
    return this.lines.filter((line) => pattern.test(line)).length;
  }

  notify() {
    for (const listener of this.listeners) listener();
  }

  waitFor(condition, timeoutMs, what) {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}\n--- Node-RED output (tail) ---\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}

/** Gives flow nodes a position: Node-RED treats a node without x/y as a config node. */
export function placed(nodes) {
  return nodes.map((node, index) => (node.type === 'tab' ? node : { x: 200 + 250 * (index % 3), y: 40 + 40 * index, ...node }));
}
