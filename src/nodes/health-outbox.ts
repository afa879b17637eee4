import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/** health-outbox (SPEC §8). Skeleton: the runtime is being written. */
export = function register(RED: NodeRedApi): void {
  registerNode(RED, 'health-outbox', function HealthOutboxNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
  });
};
