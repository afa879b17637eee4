import { ContextDedupStore, MemoryDedupStore, RedisDedupStore, UnavailableDedupStore, type DedupStore, type KeyValueStore } from '../lib/dedup';
import { FailureWindow } from '../lib/failure-window';
import { LatestOnly } from '../lib/latest-only';
import { receiverMetrics } from '../lib/metrics';
import { DEFAULT_MAX_DEDUP_KEYS, describeIssues, isOpen, receiverConfigSchema, type ReceiverSettings } from '../lib/receiver/config';
import { FLOW_FAILURES, PushReceiver, type ReceiverCounts, type Rejection } from '../lib/receiver/core';
import type { PushProtocol } from '../lib/receiver/protocol';
import { mountRoutes } from '../lib/receiver/route';
import type { RedisConnection } from '../lib/redis';
import { watchReceiverType } from './ack-copies';
import { configClient } from './action';
import type { ContextStore, NodeConfig, NodeRedApi, RuntimeNode } from './node-red';
import { registerNode } from './register';

/**
 * The Node-RED side of every `*-in` node: reads the node's properties, mounts the shared receiver
 * on `RED.httpNode`, and turns its callbacks into `send`, `error` and `status`. A vendor's node
 * file is one call to `registerReceiver`.
 */

/** Locale prefix of the strings all receivers share (src/nodes/shared/locales). */
const SHARED = 'health-bridge-receiver';
/** The counts in a receiver's status change on every push; redraw them at most this often. */
const STATUS_INTERVAL_MS = 250;

// `key` is text, not password: it is part of the callback URL the user hands to the vendor, so
// the editor must be able to show it again. Node-RED tells a browser only whether a password
// credential is set, never its value; a text credential's value it sends to the editor. The key
// stays a credential all the same: encrypted in the credentials file, never in flows.json or an
// export. piiKey never needs showing and stays password.
export const RECEIVER_CREDENTIALS = {
  key: { type: 'text' },
  piiKey: { type: 'password' },
} as const;

/** Node-RED's context API has `keys` too; our type of it (node-red.ts) leaves it out. */
type ContextWithKeys = ContextStore & { keys(store: string | undefined, callback: (error: Error | null, keys?: string[]) => void): void };

function contextStore(node: RuntimeNode, storeName: string): KeyValueStore {
  const context = node.context() as ContextWithKeys;
  const set = (name: string, value: unknown): Promise<void> =>
    new Promise((resolve, reject) => context.set(name, value, storeName, (error) => (error ? reject(error) : resolve())));
  return {
    get: (name) =>
      new Promise((resolve, reject) =>
        context.get(name, storeName, (error, value) => (error ? reject(error) : resolve(value))),
      ),
    set,
    // Node-RED deletes a context variable set to undefined
    delete: (name) => set(name, undefined),
    keys: () =>
      new Promise((resolve, reject) => context.keys(storeName, (error, keys) => (error ? reject(error) : resolve(keys ?? [])))),
  };
}

/**
 * The one place a receiver's dedup store is chosen: Redis when `state` names a health-redis config
 * node (shared by every instance running the flow), else memory, or a context store the user named.
 * A `state` that cannot be used (the config node missing or invalid) fails every claim, so each push
 * is answered 503 with the reason: falling back to this instance's memory would emit twice what
 * reaches two instances.
 */
