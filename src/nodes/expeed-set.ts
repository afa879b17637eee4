import { describeIssues } from '../lib/receiver/config';
import { deviceOf, ExpeedError, setConfigSchema, type ExpeedAccountClient } from '../lib/vendors/expeed';
import { requireConfigClient, runAction, translator } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Sends `msg.payload` to an Expeed device as its settings. The platform answers at once with a
 * `message_id` and pushes the device's result later to the registered URL; with `waitSeconds`
 * above 0 this node waits until an expeed-in of the same account receives that result.
 */
export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-bridge-expeed');

  registerNode(
    RED,
    'expeed-set',
    function ExpeedSetNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const parsed = setConfigSchema.safeParse({ ...config, ...this.credentials });

      runAction(RED, this, { translate: t }, async (msg, { status, signal }) => {
        if (!parsed.success) throw new Error(t('errors.invalid-config', { issues: describeIssues(parsed.error) }));
        const settings = parsed.data;
        const { api } = requireConfigClient<ExpeedAccountClient>(RED, config.account, 'expeed-account');
        const { deviceId, deviceKey } = deviceOf(settings, msg);
        const body = msg.payload;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ExpeedError('settings-not-object');
        const messageId = await api.setting(deviceId, deviceKey, body);
        if (settings.waitSeconds === 0) {
          msg.payload = { messageId, accepted: true };
          return { status: { fill: 'green', shape: 'dot', text: t('status.accepted', { messageId }) }, send: msg };
        }
        status({ fill: 'blue', shape: 'ring', text: t('status.waiting', { messageId }) });
        const wait = api.settings.wait(
          messageId,
          settings.waitSeconds * 1000,
          () => new ExpeedError('setting-timeout', { messageId, seconds: settings.waitSeconds }),
        );
        // A redeploy ends the wait with the node's `closed` error.
        const cancel = (): void => wait.cancel(signal.reason);
        signal.addEventListener('abort', cancel);
        const result = await wait.result.finally(() => signal.removeEventListener('abort', cancel));
        if (!result.success) throw new ExpeedError('setting-failed', { messageId, setResult: result.setResult });
        msg.payload = { messageId, success: true };
        return { status: { fill: 'green', shape: 'dot', text: t('status.applied', { messageId }) }, send: msg };
      });
    },
    { credentials: { deviceKey: { type: 'password' } } },
  );
};
