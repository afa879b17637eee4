import cors from 'cors';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { captureBody } from './body';

/**
 * Owns one route on Node-RED's `RED.httpNode` the way the core `http in` node does: behind
 * `httpNodeMiddleware` and `httpNodeCors`, and removed again on close. It refuses to mount over
 * an existing route with the same method and path, because Express would silently let the first
 * one win and the second receiver would never see a push.
 *
 * Our POST bodies are captured by one middleware at the very top of the root application, ahead
 * of the admin app's JSON parser (body.ts says why), as the core `http in` node does for its raw
 * routes. It only touches requests for a mounted receiver's method and full path.
 */

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
type Method = 'get' | 'post' | 'options';

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean | undefined>; stack: Array<{ handle: unknown }> };
}

/** The part of an Express application (4 or 5) that a receiver touches. */
export interface HttpApp {
  parent?: HttpApp;
  use(...handlers: RouteHandler[]): unknown;
  get(path: string, ...handlers: RouteHandler[]): unknown;
  post(path: string, ...handlers: RouteHandler[]): unknown;
  options(path: string, ...handlers: RouteHandler[]): unknown;
  lazyrouter?: () => void;
  _router?: { stack: RouterLayer[] };
  router?: { stack: RouterLayer[] };
}

/** The Node-RED settings that shape HTTP nodes. */
export interface HttpNodeSettings {
  httpNodeRoot?: string | false;
  httpNodeMiddleware?: RouteHandler | RouteHandler[];
  httpNodeCors?: cors.CorsOptions;
}

export type MountResult =
  | { mounted: true; remove(): void }
  | { mounted: false; reason: 'disabled' }
  | { mounted: false; reason: 'taken'; method: 'GET' | 'POST' };

function routerStack(app: HttpApp): RouterLayer[] {
  // Express 4 creates `_router` lazily and throws from its `router` getter; Express 5 has no
  // `lazyrouter` and keeps its router in `router`.
  return typeof app.lazyrouter === 'function' ? app._router?.stack ?? [] : app.router?.stack ?? [];
}

const normalizePath = (path: string): string => path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1').toLowerCase();

function samePath(a: string, b: string): boolean {
  return normalizePath(a) === normalizePath(b);
}

/** "POST /root/path" → the body limit of the receiver mounted there. */
const capturedRoutes = new Map<string, number>();
const appsWithCapture = new WeakSet<object>();

function rootOf(app: HttpApp): HttpApp {
  return app.parent ? rootOf(app.parent) : app;
}

function captureKey(method: string, fullPath: string): string {
  return `${method.toUpperCase()} ${normalizePath(fullPath)}`;
}

const captureReceiverBodies: RouteHandler = (req, _res, next) => {
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  const limit = capturedRoutes.get(captureKey(req.method ?? '', path));
  if (limit === undefined) return next();
  captureBody(req, limit).then(() => next(), next);
};

function installBodyCapture(app: HttpApp): void {
  const root = rootOf(app);
  if (appsWithCapture.has(root)) return;
  appsWithCapture.add(root);
  root.use(captureReceiverBodies);
  const stack = routerStack(root);
  const index = stack.findIndex((layer) => (layer as { handle?: unknown }).handle === captureReceiverBodies);
  if (index > 0) stack.unshift(...stack.splice(index, 1));
}

/** True when some route (ours or another node's) already answers `method` on `path`. */
function isTaken(app: HttpApp, method: Method, path: string): boolean {
  return routerStack(app).some(
    (layer) => typeof layer.route?.path === 'string' && samePath(layer.route.path, path) && layer.route.methods[method],
  );
}

export function mountRoutes(
  app: HttpApp,
  settings: HttpNodeSettings,
  path: string,
  bodyLimit: number,
  handlers: Partial<Record<'get' | 'post', RouteHandler>>,
  /** Mounted where nobody else answers the method yet, and silently left out otherwise. */
  optional: Partial<Record<'get', RouteHandler>> = {},
): MountResult {
  if (settings.httpNodeRoot === false) return { mounted: false, reason: 'disabled' };
  // POST first: a push route is what a receiver is for, so a clash there is the one to report.
  const required = (['post', 'get'] as const).filter((method) => handlers[method]);
  const taken = required.find((method) => isTaken(app, method, path));
  if (taken) return { mounted: false, reason: 'taken', method: taken === 'post' ? 'POST' : 'GET' };
  const extra = (['get'] as const).filter((method) => !handlers[method] && optional[method] && !isTaken(app, method, path));
  const methods = [...required, ...extra];

  const middleware = settings.httpNodeMiddleware ?? [];
  const chain = Array.isArray(middleware) ? middleware : [middleware];
  const corsHandler: RouteHandler | undefined = settings.httpNodeCors ? cors(settings.httpNodeCors) : undefined;
  const before = corsHandler ? [...chain, corsHandler] : chain;

  const ours = new Set<unknown>();
  for (const method of methods) {
    const handler = (handlers[method] ?? optional[method as 'get']) as RouteHandler;
    ours.add(handler);
    app[method](path, ...before, handler);
  }
  if (corsHandler && !isTaken(app, 'options', path)) {
    ours.add(corsHandler);
    app.options(path, corsHandler);
  }
  const bodyKey = captureKey('POST', `${settings.httpNodeRoot ?? '/'}/${path}`);
  if (handlers.post) {
    installBodyCapture(app);
    capturedRoutes.set(bodyKey, bodyLimit);
  }
  return {
    mounted: true,
    remove() {
      if (handlers.post) capturedRoutes.delete(bodyKey);
      const stack = routerStack(app);
      // Backwards, so splicing does not skip the layer after a removed one.
      for (let i = stack.length - 1; i >= 0; i--) {
        if (stack[i]?.route?.stack.some((step) => ours.has(step.handle))) stack.splice(i, 1);
      }
    },
  };
}