function dedupStoreFor(
  RED: NodeRedApi, node: RuntimeNode, state: unknown, settings: ReceiverSettings, onError: (error: unknown) => void,
): { store: DedupStore; redis?: RedisConnection } {
  const options = { windowMs: settings.dedupWindowMs, maxKeys: DEFAULT_MAX_DEDUP_KEYS };
  if (typeof state === 'string' && state !== '') {
    const found = configClient<RedisConnection>(RED, state, 'health-redis');
    if (found.problem) {
      const problem = found.problem;
      // said at deploy too, once the flow's Catch and Status nodes are wired (next turn)
      setImmediate(() => onError(problem));
      return { store: new UnavailableDedupStore(() => problem) };
    }
    const store = new RedisDedupStore(found.client.use(), {
      windowMs: settings.dedupWindowMs,
      ackTimeoutMs: settings.ackTimeoutMs,
      keyPrefix: `${found.client.prefix}dedup:${node.id}:`,
      confirmAtClaim: settings.ack === 'auto',
      beforeClaim: () => found.client.firstConnection(),
    });
    return { store, redis: found.client };
  }
  return {
    store: settings.dedupStore
      ? new ContextDedupStore(contextStore(node, settings.dedupStore), { ...options, onError })
      : new MemoryDedupStore(options),
  };
}

/**
 * A vendor's protocol, or a function that builds one for each node from its properties (e.g. a
 * handshake token that lives in a config node the receiver selects).
 */
export type ProtocolSource<Body> = PushProtocol<Body> | ((config: NodeConfig, node: RuntimeNode) => PushProtocol<Body>);

