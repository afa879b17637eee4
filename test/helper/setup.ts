import path from 'node:path';
import { NODE_RED_MAJOR } from '../harness/node-red';

/**
 * What every helper-based test shares: node-red-node-test-helper on the Node-RED the suite runs
 * (`node-red`, or the `node-red-5` alias under HB_NODE_RED=5), our nodes from the compiled output
 * (dist/nodes, built by `npm run build`), and a way to wait for a node's call to `error`,
 * `warn`, `status` or `send` whether it came before or after the test started listening.
 *
 * The helper runs the nodes in this process on a mock runtime: messages, statuses, errors and
 * `done` are real, HTTP into the receivers is not (see README, "Tests").
 */

export const helper: Helper = require('node-red-node-test-helper');
helper.init(require.resolve(NODE_RED_MAJOR === 5 ? 'node-red-5' : 'node-red'));

/** The checkout: build/test/helper/setup.js → three levels up. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

export type NodeModule = (RED: any) => void;

/** A node of this package as Node-RED loads it: dist/nodes/<type>.js. */
export function ourNode(type: string): NodeModule {
  return require(path.join(ROOT, 'dist', 'nodes', `${type}.js`));
}

/**
 * The helper's `RED._` gives back the bare key and drops the substitutions. This one keeps them,
 * as `key {"param":"value"}`, so a test can see which property an error names without depending
 * on the English of the locale files.
 */
export function keepingParameters(module: NodeModule): NodeModule {
  return (RED) => {
    RED._ = (key: string, params?: Record<string, unknown>): string =>
      params && Object.keys(params).length > 0 ? `${key} ${JSON.stringify(params)}` : key;
    return module(RED);
  };
}

export const nodes = (...types: string[]): NodeModule[] => types.map((type) => keepingParameters(ourNode(type)));

/** A tab, and a Catch node on it whose output goes to the helper node `caught`. */
export const TAB = 'f1';
export const catchAll = (): FlowNode[] => [
  { id: TAB, type: 'tab', label: 'test' },
  { id: 'catcher', z: TAB, type: 'catch', name: '', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', z: TAB, type: 'helper' },
];

export type FlowNode = { id: string; type: string; z?: string; wires?: string[][] } & Record<string, unknown>;
export type Method = 'error' | 'warn' | 'status' | 'send' | 'log';

export interface SpyCall {
  args: any[];
  thisValue: unknown;
}

export interface Helper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  startServer(done: (error?: unknown) => void): Promise<void>;
  stopServer(done: (error?: unknown) => void): Promise<void>;
  load(
    modules: NodeModule | NodeModule[],
    flow: FlowNode[],
    credentials: Record<string, Record<string, string>>,
    done: (error?: unknown) => void,
  ): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): any;
  settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
}

/** Every call so far of `method` on this node (the helper spies on Node.prototype). */
export function callsOf(node: any, method: Method): SpyCall[] {
  return (node[method].getCalls() as SpyCall[]).filter((call) => call.thisValue === node);
}

/**
 * The first call of `method` on this node: at once if it happened already (e.g. an error reported
 * while the flow started), else when it happens. Rejects after `ms`.
 */
export function firstCall(node: any, method: Method, ms = 2000): Promise<SpyCall> {
  const earlier = callsOf(node, method)[0];
  if (earlier) return Promise.resolve(earlier);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.type} ${node.id}: no ${method} within ${ms} ms`)), ms);
    node.once(`call:${method}`, (call: SpyCall) => {
      clearTimeout(timer);
      resolve(call);
    });
  });
}

/** The next message the helper node `id` receives. */
export function nextMessage(id: string, ms = 2000): Promise<Record<string, any>> {
  const node = helper.getNode(id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id}: no message within ${ms} ms`)), ms);
    node.once('input', (msg: Record<string, any>) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Fails if the helper node `id` receives a message within `ms`. */
export function noMessage(id: string, ms = 100): Promise<void> {
  const node = helper.getNode(id);
  return new Promise((resolve, reject) => {
    const fail = (msg: unknown): void => reject(new Error(`${id} received ${JSON.stringify(msg)}`));
    node.once('input', fail);
    setTimeout(() => {
      node.removeListener('input', fail);
      resolve();
    }, ms);
  });
}

/** The usual hooks of a helper test file, with done callbacks as mocha wants them on Node 22. */
export function useHelper(): void {
  before(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.unload().then(() => done(), done);
  });
  after(function (done) {
    helper.stopServer(done);
  });
}

/**
 * Loads a flow; resolves once it has started. The helper throws some errors before it reaches its
 * callback (e.g. "catch already registered" for a second Catch node), so its promise is watched too.
 */
export function load(modules: NodeModule[], flow: FlowNode[], credentials: Record<string, Record<string, string>> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    helper.load(modules, flow, credentials, (error) => (error ? reject(error) : resolve())).catch(reject);
  });
}
