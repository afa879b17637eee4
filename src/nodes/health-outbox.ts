import path from 'node:path';
import { loadAtRestKey, Sealer, type AtRestKeyError } from '../lib/at-rest';
import { reachHealthAck, hold, openDelivery, release, type OpenDelivery } from '../lib/ack-registry';
import { CodedError, errorCode } from '../lib/coded-error';
import { outboxMetrics } from '../lib/metrics';
import {
  errorText, outboxPropertiesSchema, outboxStateSchema, patientKeyOf, RETRY_TOPIC, shortDuration, type OutboxProperties,
} from '../lib/outbox/properties';
import { outboxControl, type OutboxParts } from '../lib/outbox/control';
import { DeadLetterStore } from '../lib/outbox/dead-letters';
import { openOutboxStorage } from '../lib/outbox/open-storage';
import { OutboxQueue, systemClock } from '../lib/outbox/queue';
import { openRedisOutbox, type RecordCodec, type RedisOutboxQueue } from '../lib/outbox/redis/index';
import type { RedisConnection } from '../lib/redis/index';
import type { SealedStorage } from '../lib/outbox/sealed-storage';
import { storable, type StoredMessage } from '../lib/outbox/storage';
import { describeIssues } from '../lib/zod-helpers';
import { configClient, runAction, translator } from './action';
import type { NodeConfig, NodeMessage, NodeRedApi, NodeStatus, RuntimeNode } from './node-red';
import { registerNode, statePath } from './register';

/**
 * health-outbox: each message is on disk (`<userDir>/health-bridge/outbox-<id>/`), or in Redis
 * with `state` (a health-redis config node: one queue shared by every instance), before anything
 * else; then a receiver's `msg._ack` is answered, and the message goes out on output 1 with an
 * ack handle of the outbox's own, so the health-ack after the sink settles the delivery. The
 * queue (src/lib/outbox/queue.ts on disk, src/lib/outbox/redis/ with `state`) retries, keeps each
 * patient's order and sends what is too old to output 2; this file only wires them to Node-RED.
 */

/** How often the status is redrawn at most while messages come and go. */
const STATUS_EVERY_MS = 500;
/** Deliveries start once the flows have started, or after this long if that event never comes. */
const START_AT_THE_LATEST_MS = 5_000;

