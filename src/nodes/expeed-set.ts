import { describeIssues } from '../lib/receiver/config';
import { deviceOf, errorText, ExpeedError, setConfigSchema, type ExpeedAccount, type ExpeedAccountHandle } from '../lib/vendors/expeed';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Sends `msg.payload` to an Expeed device as its settings. The platform answers at once with a
 * `message_id` and pushes the device's result later to the registered URL; with `waitSeconds`
 * above 0 this node waits until an expeed-in of the same account receives that result.
 */
export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-bridge-expeed.${key}`, params);

  registerNode(
    RED,
    'expeed-set',
    function ExpeedSetNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const node = this;
      const parsed = setConfigSchema.safeParse({ ...config, ...node.credentials });
      const waits = new Set<(error: unknown) => void>();
      const accountOf = (): ExpeedAccount => {
        const account = RED.nodes.getNode(String(config.account ?? '')) as ExpeedAccountHandle | null;
        if (account?.configError) throw new Error(account.configError);
        if (!account?.expeed) throw new ExpeedError('no-account');
        return account.expeed;
      };

      node.on('input', (msg, send, done) => {
        (async () => {
          if (!parsed.success) throw new Error(t('errors.invalid-config', { issues: describeIssues(parsed.error) }));
          const settings = parsed.data;
          const account = accountOf();
          const { deviceId, deviceKey } = deviceOf(settings, msg);
          const body = msg.payload;
          if (body === null || typeof body !== 'object' || Array.isArray(body)) {
            throw new ExpeedError('bad-input', { issues: 'msg.payload must be an object of settings' });
          }
          const messageId = await account.setting(deviceId, deviceKey, body);
          if (settings.waitSeconds === 0) {
            msg.payload = { messageId, accepted: true };
            node.status({ fill: 'green', shape: 'dot', text: t('status.accepted', { messageId }) });
            send(msg);
            return;
          }
          node.status({ fill: 'blue', shape: 'ring', text: t('status.waiting', { messageId }) });
          const wait = account.settings.wait(
            messageId,
            settings.waitSeconds * 1000,
            () => new ExpeedError('setting-timeout', { messageId, seconds: settings.waitSeconds }),
          );
          waits.add(wait.cancel);
          const result = await wait.result.finally(() => waits.delete(wait.cancel));
          if (!result.success) throw new ExpeedError('setting-failed', { messageId, setResult: result.setResult });
          msg.payload = { messageId, success: true };
          node.status({ fill: 'green', shape: 'dot', text: t('status.applied', { messageId }) });
          send(msg);
        })().then(
          () => done(),
          (error: unknown) => {
            const text = errorText(error, t);
            node.status({ fill: 'red', shape: 'ring', text });
            done(new Error(text));
          },
        );
      });
      node.on('close', (_removed, done) => {
        for (const cancel of waits) cancel(new ExpeedError('closed'));
        done();
      });
    },
    { credentials: { deviceKey: { type: 'password' } } },
  );
};
