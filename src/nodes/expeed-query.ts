import { describeIssues } from '../lib/receiver/config';
import { deviceOf, historyQueryOf, idsOf, queryConfigSchema, type ExpeedAccountClient } from '../lib/vendors/expeed';
import { requireConfigClient, runAction, translator, type ActionOutcome } from './action';
import type { NodeConfig, NodeMessage, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * Queries one Expeed device: its online status, its current data points, or its history, page by
 * page. With `allPages` each page is sent as its own message as soon as it arrives, and the next
 * is fetched only after that, so a long history never sits in memory at once.
 */
export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-bridge-expeed');

  registerNode(
    RED,
    'expeed-query',
    function ExpeedQueryNode(this: RuntimeNode, config: NodeConfig) {
      RED.nodes.createNode(this, config);
      const parsed = queryConfigSchema.safeParse({ ...config, ...this.credentials });
      const yieldToDelivery = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      const answered = (msg: NodeMessage): ActionOutcome => ({ status: { fill: 'green', shape: 'dot', text: t('status.done') }, send: msg });

      runAction(RED, this, { translate: t }, async (msg, { send, status, signal }) => {
        if (!parsed.success) throw new Error(t('errors.invalid-config', { issues: describeIssues(parsed.error) }));
        const settings = parsed.data;
        const { api } = requireConfigClient<ExpeedAccountClient>(RED, config.account, 'expeed-account');
        const { deviceId, deviceKey } = deviceOf(settings, msg);
        if (settings.operation === 'status') {
          msg.payload = await api.deviceStatus(deviceId, deviceKey);
          return answered(msg);
        }
        if (settings.operation === 'current') {
          const payload = msg.payload as { ids?: unknown } | undefined;
          msg.payload = await api.current(deviceId, deviceKey, idsOf(payload?.ids, settings.ids));
          return answered(msg);
        }
        const query = historyQueryOf(settings, msg.payload, api.tz);
        if (!settings.allPages) {
          const page = await api.historyPage(deviceId, deviceKey, query);
          msg.payload = page.readings;
          msg.page = { index: 0, cursor: page.cursor ?? null, last: page.last };
          return answered(msg);
        }
        let index = 0;
        const original = msg;
        for await (const page of api.historyPages(deviceId, deviceKey, query)) {
          signal.throwIfAborted();
          // Each page is a message of its own: later pages start from a copy of the input.
          const out: NodeMessage = index === 0 ? original : RED.util.cloneMessage({ ...original, payload: undefined });
          out.payload = page.readings;
          out.page = { index, cursor: page.cursor ?? null, last: page.last };
          status({ fill: 'blue', shape: 'dot', text: t('status.page', { index: index + 1 }) });
          send(out);
          index++;
          // Let Node-RED deliver this page before the next one is fetched.
          await yieldToDelivery();
        }
        return { status: { fill: 'green', shape: 'dot', text: t('status.pages', { count: index }) } };
      });
    },
    { credentials: { deviceKey: { type: 'password' } } },
  );
};
