import fs from 'node:fs';
import { describeIssues } from '../lib/receiver/config';
import { expeedTokenMetrics } from '../lib/metrics';
import { accountConfigSchema, ExpeedAccount, type ExpeedAccountClient } from '../lib/vendors/expeed';
import { translator, type ClientConfigNode } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * One Expeed (极动云) platform account: the access token every Expeed node of this account shares,
 * the daily budget of token calls, and the setting results its expeed-in nodes hand to waiting
 * expeed-set nodes. The token and the day's count live in
 * `<userDir>/health-bridge/expeed-<id>.json` (mode 0600), so a restart costs no token call.
 */

type ExpeedAccountNode = RuntimeNode & ClientConfigNode<ExpeedAccountClient>;

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-bridge-expeed');

  function ExpeedAccountConfig(this: ExpeedAccountNode, config: NodeConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const parsed = accountConfigSchema.safeParse({ ...config, ...node.credentials });
    if (!parsed.success) {
      node.configError = t('errors.invalid-config', { issues: describeIssues(parsed.error) });
      setImmediate(() => node.error(node.configError));
      return;
    }
    const stateFile = statePath(RED, 'expeed', String(config.id), '.json');
    let reported = false;
    // read at each scrape; `api` is made just below, before anything can ask
    const metrics = expeedTokenMetrics(String(config.id), typeof config.name === 'string' ? config.name : '', () => ({
      tokenCallsToday: api.tokenCallsToday,
      dailyTokenCap: parsed.data.dailyTokenCap,
    }));
    const api = new ExpeedAccount({
      apiBase: parsed.data.apiBase,
      platformKey: parsed.data.platformKey,
      secretKey: parsed.data.secretKey,
      dailyTokenCap: parsed.data.dailyTokenCap,
      tz: parsed.data.tz,
      queryOnlineValue: parsed.data.queryOnlineValue,
      timeoutMs: parsed.data.timeoutMs,
      stateFile,
      onTokenCall: () => metrics.tokenCall(),
      onStateError(error) {
        // Once per deploy: the token still works, only the restart cache and the count are at risk.
        if (!reported) node.warn(t('errors.state-file', { message: (error as Error).message }));
        reported = true;
      },
    });
    node.client = { api, handshakeToken: parsed.data.handshakeToken, onlineValue: parsed.data.onlineValue };

    node.on('close', (removed, done) => {
      metrics.close();
      api.close().then(() => {
        // A deleted account leaves no token behind.
        if (removed && stateFile) fs.rm(stateFile, { force: true }, () => done());
        else done();
      }, () => done());
    });
  }

  registerNode(RED, 'expeed-account', ExpeedAccountConfig, {
    credentials: { secretKey: { type: 'password' }, handshakeToken: { type: 'password' } },
  });
};
