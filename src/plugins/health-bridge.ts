import { bridgeStatus } from '../lib/operations/running';
import type { NodeRedApi } from '../nodes/node-red';

/**
 * The Health Bridge editor plugin's runtime half: the admin API the editor's Health Bridge
 * sidebar tab reads (and a monitoring script may read too), on Node-RED's admin app, behind
 * `adminAuth` with the permissions `health-bridge.read` and `health-bridge.write`. What it
 * shows comes from the running nodes' table (src/lib/operations/running.ts): the same figures
 * the Prometheus page serves.
 */

type Handler = (req: { body?: unknown; params: Record<string, string>; query: Record<string, unknown>; user?: { username?: string } },
  res: { status(code: number): { json(body: unknown): void }; json(body: unknown): void }) => void;

interface AdminRED extends NodeRedApi {
  httpAdmin: { get(path: string, ...handlers: unknown[]): void; post(path: string, ...handlers: unknown[]): void };
  auth: { needsPermission(permission: string): unknown };
  plugins: { registerPlugin(id: string, definition: Record<string, unknown>): void };
}

export = function register(RED: AdminRED): void {
  RED.plugins.registerPlugin('health-bridge-sidebar', { type: 'health-bridge-sidebar' });
  const read = RED.auth.needsPermission('health-bridge.read');
  const status: Handler = (_req, res) => res.json(bridgeStatus());
  RED.httpAdmin.get('/health-bridge/status', read, status);
};
