import { loadAtRestKey, Sealer } from '../lib/at-rest';
import { CodedError, errorCode } from '../lib/coded-error';
import { watchMetrics } from '../lib/metrics';
import { isReading } from '../lib/reading';
import { alertMessage, watchPropertiesSchema, Watch, WatchStore } from '../lib/watch';
import { describeIssues } from '../lib/zod-helpers';
import { translator } from './action';
import type { NodeConfig, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * health-watch: readings in, alerts out (`firing` when an episode starts, `resolved` when it ends).
 * The rules, the silences and what is kept over a restart live in src/lib/watch/; this file wires
 * them to Node-RED: the key and the file, the status, the figures.
 */
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
    if (properties.state) node.warn(t('warn.state-planned'));

    // the episodes are patients' data: kept sealed under the operator's key, or not kept at all
    const key = loadAtRestKey();
    const file = statePath(RED, 'watch', String(config.id), '.json');
    const devicesFile = statePath(RED, 'watch', String(config.id), '.devices.json');
    /** Why nothing is kept over a restart (a status note), undefined while it is. */
    let notKept: string | undefined;
    let storeProblem: string | undefined;
    let store: WatchStore | undefined;
    if (key instanceof CodedError) {
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

    let statusTimer: NodeJS.Timeout | undefined;
    let closed = false;
    const drawStatus = (): void => {
      statusTimer = undefined;
      if (closed) return;
      const firing = watch.engine.firing().filter((rule) => rule.count > 0);
      const text = t('status.firing', { count: watch.engine.firingCount() });
      const urgent = firing.some((rule) => rule.severity === 'urgent');
      let shown: NodeStatus = firing.length ? { fill: urgent ? 'red' : 'yellow', shape: 'dot', text } : { fill: 'green', shape: 'dot', text };
      const problem = notKept ?? (storeProblem && t('status.storage', { reason: storeProblem }));
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
      closeMetrics();
      void watch.close().finally(() => done());
    });
  });
};
