import type { Sealer } from '../../at-rest';
import type { Clock } from '../queue';
import { RedisDeadLetters } from './dead-letters';
import { RedisOutboxQueue, type RedisOutboxQueueOptions } from './queue';
import { RecordCodec, type RedisScriptClient } from './records';

export { RedisOutboxQueue } from './queue';
export { RedisDeadLetters } from './dead-letters';
export { RecordCodec } from './records';

/**
 * The outbox of a node with `state`: its queue and dead letters in Redis, under
 * `<prefix>outbox:<node id>:`, sealed as the file outbox seals (records.ts). Nothing is read at
 * open (no index in memory: Redis holds it), so a Redis that is down at deploy costs no
 * redeploy: the first command that succeeds starts the work.
 */
export interface OpenRedisOutboxOptions extends Omit<RedisOutboxQueueOptions, 'client' | 'keyPrefix' | 'codec' | 'keepDeadLetters'> {
  client: RedisScriptClient;
  /** The health-redis prefix. */
  prefix: string;
  nodeId: string;
  encrypt: boolean;
  sealer?: Sealer;
  noSealer?: string;
  keepDeadLettersMs: number;
  clock: Clock;
  onDeadLetterError?(error: unknown): void;
}

export function openRedisOutbox(options: OpenRedisOutboxOptions): { queue: RedisOutboxQueue; deadLetters: RedisDeadLetters; codec: RecordCodec } {
  const { client, prefix, nodeId, encrypt, sealer, noSealer, keepDeadLettersMs, onDeadLetterError, ...queueOptions } = options;
  const keyPrefix = `${prefix}outbox:${nodeId}:`;
  const codec = new RecordCodec({ encrypt, ...(sealer && { sealer }), ...(noSealer !== undefined && { noSealer }) });
  const queue = new RedisOutboxQueue({ ...queueOptions, client, keyPrefix, codec, keepDeadLetters: keepDeadLettersMs > 0 });
  const deadLetters = new RedisDeadLetters({
    client, keyPrefix, codec, keepMs: keepDeadLettersMs, clock: options.clock,
    count: () => queue.deadLetterCount(),
    ...(onDeadLetterError && { onError: onDeadLetterError }),
  });
  return { queue, deadLetters, codec };
}
