import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { backoffMs, queueSettings, type Clock, type OutboxStatus, type QueuedEntry } from '../queue';
import { KeptUnreadable, type StoredMessage, type StoredMsg } from '../storage';
import { flat, runScript, type DeadRecord, type QueueRecord, type RecordCodec, type RedisScriptClient } from './records';
import { ENQUEUE, FAIL, FIGURES, LEASE, PAGE, REMOVE, RETRY_ALL } from './scripts';

/**
 * `health-outbox` with `state`: the queue shared by every Node-RED instance running the flow,
 * in Redis (the keys and the scripts that change them: scripts.ts). The same contract as the
 * file queue (../queue.ts) and the same API, so the node and the admin API use either:
 *
 * - A message is stored once Redis has answered the enqueue script; then the vendor is answered.
 * - Any instance hands it out: each reads the stream `ready` in the consumer group `deliver`
 *   under a consumer name of its own, up to `concurrency` at a time. A delivery stays pending
 *   in the group until it is settled; one pending longer than `ackTimeoutMs` belongs to an
 *   instance that died (a living one settles its own at `ackTimeoutMs`, as a failure), and is
 *   taken over (XAUTOCLAIM) by whichever instance polls next: at least once.
 * - A failed delivery leaves the stream (acknowledged) for the sorted set `retry` until due, so a
 *   message waiting out its backoff never looks like a dead instance's delivery; every poll moves
 *   the due ones back into the stream.
 * - Order per patient: only a patient's oldest waiting message is ever in the stream (or in
 *   `retry`, or in flight); its removal (delivered or dead) puts the next one in, whichever
 *   instance holds either. A reading the hospital always refuses therefore holds its patient back
 *   until it dies at `maxAgeMs` (the file queue's judgement of refused messages is per process
 *   and not kept here).
 * - Settling checks first that the delivery is still this consumer's: one taken over by another
 *   instance meanwhile is left to it.
 * - What the status and the admin API show is read from Redis (the whole shared queue), every
 *   second and after each change, never this instance's share.
 * - Redis unreachable: the enqueue rejects (the vendor is answered with failure and pushes again),
 *   `onError` is told once, `onRecovered` once it answers again; nothing needs a redeploy.
 */

export interface RedisOutboxQueueOptions {
  client: RedisScriptClient;
  /** `<health-redis prefix>outbox:<node id>:`. */
  keyPrefix: string;
  codec: RecordCodec;
  send(message: StoredMessage): void;
  deadLetter(message: StoredMessage, error: string): void;
  abandon?(message: StoredMessage): void;
  ackTimeoutText?: string;
  concurrency?: number;
  ackTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  maxAgeMs?: number;
  /** Whether a dead letter is kept (keepDeadLettersDays > 0). */
  keepDeadLetters?: boolean;
  clock?: Clock;
  paused?: boolean;
  /** How often the stream is read while nothing happens here (another instance's enqueue, a due retry). */
  pollMs?: number;
  /**
   * A wait before storing a message while the connection is still being made for the first time
   * after a deploy (`RedisConnection.firstConnection`): a push in that moment is stored, not refused.
   */
  beforeEnqueue?: () => Promise<void> | undefined;
  /**
   * Redis failed (told once per episode). `false`: not taken as the start of an episode (the first
   * connection is still being made), so the next failure is told again.
   */
  onError?(error: unknown): boolean | void;
  /** Redis answers again after `onError`. */
  onRecovered?(): void;
  /** A waiting message that this process cannot open (another key, no key): left for an instance that can. */
  onUndecryptable?(reason: string, count: number): void;
  onChange?(): void;
}

interface InFlight {
  message: StoredMessage;
  streamId: string;
  timer: unknown;
}

export interface RedisQueueFigures extends OutboxStatus {
  deadLetters: number;
}

