import { describeIssues } from '../lib/receiver/config';
import { createViatomClient, isViatomTestHost, viatomAccountSchema, type ViatomClient } from '../lib/vendors/viatom';
import type { ClientConfigNode } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * The Viatom open-platform account (config node): host, language and timeout as properties, the
 * `secret` and `access-token` Viatom issued as credentials. Nodes that call the platform
 * (`viatom-auth`) get its client through `configClient`. The default host is the one Viatom's
 * document calls its test host: an account deployed with it says so once in the log.
 */

export = function register(RED: NodeRedApi): void {
  registerNode(
    RED,
    'viatom-account',
    function ViatomAccount(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const node = this as RuntimeNode & ClientConfigNode<ViatomClient>;
      const parsed = viatomAccountSchema.safeParse(config);
      if (!parsed.success) {
        node.configError = RED._('viatom-account.errors.invalid-config', { issues: describeIssues(parsed.error) });
        return;
      }
      // once per deploy, not per call: the host (never a credential) is Viatom's test host
      if (isViatomTestHost(parsed.data.host)) {
        node.warn(RED._('viatom-account.warn.test-host', { host: parsed.data.host }));
      }
      node.client = createViatomClient({
        ...parsed.data,
        secret: node.credentials?.secret || undefined,
        accessToken: node.credentials?.accessToken || undefined,
      });
    },
    { credentials: { secret: { type: 'password' }, accessToken: { type: 'password' } } },
  );
};
