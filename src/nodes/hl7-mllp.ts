import { MllpConnection, mllpPropertiesSchema } from '../lib/formats/hl7v2';
import { mllpMetrics } from '../lib/metrics';
import { describeIssues } from '../lib/zod-helpers';
import type { ClientConfigNode } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * An MLLP connection to a hospital's HL7 v2 interface engine (config node): host, port, TLS,
 * timeout and charset. It owns one MllpConnection (src/lib/formats/hl7v2/connection.ts), which
 * every hl7-send that selects it shares: the socket opens when the first of them starts (an
 * unused connection opens none), reconnects with backoff after a loss, and is closed when the
 * config node is stopped or redeployed.
 */

export = function register(RED: NodeRedApi): void {
  registerNode(RED, 'hl7-mllp', function Hl7MllpNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this as RuntimeNode & ClientConfigNode<MllpConnection>;
    const parsed = mllpPropertiesSchema.safeParse(config);
    if (!parsed.success) {
      node.configError = RED._('hl7-mllp.errors.invalid-config', { issues: describeIssues(parsed.error) });
      return;
    }
    const { host, port, tls, timeout, charset } = parsed.data;
    const connection = new MllpConnection({ host, port, tls, charset, timeoutMs: Math.round(timeout * 1000) });
    // every hl7-send that uses it listens to its state: no limit on how many
    connection.setMaxListeners(0);
    node.client = connection;
    // its state for /metrics, the admin API and the sidebar (the address is no secret: every
    // hl7-send's status shows it)
    const leave = mllpMetrics(String(config.id), typeof config.name === 'string' ? config.name : '', connection.address, () => connection.state.state);
    node.on('close', (_removed, done) => {
      leave();
      connection.close().then(() => done(), () => done());
    });
  });
};
