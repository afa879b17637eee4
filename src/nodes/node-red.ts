import type { HttpApp, HttpNodeSettings } from '../lib/receiver/route';

/**
 * The slice of Node-RED's runtime API these nodes use. Node-RED ships no types of its own and
 * @types/node-red trails the runtime, so the few calls we make are declared here.
 */

export interface NodeMessage {
  _msgid?: string;
  [property: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface ContextStore {
  get(key: string, store: string | undefined, callback: (error: Error | null, value: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (error: Error | null) => void): void;
}

export interface RuntimeNode {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  send(message: NodeMessage | Array<NodeMessage | NodeMessage[] | null>): void;
  error(error: unknown, message?: NodeMessage): void;
  warn(text: string): void;
  /** An info line in the log. */
  log(text: string): void;
  status(status: NodeStatus): void;
  context(): ContextStore;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  on(
    event: 'input',
    listener: (message: NodeMessage, send: (message: NodeMessage) => void, done: (error?: unknown) => void) => void,
  ): void;
}

export interface NodeConfig {
  id: string;
  type: string;
  name?: string;
  [property: string]: unknown;
}

export interface NodeRedApi {
  nodes: {
    createNode(node: RuntimeNode, config: NodeConfig): void;
    registerType(
      type: string,
      constructor: (this: RuntimeNode, config: NodeConfig) => void,
      options?: { credentials?: Record<string, { type: 'text' | 'password' }> },
    ): void;
    /** The running node (e.g. a config node) with this id, or null. */
    getNode(id: string): unknown;
  };
  util: {
    cloneMessage<T extends NodeMessage>(message: T): T;
  };
  settings: HttpNodeSettings & Record<string, unknown>;
  /** The runtime's events (`flows:started` once every node of a deploy exists). */
  events?: {
    once(event: string, listener: (...args: unknown[]) => void): void;
    removeListener(event: string, listener: (...args: unknown[]) => void): void;
  };
  httpNode: HttpApp;
  _(key: string, substitutions?: Record<string, unknown>): string;
}
