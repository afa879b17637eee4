import { randomBytes } from 'node:crypto';
import { loadAtRestKey, Sealer } from '../lib/at-rest';
import { CodedError, errorCode } from '../lib/coded-error';
import { watchMetrics } from '../lib/metrics';
import { isReading } from '../lib/reading';
import { safeMessage, type RedisConnection } from '../lib/redis';
import { whenConnected } from '../lib/redis/ready';
import { alertMessage, flowSharesState, RedisWatchState, watchPropertiesSchema, Watch, WatchStore } from '../lib/watch';
import { describeIssues } from '../lib/zod-helpers';
import { configClient, translator } from './action';
import type { NodeConfig, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * health-watch: readings in, alerts out (`firing` when an episode starts, `resolved` when it ends).
 * The rules, the silences and what is kept over a restart live in src/lib/watch/; this file wires
 * them to Node-RED: the key and the file (or Redis, with `state`), the status, the figures.
 */

type EachNode = (callback: (node: { type: string; state?: unknown }) => void) => void;
export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-watch');

  registerNode(RED, 'health-watch', function HealthWatchNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const parsed = watchPropertiesSchema.safeParse(config);
    if (!parsed.success) {
      const detail = describeIssues(parsed.error);
      node.status({ fill: 'red', shape: 'ring', text: t('status.properties') });
      setImmediate(() => node.error(t('errors.properties', { detail })));
      node.on('input', (_msg, _send, done) => done(Object.assign(new Error(t('errors.properties', { detail })), { code: 'properties' })));
      return;
    }
    const properties = parsed.data;

    // the episodes are patients' data: kept sealed under the operator's key, or not kept at all
    const key = loadAtRestKey();
    const file = statePath(RED, 'watch', String(config.id), '.json');
    const devicesFile = statePath(RED, 'watch', String(config.id), '.devices.json');
    /** Why nothing is kept over a restart (a status note), undefined while it is. */
    let notKept: string | undefined;
    let storeProblem: string | undefined;
    /** Why the episodes are not shared with the other instances (`state` set), undefined while they are. */
    let notShared: string | undefined;
    let store: WatchStore | undefined;
    let shared: RedisWatchState | undefined;
    if (properties.state) {
      // shared on Redis, or this instance alone, said at deploy: never a silent fallback
      const found = configClient<RedisConnection>(RED, properties.state, 'health-redis');
      if (found.problem || key instanceof CodedError) {
        // without the key nothing can be sealed: Redis never holds a patient in clear
        const reason = found.problem ? (found.problem instanceof CodedError ? t('reason.no-config') : found.problem.message) : t('reason.no-key', { variable: key instanceof CodedError ? key.params.variable ?? '' : '' });
        notShared = t('status.not-shared');
        setImmediate(() => node.error(t('errors.state', { reason })));
      } else {
        const connection = found.client;
        shared = new RedisWatchState(connection.use(), new Sealer(key, `watch:${String(config.id)}`), {
          keyPrefix: `${connection.prefix}watch:${String(config.id)}:`,
          forgetMs: properties.forgetHours * 3_600_000,
          // what the instances keep is read once the connection is up (a deploy opens it)
          ready: () => whenConnected(connection, 10_000),
        });
      }
    } else if (key instanceof CodedError) {
      notKept = t(`status.${key.code}`);
      const warning = key.code === 'no-key'
        ? t('warn.no-key', { variable: key.params.variable ?? '', file: key.params.file ?? '' })
        : t('warn.bad-key', { variable: key.params.variable ?? '', reason: key.params.reason ?? '' });
      setImmediate(() => node.warn(warning));
    } else if (!file || !devicesFile) {
      notKept = t('status.no-user-dir');
    } else {
      store = new WatchStore(file, devicesFile, new Sealer(key, `watch:${String(config.id)}`));
    }

    // without `state` in a flow whose receivers or outbox share theirs, this runs on several instances
    const checkFlow = (): void => {
      const eachNode = (RED.nodes as unknown as { eachNode?: EachNode }).eachNode;
      if (properties.state || !eachNode) return;
      const nodes: Array<{ type: string; state?: unknown }> = [];
      eachNode((found) => nodes.push(found));
      if (flowSharesState(nodes)) node.warn(t('warn.not-shared'));
    };
    RED.events?.once('flows:started', checkFlow);

    let statusTimer: NodeJS.Timeout | undefined;
    let closed = false;
    const drawStatus = (): void => {
      statusTimer = undefined;
      if (closed) return;
      const firing = watch.engine.firing().filter((rule) => rule.count > 0);
      const text = t('status.firing', { count: watch.engine.firingCount() });
      const urgent = firing.some((rule) => rule.severity === 'urgent');
      let shown: NodeStatus = firing.length ? { fill: urgent ? 'red' : 'yellow', shape: 'dot', text } : { fill: 'green', shape: 'dot', text };
      const problem = notShared ?? notKept ?? (storeProblem && t('status.storage', { reason: storeProblem }));
      if (problem) shown = { fill: 'red', shape: 'ring', text: `${text} · ${problem}` };
      node.status(shown);
    };
    // readings may come by the thousand: the status is redrawn at most every half second
    const statusSoon = (): void => {
      if (!closed) statusTimer ??= setTimeout(drawStatus, 500);
    };

    const watch = new Watch({
      properties,
      ...(store && { store }),
      ...(shared && { shared, newVersion: () => randomBytes(8).toString('hex') }),
      hooks: {
        send: (alerts) => {
          for (const alert of alerts) node.send(alertMessage(alert));
        },
        changed: statusSoon,
        storeProblem: (code) => {
          if (code !== undefined && code !== storeProblem) node.error(t('errors.storage', { reason: code }));
          storeProblem = code;
          statusSoon();
        },
        sharedProblem: (error) => {
          // once per outage; the readings go on, judged by this instance alone
          notShared = error === undefined ? undefined : t('status.redis');
          if (error !== undefined && !closed) node.error(t('errors.redis', { reason: safeMessage(error) }));
          statusSoon();
        },
      },
    });
    watch.start().then(statusSoon, (error: unknown) => {
      // the kept file is left as it is (the right key reads it); the watch runs in memory meanwhile
      notKept = t('status.load', { reason: errorCode(error) });
      statusSoon();
      if (!closed) node.error(t('errors.load', { reason: errorCode(error) }));
    });
    drawStatus();
    const closeMetrics = watchMetrics(node.id, node.name ?? '', () => watch.engine.firing());

    node.on('input', (msg, _send, done) => {
      if (!isReading(msg.payload)) {
        done(Object.assign(new Error(t('errors.not-a-reading')), { code: 'not-a-reading' }));
        return;
      }
      watch.observe(msg.payload).then(() => done(), done);
    });

    node.on('close', (_removed, done) => {
      closed = true;
      if (statusTimer) clearTimeout(statusTimer);
      RED.events?.removeListener('flows:started', checkFlow);
      closeMetrics();
      void watch.close().finally(() => done());
    });
  });
};
