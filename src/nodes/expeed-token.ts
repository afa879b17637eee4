import type { ExpeedAccountClient } from '../lib/vendors/expeed';
import { requireConfigClient, runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Hands out the account's access token (`{accessToken, expiresAt}`) for the Expeed endpoints we
 * do not wrap: an `http request` node sets it as the `access_token` header. It is the same cached
 * token the other Expeed nodes use, so it costs a token call only when that one is due.
 */
export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-bridge-expeed');

  registerNode(RED, 'expeed-token', function ExpeedTokenNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    runAction(RED, this, { translate: t }, async (msg) => {
      const { api } = requireConfigClient<ExpeedAccountClient>(RED, config.account, 'expeed-account');
      const token = await api.token();
      const expiresAt = new Date(token.expiresAt).toISOString();
      msg.payload = { accessToken: token.accessToken, expiresAt };
      return { status: { fill: 'green', shape: 'dot', text: t('status.token', { time: expiresAt }) }, send: msg };
    });
  });
};