export = function register(RED: NodeRedApi): void {
  const t = translator(RED, 'health-outbox');

  registerNode(RED, 'health-outbox', function HealthOutboxNode(this: RuntimeNode, config: NodeConfig) {
    RED.nodes.createNode(this, config);
    const node = this;
    const parsed = outboxPropertiesSchema.safeParse(config);
    const setupProblem = parsed.success
      ? undefined
      : new CodedError('properties', { detail: describeIssues(parsed.error) });
    // the key of what waits on disk, read at each deploy; also without `encrypt`, to read what an
    // earlier deploy sealed
    const key = parsed.success ? loadAtRestKey() : undefined;
    const sealer = Buffer.isBuffer(key) ? new Sealer(key, `outbox:${String(config.id)}`) : undefined;
    const missingKey: AtRestKeyError | undefined = Buffer.isBuffer(key) ? undefined : key;
    /** Encryption asked for and no usable key: every message is refused rather than stored in clear. */
    const keyProblem = parsed.success && parsed.data.encrypt ? missingKey : undefined;
    const keyStatus = keyProblem ? t(`status.${keyProblem.code}`, keyProblem.params) : undefined;
    // without a user directory (an embedded runtime), beside the process: an outbox must keep its queue somewhere
    const directory = statePath(RED, 'outbox', String(config.id), '', process.cwd())!;
    const deliveries = new Map<string, OpenDelivery>();
    let queue: OutboxQueue | RedisOutboxQueue | undefined;
    let deadLetters: { count(): number; close(): Promise<void> } | undefined;
    /** With `state`: how the records in Redis are sealed (and the patients' order keys made). */
    let codec: RecordCodec | undefined;
    // what the admin API and the sidebar do with this outbox: waits for the storage to open
    let partsOpened!: (parts: OutboxParts) => void;
    let partsFailed!: (error: unknown) => void;
    const parts = new Promise<OutboxParts>((resolve, reject) => { partsOpened = resolve; partsFailed = reject; });
    parts.catch(() => undefined);
    const control = outboxControl(parts, (action, user, count) => node.log(t(`info.${action}`, { user, count })));
    // the gauges read the queue at each scrape; counted whether or not a health-metrics node serves them
    const metrics = outboxMetrics(String(config.id), typeof config.name === 'string' ? config.name : '',
      () => ({ ...(queue?.status() ?? { queued: 0, inFlight: 0 }), deadLetters: deadLetters?.count() ?? 0 }), control);
    let sealed: SealedStorage | undefined;
    /** The code of the last storage error (EIO, ENOSPC): never its text, which may quote a record. */
    let storageProblem: string | undefined;
    /**
     * The storage refuses writes (a full disk): told once when it starts (a warning) and once when
     * it ends (an info line), counted in the status meanwhile; not a line per refused push.
     */
    let refusing: { code: string; refused: number } | undefined;
    let closed = false;
    // Node-RED drops a message sent to a node that does not exist yet: the first deliveries wait
    // until every node of the deploy has started
    let flowsStarted!: () => void;
    const started = new Promise<void>((resolve) => { flowsStarted = resolve; });
    const onFlowsStarted = (): void => flowsStarted();
    RED.events?.once('flows:started', onFlowsStarted);
    const startAnyway = setTimeout(onFlowsStarted, START_AT_THE_LATEST_MS);

    const duration = (ms: number): string => {
      const { unit, count } = shortDuration(ms);
      return t(`duration.${unit}`, { count });
    };
    const meta = (message: StoredMessage) => ({ id: message.id, attempts: message.attempts, enqueuedAt: new Date(message.enqueuedAt).toISOString() });

    let statusTimer: NodeJS.Timeout | undefined;
    const drawStatus = (): void => {
      statusTimer = undefined;
      if (!queue) return;
      if (keyStatus) {
        node.status({ fill: 'red', shape: 'ring', text: keyStatus });
        return;
      }
      if (refusing) {
        const { code, refused: count } = refusing;
        const full = code === 'ENOSPC' || code === 'EDQUOT';
        node.status({ fill: 'red', shape: 'ring', text: full ? t('status.disk-full', { count }) : t('status.refusing', { reason: code, count }) });
        return;
      }
      if (storageProblem) {
        node.status({ fill: 'red', shape: 'ring', text: t('status.error', { reason: storageProblem }) });
        return;
      }
      const status = queue.status();
      const now = Date.now();
      const unreadable = sealed?.unreadable() ?? (queue && 'unreadable' in queue ? queue.unreadable() : 0);
      let shown: NodeStatus;
      if (status.queued === 0 && unreadable > 0) {
        shown = { fill: 'red', shape: 'ring', text: t('status.unreadable', { count: unreadable }) };
      } else if (status.queued === 0) {
        shown = { fill: 'green', shape: 'ring', text: t('status.idle') };
      } else {
        const parts = [t('status.queued', { count: status.queued, age: duration(status.oldestAgeMs ?? 0) })];
        if (status.inFlight > 0) parts.push(t('status.in-flight', { count: status.inFlight }));
        if (status.nextAt !== undefined && status.nextAt > now) parts.push(t('status.next', { wait: duration(status.nextAt - now) }));
        if (unreadable > 0) parts.push(t('status.unreadable', { count: unreadable }));
        // waiting past their first try means the hospital is refusing or away
        const fill = unreadable > 0 ? 'red' : status.nextAt !== undefined && status.nextAt > now ? 'yellow' : 'blue';
        shown = { fill, shape: 'dot', text: parts.join(' · ') };
      }
      node.status(shown);
    };
    const statusSoon = (): void => {
      if (!closed) statusTimer ??= setTimeout(drawStatus, STATUS_EVERY_MS);
    };
    // the "next retry in" part counts down without any change in the queue
    const ticker = setInterval(statusSoon, 5_000);

    /** Output 1 and 2 of either queue: a delivery with the outbox's own ack handle, a dead letter. */
    const delivery = (properties: OutboxProperties) => ({
      send: (message: StoredMessage) => {
        if (message.attempts > 0) metrics.retried();
        // the delivery's deadline is the outbox's own ackTimeout, not the push's it came with
        const delivery = openDelivery(properties.ackTimeout * 1000);
        deliveries.set(message.id, delivery);
        void delivery.outcome.then(({ outcome, error }) => {
          deliveries.delete(message.id);
          if (outcome === 'timeout') return; // the queue's own ackTimeout settled it
          const settled = queue?.settle(message.id, outcome === 'success' ? undefined : errorText(error ?? outcome));
          if (settled && outcome === 'success') metrics.delivered();
        });
        try {
          const out: NodeMessage = { ...message.msg, _ack: delivery.ackId, outbox: meta(message) };
          // a request timeout health-fhir derived from the push's deadline: now the outbox's
          if (typeof out.requestTimeout === 'number') out.requestTimeout = Math.max(1, properties.ackTimeout * 1000 - 250);
          node.send([out, null]);
        } catch (error) {
          delivery.cancel(); // the queue counts the throw as a failed delivery
          throw error;
        }
      },
      abandon: (message: StoredMessage) => deliveries.get(message.id)?.cancel(),
      deadLetter: (message: StoredMessage, error: string) => {
        metrics.deadLettered();
        node.send([null, { ...message.msg, error: { message: error }, outbox: meta(message) }]);
      },
    });

    const state = outboxStateSchema.parse(config.state);
    const redis = parsed.success && state ? configClient<RedisConnection>(RED, state, 'health-redis') : undefined;
    /** The queue's settings, whichever keeps it. */
    const queueSettings = (properties: OutboxProperties) => ({
      paused: true,
      concurrency: properties.concurrency,
      ackTimeoutMs: properties.ackTimeout * 1000,
      retryMinMs: properties.retryMinSeconds * 1000,
      retryMaxMs: properties.retryMaxSeconds * 1000,
      maxAgeMs: properties.maxAgeHours * 3_600_000,
      ackTimeoutText: t('errors.no-answer', { seconds: properties.ackTimeout }),
      ...delivery(properties),
      onChange: statusSoon,
    });
    const opened = <Queue extends { start(): void }>(ready: Queue, parts: OutboxParts): Queue => {
      statusSoon();
      void started.then(() => ready.start());
      partsOpened(parts);
      return ready;
    };

    // with `state`: the queue shared in Redis (a missing or invalid health-redis node is an error
    // said at deploy, never a silent fallback to this instance's own disk)
    const openShared = async (properties: OutboxProperties, connection: RedisConnection): Promise<RedisOutboxQueue> => {
      const shared = openRedisOutbox({
        ...queueSettings(properties),
        client: connection.use(),
        beforeEnqueue: () => connection.firstConnection(),
        prefix: connection.prefix,
        nodeId: String(config.id),
        encrypt: properties.encrypt,
        ...(sealer && { sealer }),
        ...(missingKey && { noSealer: missingKey.code }),
        keepDeadLettersMs: properties.keepDeadLettersDays * 86_400_000,
        clock: systemClock,
        onUndecryptable: (reason, count) => {
          node.warn(t(missingKey ? 'warn.sealed-no-key' : 'warn.undecryptable', { count, reason }));
          statusSoon();
        },
        // told once per episode (Redis down), and its end; not while the first connection after
        // the deploy is still being made (a poll then fails with nothing lost: a false error)
        onError: (error) => {
          if (connection.state === 'connecting') return false;
          storageProblem = errorCode(error);
          node.error(t('errors.storage', { reason: storageProblem }));
          statusSoon();
          return true;
        },
        onRecovered: () => {
          storageProblem = undefined;
          statusSoon();
        },
        onDeadLetterError: (error) => node.error(t('errors.storage', { reason: errorCode(error) })),
      });
      codec = shared.codec;
      queue = shared.queue;
      deadLetters = shared.deadLetters;
      return opened(shared.queue, { queue: shared.queue, deadLetters: shared.deadLetters });
    };

    const openOnDisk = (properties: OutboxProperties): Promise<OutboxQueue> =>
      openOutboxStorage({
        directory,
        encrypt: properties.encrypt,
        ...(sealer && { sealer }),
        ...(missingKey && { noSealer: missingKey.code }),
        // never a part of the record: how many, and why (another key, damage, no key)
        onUndecryptable: (reason, count) => {
          node.warn(t(missingKey ? 'warn.sealed-no-key' : 'warn.undecryptable', { count, reason }));
          statusSoon();
        },
        onDamage: (file, offset, reason) => node.warn(t('warn.damage', { file: path.basename(file), offset, reason })),
        onRefused: (code) => {
          if (!refusing) node.warn(t('warn.refusing', { reason: code }));
          refusing = { code, refused: refusing?.refused ?? 0 };
          statusSoon();
        },
        onWritable: () => {
          if (refusing) node.log(t('info.writable', { count: refusing.refused }));
          refusing = undefined;
          storageProblem = undefined;
          statusSoon();
        },
      }).then(async ({ storage, deadLetters: deadStorage }) => {
        sealed = storage;
        const kept = await DeadLetterStore.open(deadStorage, {
          keepMs: properties.keepDeadLettersDays * 86_400_000,
          clock: systemClock,
          onError: (error) => node.error(t('errors.storage', { reason: errorCode(error) })),
        }).catch(async (error: unknown) => {
          await Promise.allSettled([storage.close(), deadStorage.close()]);
          throw error;
        });
        deadLetters = kept;
        const fileQueue = new OutboxQueue({
          storage,
          ...queueSettings(properties),
          keep: (message, error) => kept.keep(message, error),
          onUnreadable: (code) => node.warn(t('warn.unreadable', { code })),
          onError: (error) => {
            storageProblem = errorCode(error);
            // a refused write (a delivery's record) while the disk is full was told once already
            if (!refusing) node.error(t('errors.storage', { reason: storageProblem }));
            statusSoon();
          },
        });
        queue = fileQueue;
        return opened(fileQueue, { queue: fileQueue, deadLetters: kept });
      });

    const opening: Promise<OutboxQueue | RedisOutboxQueue> | undefined = !parsed.success
      ? undefined
      : redis?.problem
        ? Promise.reject(redis.problem)
        : redis
          ? openShared(parsed.data, redis.client)
          : openOnDisk(parsed.data);
    if (!opening) partsFailed(setupProblem);
    opening?.catch((error: unknown) => {
      partsFailed(error);
      storageProblem = errorCode(error);
      node.status({ fill: 'red', shape: 'ring', text: t('status.error', { reason: storageProblem }) });
      node.error(t('errors.storage', { reason: storageProblem }));
    });

    if (keyProblem) {
      // once per deploy, in the log too: the status alone is easy to miss on a busy tab
      setImmediate(() => {
        if (!closed) node.error(t(`errors.${keyProblem.code}`, keyProblem.params));
      });
    }

    runAction(RED, this, {
      translate: t,
      setupProblem,
      failureStatus: (error) =>
        error === setupProblem ? undefined : error === keyProblem ? keyStatus : t('status.error', { reason: storageProblem ?? '' }),
      // a push whose message this outbox cannot take fails at once (the vendor tries again),
      // not at the receiver's ackTimeout; a write that failed has failed it already (release)
      failed: (msg, error) => {
        if ((error === setupProblem || error === keyProblem) && typeof msg._ack === 'string') reachHealthAck(msg._ack, true, error);
      },
    }, async (msg: NodeMessage) => {
      if (!opening) throw setupProblem;
      // encryption asked for and no key: refused (the vendor is answered with failure and pushes
      // again), never stored in clear; a retry request stores nothing and still works
      if (keyProblem && msg.topic !== RETRY_TOPIC) throw keyProblem;
      const ackId = typeof msg._ack === 'string' ? msg._ack : undefined;
      // held at once, so a copy on its way to a second outbox holds the push too (ack-registry.ts)
      const held = ackId !== undefined && hold(ackId);
      try {
        const ready = await opening;
        if (msg.topic === RETRY_TOPIC) {
          await ready.retryAll();
        } else {
          const stored = storable(msg);
          await ready.enqueue(stored, patientKeyOf(stored, sealed?.orderKey ?? codec?.orderKey));
        }
      } catch (error) {
        storageProblem = errorCode(error);
        statusSoon();
        const failure = new CodedError('storage', { reason: storageProblem });
        if (held) release(ackId, failure);
        if (refusing) {
          refusing.refused++;
          // the push is answered with the failure (the vendor pushes it again) and the episode was
          // told once: no line for each push. A message no push waits for still fails loudly (a
          // Catch node, else the log): nothing else would tell of it.
          if (held) return {};
        }
        throw failure;
      }
      if (held) release(ackId);
      if (storageProblem) {
        storageProblem = undefined; // the disk takes messages again
        statusSoon();
      }
      return {};
    });

    node.on('close', (_removed, done) => {
      closed = true;
      metrics.close();
      clearTimeout(startAnyway);
      RED.events?.removeListener('flows:started', onFlowsStarted);
      clearInterval(ticker);
      if (statusTimer) clearTimeout(statusTimer);
      for (const delivery of deliveries.values()) delivery.cancel();
      deliveries.clear();
      // the open queue is closed at once, not a tick later: on a redeploy the health-redis node
      // closes its connection in the same turn, and what the queue sends on closing must go first
      void (queue ? queue.close() : (opening ?? Promise.resolve(undefined)).then((ready) => ready?.close()))
        .catch(() => undefined)
        .then(() => deadLetters?.close())
        .catch(() => undefined)
        .finally(() => done());
    });
  });
};
