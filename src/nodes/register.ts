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
