import { errorText, ExpeedError, type ExpeedAccount, type ExpeedAccountHandle } from '../lib/vendors/expeed';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Hands out the account's access token (`{accessToken, expiresAt}`) for the Expeed endpoints we
 * do not wrap: an `http request` node sets it as the `access_token` header. It is the same cached
 * token the other Expeed nodes use, so it costs a token call only when that one is due.
 */
export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-bridge-expeed.${key}`, params);

  registerNode(RED, 'expeed-token', function ExpeedTokenNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const accountOf = (): ExpeedAccount => {
      const account = RED.nodes.getNode(String(config.account ?? '')) as ExpeedAccountHandle | null;
      if (account?.configError) throw new Error(account.configError);
      if (!account?.expeed) throw new ExpeedError('no-account');
      return account.expeed;
    };

    node.on('input', (msg, send, done) => {
      (async () => {
        const token = await accountOf().token();
        msg.payload = { accessToken: token.accessToken, expiresAt: new Date(token.expiresAt).toISOString() };
        node.status({ fill: 'green', shape: 'dot', text: t('status.token', { time: new Date(token.expiresAt).toISOString() }) });
        send(msg);
        done();
      })().catch((error: unknown) => {
        const text = errorText(error, t);
        node.status({ fill: 'red', shape: 'ring', text });
        done(new Error(text));
      });
    });
  });
};