const POLL_MS = 200;
const FIGURES_MS = 1000;
/** After a change here, the figures are read again this soon. */
const FIGURES_SOON_MS = 100;
const GROUP = 'deliver';
/** Failures in a row from which a success means an outage ended: every waiting retry is due at once. */
const OUTAGE_FAILURES = 3;
const LONGEST_TIMER_MS = 2_147_483_647;

export class RedisOutboxQueue {
  /** Stable for this queue's life, unique across processes and redeploys. */
  readonly consumer = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly settings: ReturnType<typeof queueSettings>;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly unopened = new Set<string>();
  private reportAt = 1;
  private figures: RedisQueueFigures = { queued: 0, inFlight: 0, deadLetters: 0 };
  private figuresAt = 0;
  private figuresSoon = false;
  private polling = false;
  private pollAgain = false;
  private timer: unknown;
  private started: boolean;
  private closed = false;
  private failing = false;
  private failuresInRow = 0;
  /** Where the next look for deliveries of dead instances starts in the pending list (XAUTOCLAIM's cursor). */
  private claimCursor = '0-0';

  constructor(private readonly options: RedisOutboxQueueOptions) {
    this.settings = queueSettings(options);
    this.clock = this.settings.clock;
    this.pollMs = options.pollMs ?? POLL_MS;
    this.started = !options.paused;
    this.track(this.refreshFigures());
    this.schedule(0);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.pollSoon();
  }

  /** Resolves once Redis has stored the message: then the vendor may be answered. */
  async enqueue(msg: StoredMsg, key = 0): Promise<StoredMessage> {
    if (this.closed) throw new Error('the outbox is closed');
    const connecting = this.options.beforeEnqueue?.();
    if (connecting) await connecting;
    const now = this.clock.now();
    const record: QueueRecord = { e: now, a: 0, n: now, k: key >>> 0, m: this.options.codec.seal(msg) };
    const id = String(await this.run(ENQUEUE, ['seq', 'msgs', 'all', 'ready', this.orderName(record.k)], [JSON.stringify(record), record.k ? '1' : '0']));
    this.recovered();
    this.changed();
    this.pollSoon();
    return { id, ref: 0, seq: Number(id), enqueuedAt: now, nextAt: now, attempts: 0, key: record.k, msg };
  }

  /** A delivery's answer (no error: delivered); false for an id not in flight here. */
  settle(id: string, error?: string): boolean {
    const flight = this.inFlight.get(id);
    if (!flight) return false;
    this.inFlight.delete(id);
    this.clock.clearTimeout(flight.timer);
    this.track(this.finish(flight, error).finally(() => this.pollSoon()));
    return true;
  }

  /** `health-outbox/retry`: every waiting retry, on any instance, is due now. */
  async retryAll(): Promise<void> {
    await this.run(RETRY_ALL, ['ready', 'retry'], []);
    this.changed();
    this.pollSoon();
  }

  /** A page of the shared queue in the order it was accepted, each with its body (or why it cannot be read here). */
  async page(after: number, limit: number): Promise<{ entries: QueuedEntry[]; more: boolean; total: number }> {
    const reply = flat(await this.run(PAGE, ['all', 'msgs', 'ready'], [after, limit + 1, GROUP]));
    const entries: QueuedEntry[] = [];
    for (let at = 0; at + 2 < reply.length; at += 3) {
      const record = JSON.parse(reply[at + 1]) as QueueRecord;
      const state = { ref: 0, seq: Number(reply[at]), enqueuedAt: record.e, nextAt: record.n, attempts: record.a, key: record.k };
      const inFlight = reply[at + 2] === '1';
      try {
        entries.push({ state, inFlight, message: this.message(reply[at], record) });
      } catch (error) {
        entries.push({ state, inFlight, unreadable: error instanceof KeptUnreadable ? error.reason : 'format' });
      }
    }
    await this.refreshFigures();
    const more = entries.length > limit;
    return { entries: entries.slice(0, limit), more, total: this.figures.queued };
  }

  /** The shared queue's figures as last read from Redis (at most a second old). */
  status(): OutboxStatus {
    const { deadLetters: _dead, ...status } = this.figures;
    return status;
  }

