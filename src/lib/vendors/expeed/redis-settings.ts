import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { safeMessage } from '../../redis/failure';
import type { SettingResult } from './push';
import { KEEP_MS, SettingResults, type SettingWait, type SettingWaits } from './settings';

/**
 * The setting results of an account with `state`, shared through Redis: the platform pushes a
 * result to whichever instance the load balancer picks, and the expeed-set waiting for it may run
 * on another one.
 * - An expeed-in's result is handed to this instance's waits, stored for KEEP_MS under
 *   `<prefix>expeed:<account id>:setting:<message id>` (the platform may push it before its
 *   answer to the POST is read, so before anyone waits), and published on the channel
 *   `<prefix>expeed:<account id>:settings`.
 * - A wait listens on that channel (one subscriber connection per account, opened at the first
 *   wait), reads the stored result once at its start, and again every POLL_MS while it waits:
 *   a message published while the subscriber was reconnecting is not lost that way.
 * What is shared is the message id and the outcome: no device id, no device key.
 */

/** A connection of its own for the channel (a subscribed Redis connection sends no other command). */
export interface ExpeedRedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  on(event: 'error' | 'ready', listener: (...args: unknown[]) => void): unknown;
  destroy(): void;
}

export interface ExpeedRedisPublisher {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { expiration: { type: 'PX'; value: number } }): Promise<string | null>;
  publish(channel: string, message: string): Promise<number>;
}

export interface RedisSettingResultsOptions {
  /** `<health-redis prefix>expeed:<account id>:`. */
  keyPrefix: string;
  /** Resolves once the connection is up (a bounded wait); a result is shared then. */
  connected?(): Promise<void>;
  /** A new connection to the same server (node-redis: `client.duplicate()`). */
  subscriber(): ExpeedRedisSubscriber;
  /** A result that could not be shared (Redis unreachable): a wait on another instance will time out. */
  onError?(error: unknown): void;
  /** How often a wait reads the stored result; 1 s by default. */
  pollMs?: number;
}

const POLL_MS = 1000;

const shared = z.object({ from: z.string(), messageId: z.string(), success: z.boolean(), setResult: z.number() });

function parse(text: string | null): z.infer<typeof shared> | undefined {
  if (text === null) return undefined;
  try {
    const parsed = shared.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class RedisSettingResults implements SettingWaits {
  private readonly local = new SettingResults();
  /** Tells this instance's own messages apart: they were handed to its waits already. */
  private readonly instance = randomBytes(8).toString('hex');
  private subscriber: ExpeedRedisSubscriber | undefined;
  private closed = false;

  constructor(private readonly client: ExpeedRedisPublisher, private readonly options: RedisSettingResultsOptions) {}

  deliver(result: SettingResult): void {
    this.local.deliver(result);
    const text = JSON.stringify({ from: this.instance, messageId: result.messageId, success: result.success, setResult: result.setResult });
    (this.options.connected?.() ?? Promise.resolve())
      .then(() =>
        Promise.all([
          this.client.set(this.resultKey(result.messageId), text, { expiration: { type: 'PX', value: KEEP_MS } }),
          this.client.publish(this.channel, text),
        ]),
      )
      .catch((error: unknown) => this.options.onError?.(new Error(safeMessage(error))));
  }

  wait(messageId: string, timeoutMs: number, onTimeout: () => unknown): SettingWait {
    this.listen();
    const wait = this.local.wait(messageId, timeoutMs, onTimeout);
    let waiting = true;
    const look = (): void => {
      this.client.get(this.resultKey(messageId)).then(
        (text) => {
          const found = parse(text);
          if (found && waiting) this.local.deliver({ messageId: found.messageId, success: found.success, setResult: found.setResult });
        },
        // Redis unreachable now: the next look, or the channel, may still bring it
        () => undefined,
      );
    };
    look();
    const timer = setInterval(look, this.options.pollMs ?? POLL_MS);
    wait.result
      .finally(() => {
        waiting = false;
        clearInterval(timer);
      })
      .catch(() => undefined);
    return wait;
  }

  close(): void {
    this.closed = true;
    this.local.close();
    try {
      this.subscriber?.destroy();
    } catch {
      // never connected: nothing to close
    }
    this.subscriber = undefined;
  }

  private get channel(): string {
    return `${this.options.keyPrefix}settings`;
  }

  private resultKey(messageId: string): string {
    return `${this.options.keyPrefix}setting:${messageId}`;
  }

  /** Subscribes once; node-redis subscribes again by itself after a reconnection. */
  private listen(): void {
    if (this.subscriber || this.closed) return;
    const subscriber = this.options.subscriber();
    this.subscriber = subscriber;
    let subscribed = false;
    const onMessage = (message: string): void => {
      const found = parse(message);
      if (found && found.from !== this.instance) this.local.deliver({ messageId: found.messageId, success: found.success, setResult: found.setResult });
    };
    // its connection problems are the health-redis node's to report, on the main connection
    subscriber.on('error', () => undefined);
    subscriber.on('ready', () => {
      if (subscribed || this.closed) return;
      subscriber.subscribe(this.channel, onMessage).then(() => (subscribed = true), () => undefined);
    });
    subscriber.connect().catch(() => undefined);
  }
}
