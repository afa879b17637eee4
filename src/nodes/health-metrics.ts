import { metricsPage } from '../lib/metrics';
import { metricsPropertiesSchema } from '../lib/metrics/properties';
import { keyChecker } from '../lib/receiver/key';
import { mountRoutes } from '../lib/receiver/route';
import { describeIssues } from '../lib/zod-helpers';
import type { NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * health-metrics: serves the figures every health-bridge node counts (src/lib/metrics) in the
 * Prometheus text format on `RED.httpNode`, behind the receivers' allow list and key. It counts
 * nothing itself: the figures keep running while it is redeployed, and a flow without it pays
 * only for the counting.
 */
export = function register(RED: NodeRedApi): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`health-metrics.${key}`, params);

  registerNode(RED, 'health-metrics', function HealthMetricsNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    // Catch and Status nodes hear a node only once the whole flow exists: problems at start wait a turn
    const reportAtStart = (code: string, text: string, level: 'error' | 'warn', statusText = text): void => {
      setImmediate(() => {
        node.status({ fill: level === 'error' ? 'red' : 'grey', shape: 'ring', text: statusText });
        if (level === 'error') node.error(Object.assign(new Error(text), { code }));
        else node.warn(text);
      });
    };
    const parsed = metricsPropertiesSchema.safeParse({ ...config, ...node.credentials });
    if (!parsed.success) {
      reportAtStart('invalid-config', t('errors.invalid-config', { issues: describeIssues(parsed.error) }), 'error');
      return;
    }
    const { path, allow, processMetrics, key } = parsed.data;
    const keyMatches = keyChecker(key);
    let failures = 0;

    const mount = mountRoutes(RED.httpNode, RED.settings, path, 0, {
      get: (req, res) => {
        // a refused scrape is answered, not logged: a scraper with the wrong key asks every few seconds
        if (!allow.allows((req as { ip?: string }).ip ?? req.socket.remoteAddress)) return answer(res, 403, 'forbidden');
        if (!keyMatches(req)) return answer(res, 401, 'unauthorized');
        metricsPage(processMetrics).then(
          (page) => answer(res, 200, page.text, page.contentType),
          (error: unknown) => {
            // once per deploy in the log; the scraper sees the 500 on every try
            if (failures++ === 0) node.error(Object.assign(new Error(t('errors.internal', { message: (error as Error).message })), { code: 'internal' }));
            answer(res, 500, 'internal error');
          },
        );
      },
    });
    if (!mount.mounted && mount.reason === 'disabled') {
      reportAtStart('http-disabled', t('errors.http-disabled'), 'warn', t('status.disabled'));
    } else if (!mount.mounted) {
      reportAtStart('route-taken', t('errors.route-taken', { path }), 'error');
    } else {
      node.status({ fill: 'green', shape: 'ring', text: path });
    }

    node.on('close', (_removed, done) => {
      if (mount.mounted) mount.remove();
      done();
    });
  }, { credentials: { key: { type: 'text' } } });
};

function answer(res: import('node:http').ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