  /** Dead letters kept in Redis, as last read. */
  deadLetterCount(): number {
    return this.figures.deadLetters;
  }

  /** Waiting messages this process could not open. */
  unreadable(): number {
    return this.unopened.size;
  }

  async idle(): Promise<void> {
    while (this.work.size || this.polling) await Promise.allSettled([...this.work]);
  }

  /**
   * Stops handing out. What is in flight here stays pending in Redis and is taken over by an
   * instance (this one after a redeploy too) once `ackTimeoutMs` has passed: at least once.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const flight of this.inFlight.values()) this.clock.clearTimeout(flight.timer);
    this.inFlight.clear();
    await this.idle();
  }

  // --- delivery -----------------------------------------------------------------------------

  private async finish(flight: InFlight, error: string | undefined): Promise<void> {
    const { message, streamId } = flight;
    const fence = [GROUP, this.consumer, streamId, message.id];
    const order = this.orderName(message.key);
    const removeKeys = ['ready', 'msgs', 'all', order, 'seq', 'dead', 'dead:index'];
    if (error === undefined) {
      const outageEnded = this.failuresInRow >= OUTAGE_FAILURES;
      this.failuresInRow = 0;
      await this.run(REMOVE, removeKeys, [...fence, message.key ? '1' : '0', '']);
      if (outageEnded) await this.run(RETRY_ALL, ['ready', 'retry'], []);
    } else {
      this.failuresInRow++;
      const now = this.clock.now();
      const deadline = message.enqueuedAt + this.settings.maxAgeMs;
      const attempts = message.attempts + 1;
      if (now >= deadline) {
        // out first: a crash before Redis has it sends it to output 2 again (at least once)
        const dead = { ...message, attempts, lastError: error };
        this.options.deadLetter(dead, error);
        const letter: DeadRecord = {
          d: now,
          k: message.key,
          r: this.options.codec.seal({ msg: message.msg, queuedAt: message.enqueuedAt, tries: attempts, error }),
        };
        await this.run(REMOVE, removeKeys, [...fence, message.key ? '1' : '0', this.options.keepDeadLetters === false ? '' : JSON.stringify(letter)]);
      } else {
        const nextAt = Math.min(now + backoffMs(attempts, this.settings.retryMinMs, this.settings.retryMaxMs), deadline);
        const record: QueueRecord = {
          e: message.enqueuedAt, a: attempts, n: nextAt, k: message.key,
          m: this.options.codec.seal(message.msg), l: this.options.codec.seal(error),
        };
        await this.run(FAIL, ['ready', 'msgs', 'retry'], [...fence, JSON.stringify(record), nextAt]);
      }
    }
    this.recovered();
    this.changed();
  }

  private deliver(message: StoredMessage, streamId: string): void {
    const timer = this.clock.setTimeout(() => {
      this.options.abandon?.(message);
      this.settle(message.id, this.options.ackTimeoutText ?? `no answer within ${this.settings.ackTimeoutMs / 1000} s (ackTimeout)`);
    }, Math.min(this.settings.ackTimeoutMs, LONGEST_TIMER_MS));
    this.inFlight.set(message.id, { message, streamId, timer });
    try {
      this.options.send(message);
    } catch (error) {
      this.settle(message.id, error instanceof Error ? error.message : String(error));
    }
  }

  /** Reads Redis for what may go out (due retries, deliveries of dead instances, new entries) while there is room. */
  private async poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        const room = this.started ? this.settings.concurrency - this.inFlight.size : 0;
        const reply = flat(await this.run(LEASE, ['ready', 'retry', 'msgs'], [GROUP, this.consumer, Math.max(0, room), this.settings.ackTimeoutMs, this.clock.now(), this.claimCursor]));
        this.recovered();
        this.claimCursor = reply[0] ?? '0-0';
        if (this.closed) return; // taken but not sent: pending, taken over after ackTimeout
        for (let at = 1; at + 2 < reply.length; at += 3) {
          const [streamId, id, text] = [reply[at], reply[at + 1], reply[at + 2]];
          // our own delivery, idle past ackTimeout: its own timer settles it
          if (this.inFlight.has(id)) continue;
          let message: StoredMessage;
          try {
            message = this.message(id, JSON.parse(text) as QueueRecord);
          } catch (error) {
            // not ours to open (another key): left pending for an instance that can
            this.unopen(id, error instanceof KeptUnreadable ? error.reason : 'format');
            continue;
          }
          this.deliver(message, streamId);
        }
        if (reply.length > 1) this.changed();
      } while (this.pollAgain && !this.closed && this.inFlight.size < this.settings.concurrency);
      if (this.clock.now() - this.figuresAt >= FIGURES_MS) await this.refreshFigures();
    } catch (error) {
      this.failed(error);
    } finally {
      this.polling = false;
      this.schedule(this.pollMs);
    }
  }

  private async refreshFigures(): Promise<void> {
    const reply = flat(await this.run(FIGURES, ['all', 'msgs', 'ready', 'retry', 'dead:index'], [GROUP]));
    if (reply.length < 6) return;
    const now = this.clock.now();
    const [queued, oldest, inFlight, length, retryAt, dead] = reply;
    // entries in the stream and not pending: due now
    const dueNow = Number(length) > Number(inFlight);
    const nextAt = dueNow ? now : retryAt !== '' ? Number(retryAt) : undefined;
    const before = this.figures;
    this.figures = {
      queued: Number(queued),
      inFlight: Number(inFlight),
      deadLetters: Number(dead),
      ...(oldest !== '' && { oldestAgeMs: Math.max(0, now - Number(oldest)) }),
      ...(nextAt !== undefined && { nextAt }),
    };
    this.figuresAt = now;
    if (before.queued !== this.figures.queued || before.inFlight !== this.figures.inFlight || before.deadLetters !== this.figures.deadLetters || before.nextAt !== this.figures.nextAt) {
      this.options.onChange?.();
    }
  }

  private message(id: string, record: QueueRecord): StoredMessage {
    const msg = this.options.codec.openMsg(record.m);
    const lastError = record.l === undefined ? undefined : String(this.options.codec.open(record.l));
    return {
      id, ref: 0, seq: Number(id), enqueuedAt: record.e, nextAt: record.n, attempts: record.a, key: record.k, msg,
      ...(lastError !== undefined && { lastError }),
    };
  }

  private unopen(id: string, reason: string): void {
    if (this.unopened.has(id)) return;
    this.unopened.add(id);
    if (this.unopened.size >= this.reportAt) {
      this.options.onUndecryptable?.(reason, this.unopened.size);
      while (this.reportAt <= this.unopened.size) this.reportAt *= 10;
    }
  }

  // --- plumbing -----------------------------------------------------------------------------

  private orderName(key: number): string {
    return `order:${key >>> 0}`;
  }

  private run(script: Parameters<typeof runScript>[1], keys: string[], args: Array<string | number>): Promise<unknown> {
    return runScript(this.options.client, script, keys.map((key) => this.options.keyPrefix + key), args).catch((error: unknown) => {
      this.failed(error);
      throw error;
    });
  }

  private failed(error: unknown): void {
    if (this.failing || this.closed) return;
    if (this.options.onError?.(error) === false) return;
    this.failing = true;
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.onRecovered?.();
  }

  private pollSoon(): void {
    if (this.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.track(this.poll());
    }, ms);
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => this.failed(error));
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }

  /** Something changed here: the figures are read again soon (once for a burst of changes). */
  private changed(): void {
    this.options.onChange?.();
    if (this.figuresSoon || this.closed) return;
    this.figuresSoon = true;
    this.clock.setTimeout(() => {
      this.figuresSoon = false;
      if (!this.closed) this.track(this.refreshFigures());
    }, FIGURES_SOON_MS);
  }
}
