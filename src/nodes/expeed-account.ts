import fs from 'node:fs';
import { CodedError } from '../lib/coded-error';
import { describeIssues } from '../lib/receiver/config';
import { expeedTokenMetrics } from '../lib/metrics';
import type { RedisConnection } from '../lib/redis';
import { accountConfigSchema, ExpeedAccount, sharedAccountState, UnavailableTokenStore, type ExpeedAccountClient, type SettingWaits, type TokenStore } from '../lib/vendors/expeed';
import { configClient, translator, type ClientConfigNode } from './action';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * One Expeed (极动云) platform account: the access token every Expeed node of this account shares,
 * the daily budget of token calls, and the setting results its expeed-in nodes hand to waiting
 * expeed-set nodes. The token and the day's count live in
 * `<userDir>/health-bridge/expeed-<id>.json` (mode 0600), so a restart costs no token call; with
 * `state` (a health-redis config node) in Redis, shared by every instance running the flow, and
 * the setting results go through Redis too.
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
    // read at each scrape; `api` is made just below, before anything can ask
    const metrics = expeedTokenMetrics(String(config.id), typeof config.name === 'string' ? config.name : '', () => ({
      tokenCallsToday: api.tokenCallsToday,
      dailyTokenCap: parsed.data.dailyTokenCap,
    }));
    /** A problem of keeping the token, reported once per deploy (it recurs at every refresh). */
    const warnOnce = (code: string): ((error: unknown) => void) => {
      let warned = false;
      return (error) => {
        if (!warned) node.warn(t(`errors.${code}`, { message: (error as Error).message }));
        warned = true;
      };
    };
    let shared: { tokenStore: TokenStore; settings?: SettingWaits } | undefined;
    if (typeof config.state === 'string' && config.state !== '') {
      const found = configClient<RedisConnection>(RED, config.state, 'health-redis');
      if (found.problem) {
        // Said at deploy; every query that needs a token then fails with it. This instance's own
        // file would spend the shared daily budget behind the other instances' backs.
        const problem = found.problem instanceof CodedError ? RED._('expeed-account.state-missing') : found.problem.message;
        setImmediate(() => node.error(t('errors.state-unavailable', { message: problem })));
        shared = { tokenStore: new UnavailableTokenStore(problem) };
      } else {
        shared = sharedAccountState({
          connection: found.client,
          accountId: String(config.id),
          apiBase: parsed.data.apiBase,
          platformKey: parsed.data.platformKey,
          tz: parsed.data.tz,
          timeoutMs: parsed.data.timeoutMs,
          now: Date.now,
          onUnreadable: warnOnce('state-unreadable'),
          onRelayError: (error) => node.warn(t('errors.setting-relay', { message: (error as Error).message })),
        });
      }
    }
    const api = new ExpeedAccount({
      apiBase: parsed.data.apiBase,
      platformKey: parsed.data.platformKey,
      secretKey: parsed.data.secretKey,
      dailyTokenCap: parsed.data.dailyTokenCap,
      tz: parsed.data.tz,
      queryOnlineValue: parsed.data.queryOnlineValue,
      timeoutMs: parsed.data.timeoutMs,
      stateFile,
      ...(shared && { tokenStore: shared.tokenStore }),
      ...(shared?.settings && { settings: shared.settings }),
      onTokenCall: () => metrics.tokenCall(),
      // Once per deploy: the token still works, only the restart cache and the count are at risk.
      onStateError: warnOnce('state-file'),
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
