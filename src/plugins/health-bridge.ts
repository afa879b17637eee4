import { discardDeadLetters, listDeadLetters, listQueue, retryDeadLetters, type AdminAnswer, type AdminRequest } from '../lib/admin/outboxes';
import { bridgeStatus } from '../lib/operations/running';
import type { NodeRedApi } from '../nodes/node-red';

/**
 * The Health Bridge editor plugin's runtime half: the admin API the editor's Health Bridge
 * sidebar tab reads (and a monitoring script may read too), on Node-RED's admin app, behind
 * `adminAuth` with the permissions `health-bridge.read` and `health-bridge.write`. What it
 * shows comes from the running nodes' table (src/lib/operations/running.ts): the same figures
 * the Prometheus page serves. The routes' logic is in src/lib/admin/.
 */

type Handler = (req: AdminRequest, res: { status(code: number): { json(body: unknown): void }; json(body: unknown): void }) => void;

interface AdminRED extends NodeRedApi {
  httpAdmin: { get(path: string, ...handlers: unknown[]): void; post(path: string, ...handlers: unknown[]): void };
  auth: { needsPermission(permission: string): unknown };
  plugins: { registerPlugin(id: string, definition: Record<string, unknown>): void };
}

export = function register(RED: AdminRED): void {
  RED.plugins.registerPlugin('health-bridge-sidebar', { type: 'health-bridge-sidebar' });
  const read = RED.auth.needsPermission('health-bridge.read');
  const write = RED.auth.needsPermission('health-bridge.write');
  const answer = (route: (request: AdminRequest) => Promise<AdminAnswer>): Handler => (req, res) => {
    // a route that fails unexpectedly answers 500 with no detail (its text could quote a record);
    // an unhandled rejection here would stop Node-RED
    route(req).then(
      ({ status, body }) => res.status(status).json(body),
      () => res.status(500).json({ code: 'internal', message: 'internal error' }),
    );
  };
  const status: Handler = (_req, res) => res.json(bridgeStatus());
  RED.httpAdmin.get('/health-bridge/status', read, status);
  RED.httpAdmin.get('/health-bridge/outboxes/:id/queue', read, answer(listQueue));
  RED.httpAdmin.get('/health-bridge/outboxes/:id/dead-letters', read, answer(listDeadLetters));
  RED.httpAdmin.post('/health-bridge/outboxes/:id/dead-letters/retry', write, answer(retryDeadLetters));
  RED.httpAdmin.post('/health-bridge/outboxes/:id/dead-letters/discard', write, answer(discardDeadLetters));
};