export function registerReceiver<Body>(RED: NodeRedApi, type: string, source: ProtocolSource<Body>): void {
  const t = (key: string, params?: Record<string, unknown>): string => RED._(`${SHARED}.${key}`, params);
  // `ack: flow` waits for every copy of a message that can reach health-ack; the layouts whose
  // copies cannot be counted are named at deploy
  watchReceiverType(RED, type);

  function ReceiverNode(this: RuntimeNode, config: NodeConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    // Node-RED wires Catch and Status nodes up only once every node of the flow exists, so a
    // problem found while this node is created is reported on the next turn, where they hear it.
    const reportAtStart = (text: string, level: 'error' | 'warn' = 'error', statusText = text): void => {
      setImmediate(() => {
        node.status({ fill: level === 'error' ? 'red' : 'grey', shape: 'ring', text: statusText });
        if (level === 'error') node.error(text);
        else node.warn(text);
      });
    };
    const parsed = receiverConfigSchema.safeParse({ ...config, ...node.credentials });
    if (!parsed.success) {
      reportAtStart(t('errors.invalid-config', { issues: describeIssues(parsed.error) }));
      return;
    }
    const settings = parsed.data;
    const protocol = typeof source === 'function' ? source(config, node) : source;

    const reportStoreError = (error: unknown): void => {
      const message = t('errors.dedup-store', { message: (error as Error).message });
      node.status({ fill: 'red', shape: 'ring', text: message });
      node.error(message);
    };
    const { store: dedup, redis } = dedupStoreFor(RED, node, config.state, settings, reportStoreError);
    // a push the flow failed to store is no refused push: counted apart, shown only when there are some
    const countsText = (counts: ReceiverCounts): string =>
      [
        t('status.counts', { ...counts }),
        ...(counts.failed ? [t('status.failed', { count: counts.failed })] : []),
        ...(counts.timedOut ? [t('status.timed-out', { count: counts.timedOut })] : []),
      ].join(' · ');
    const countsStatus = new LatestOnly<ReceiverCounts>((counts) => node.status({ fill: 'green', shape: 'dot', text: countsText(counts) }), STATUS_INTERVAL_MS);

    // counted from the node's start whether or not a health-metrics node serves them
    const metrics = receiverMetrics(String(config.id), typeof config.name === 'string' ? config.name : '', protocol.vendor, String(config.type));
    const flowFailures = new FailureWindow(FLOW_FAILURE_WINDOW_MS, (count) => node.warn(t('warn.flow-failures', { count, seconds: FLOW_FAILURE_WINDOW_MS / 1000 })));
    const receiver = new PushReceiver(protocol, settings, dedup, {
      emit(readings, events) {
        node.send([readings, events]);
      },
      accepted(counts) {
        countsStatus.push({ ...counts });
      },
      verified() {
        node.status({ fill: 'green', shape: 'ring', text: t('status.verified', { path: settings.path }) });
      },
      storeFailed: reportStoreError,
      rejected(rejection: Rejection, counts) {
        const reason = t(`errors.${rejection.code}`, rejection.params);
        countsStatus.cancel();
        const flowFailure = FLOW_FAILURES.has(rejection.code);
        node.status({
          fill: flowFailure ? 'yellow' : 'red',
          shape: 'ring',
          text: t(flowFailure ? 'status.last-failure' : 'status.rejected', { counts: countsText(counts), reason }),
        });
        // The flow failing pushes (a hospital down, a full disk) fails every push while it lasts,
        // and the node that failed has said why: the first of a minute goes to the Catch node and
        // the log, the rest are counted in one line at the minute's end. The vendor sends each again.
        if (flowFailure && flowFailures.quiet()) return;
        // An Error carrying the refusal's code, so that a Catch node's `msg.error.code` says which
        // refusal it was, as the other nodes' errors do (Node-RED copies only an Error's code).
        node.error(Object.assign(new Error(reason), { code: rejection.code }), {
          topic: `${protocol.vendor}/rejected`,
          payload: rejection.raw,
          raw: rejection.raw,
          vendor: protocol.vendor,
          statusCode: rejection.status,
        });
      },
    }, metrics);

    const get = (req: Parameters<typeof receiver.handleGet>[0], res: Parameters<typeof receiver.handleGet>[1]): void => receiver.handleGet(req, res);
    const mount = mountRoutes(
      RED.httpNode, RED.settings, settings.path, settings.maxBytes,
      { post: (req, res) => void receiver.handle(req, res), ...(protocol.handshake && { get }) },
      // A GET probe is a courtesy where the path is free; another node's GET route there is the user's choice.
      protocol.handshake ? {} : { get },
    );
    if (!mount.mounted && mount.reason === 'disabled') {
      reportAtStart(t('errors.http-disabled'), 'warn', t('status.disabled'));
    } else if (!mount.mounted) {
      reportAtStart(t('errors.route-taken', { method: mount.method, path: settings.path }));
    } else if (!receiver.ready) {
      reportAtStart(t('errors.pii-key-missing'));
    } else if (isOpen(settings)) {
      // No key and no allow-list: anyone who learns the path can file readings. One warning per
      // deploy, naming the node (Node-RED's log prefix) and its path, never a secret; it still works.
      setImmediate(() => {
        node.status({ fill: 'yellow', shape: 'ring', text: t('status.open', { path: settings.path }) });
        node.warn(t('warn.open', { path: settings.path }));
      });
    } else {
      node.status({ fill: 'green', shape: 'ring', text: settings.path });
    }

    // Shared state on Redis: the status says when it is lost (every push is answered 503 meanwhile)
    // and when it is back, without waiting for a push.
    let redisDown = false;
    const onRedisState = (state: string): void => {
      if (state === 'connected' && redisDown) {
        redisDown = false;
        node.status({ fill: 'green', shape: 'ring', text: t('status.redis-up', { path: settings.path }) });
      } else if (state === 'reconnecting' && !redisDown) {
        redisDown = true;
        countsStatus.cancel();
        node.status({ fill: 'red', shape: 'ring', text: t('status.redis-down', { address: redis?.address }) });
      }
    };
    redis?.on('state', onRedisState);

    node.on('close', (_removed, done) => {
      redis?.off('state', onRedisState);
      // a node's series live while it runs: a deleted node's go away with it
      metrics.close();
      countsStatus.cancel();
      flowFailures.close();
      if (mount.mounted) mount.remove();
      receiver.close().then(done, (error: unknown) => {
        reportStoreError(error);
        done();
      });
    });
  }

  registerNode(RED, type, ReceiverNode, { credentials: RECEIVER_CREDENTIALS });
}

/** How long the flow's failures after the first are only counted (see `rejected`). */
const FLOW_FAILURE_WINDOW_MS = 60_000;
