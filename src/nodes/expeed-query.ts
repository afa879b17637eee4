import { describeIssues } from '../lib/receiver/config';
import { deviceOf, errorText, ExpeedError, historyQueryOf, idsOf, queryConfigSchema, type ExpeedAccount, type ExpeedAccountHandle } from '../lib/vendors/expeed';
import type { NodeConfig, NodeMessage, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Queries one Expeed device: its online status, its current data points, or its history, page by
 * page. With `allPages` each page is sent as its own message as soon as it arrives, and the next
 * is fetched only after that, so a long history never sits in memory at once.
 */
export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-bridge-expeed.${key}`, params);

  registerNode(
    RED,
    'expeed-query',
    function ExpeedQueryNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const node = this;
      const parsed = queryConfigSchema.safeParse({ ...config, ...node.credentials });
      let closed = false;
      const accountOf = (): ExpeedAccount => {
        const account = RED.nodes.getNode(String(config.account ?? '')) as ExpeedAccountHandle | null;
        if (account?.configError) throw new Error(account.configError);
        if (!account?.expeed) throw new ExpeedError('no-account');
        return account.expeed;
      };
      const yieldToDelivery = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

      node.on('input', (msg, send, done) => {
        (async () => {
          if (!parsed.success) throw new Error(t('errors.invalid-config', { issues: describeIssues(parsed.error) }));
          const settings = parsed.data;
          const account = accountOf();
          const { deviceId, deviceKey } = deviceOf(settings, msg);
          if (settings.operation === 'status') {
            msg.payload = await account.deviceStatus(deviceId, deviceKey);
            node.status({ fill: 'green', shape: 'dot', text: t('status.done') });
            send(msg);
            return;
          }
          if (settings.operation === 'current') {
            const payload = msg.payload as { ids?: unknown } | undefined;
            msg.payload = await account.current(deviceId, deviceKey, idsOf(payload?.ids, settings.ids));
            node.status({ fill: 'green', shape: 'dot', text: t('status.done') });
            send(msg);
            return;
          }
          const query = historyQueryOf(settings, msg.payload, account.tz);
          if (!settings.allPages) {
            const page = await account.historyPage(deviceId, deviceKey, query);
            msg.payload = page.readings;
            msg.page = { index: 0, cursor: page.cursor ?? null, last: page.last };
            node.status({ fill: 'green', shape: 'dot', text: t('status.done') });
            send(msg);
            return;
          }
          let index = 0;
          const original = msg;
          for await (const page of account.historyPages(deviceId, deviceKey, query)) {
            if (closed) throw new ExpeedError('closed');
            // Each page is a message of its own: later pages start from a copy of the input.
            const out: NodeMessage = index === 0 ? original : RED.util.cloneMessage({ ...original, payload: undefined });
            out.payload = page.readings;
            out.page = { index, cursor: page.cursor ?? null, last: page.last };
            node.status({ fill: 'blue', shape: 'dot', text: t('status.page', { index: index + 1 }) });
            send(out);
            index++;
            // Let Node-RED deliver this page before the next one is fetched.
            await yieldToDelivery();
          }
          node.status({ fill: 'green', shape: 'dot', text: t('status.pages', { count: index }) });
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
        closed = true;
        done();
      });
    },
    { credentials: { deviceKey: { type: 'password' } } },
  );
};
