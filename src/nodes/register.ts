import path from 'node:path';
import { migrateConfig } from '../lib/config-version';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';

type NodeConstructor = (this: RuntimeNode, config: NodeConfig) => void;

/**
 * `RED.nodes.registerType` for every node of this package: the node is built from its saved
 * properties brought up to the current configuration version (src/lib/config-version.ts), so a
 * flow saved by an earlier release loads unchanged.
 */
export function registerNode(
  RED: NodeRedApi,
  type: string,
  constructor: NodeConstructor,
  options?: Parameters<NodeRedApi['nodes']['registerType']>[2],
): void {
  RED.nodes.registerType(
    type,
    function (this: RuntimeNode, config: NodeConfig) {
      // Into Node-RED's own object: it carries hidden properties (the node's flow) that a copy would lose.
      constructor.call(this, Object.assign(config, migrateConfig(type, config)));
    },
    options,
  );
}

/**
 * Where a node keeps what must survive a restart: `<userDir>/health-bridge/<kind>-<node id>`
 * (`<kind>-<id>.json` for a file). Where Node-RED runs without a user directory (an embedded
 * runtime): under `fallbackDir` if given, else undefined (nothing is kept).
 */
export function statePath(RED: NodeRedApi, kind: string, id: string, extension = '', fallbackDir?: string): string | undefined {
  const base = typeof RED.settings.userDir === 'string' ? RED.settings.userDir : fallbackDir;
  return base ? path.join(base, 'health-bridge', `${kind}-${id.replace(/[^\w.-]/g, '_')}${extension}`) : undefined;
}
