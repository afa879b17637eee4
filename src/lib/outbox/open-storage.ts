import path from 'node:path';
import type { Sealer } from '../at-rest';
import { FileLog, type FileLogOptions } from './file-log/index';
import { SealedStorage, type SealedStorageOptions } from './sealed-storage';

/**
 * Where an outbox without `state` keeps its messages: the file log in the outbox's own directory,
 * sealed at rest (sealed-storage.ts), with its dead letters in a directory inside it. An outbox
 * with `state` (a health-redis config node) keeps them in Redis instead, shared by every
 * instance, through a queue of its own (redis/index.ts `openRedisOutbox`): the node picks one of
 * the two by `state`, and the admin API and the status use either the same way.
 */

/** The dead letters' directory, inside the outbox's own. */
export const DEAD_LETTERS_DIRECTORY = 'dead-letters';

export interface OpenOutboxStorageOptions extends Omit<FileLogOptions, 'directory'>, Omit<SealedStorageOptions, 'sealer'> {
  /** The outbox's own directory, for the file log. */
  directory: string;
  sealer?: Sealer;
}

export interface OpenedOutboxStorage {
  storage: SealedStorage;
  /** Where the dead letters are kept (dead-letters.ts): a storage of the same kind, sealed the same. */
  deadLetters: SealedStorage;
}

export async function openOutboxStorage(options: OpenOutboxStorageOptions): Promise<OpenedOutboxStorage> {
  const { directory, encrypt, sealer, noSealer, onUndecryptable, ...fileOptions } = options;
  const sealing = {
    encrypt,
    ...(sealer && { sealer }),
    ...(noSealer !== undefined && { noSealer }),
  };
  const log = await FileLog.open({ directory, ...fileOptions });
  const storage = new SealedStorage(log, { ...sealing, ...(onUndecryptable && { onUndecryptable }) });
  // a directory inside the queue's (which reads only its own segment files): 0700 as well. Its
  // refused writes are the keeping's failures, not the queue's: no episode of refused pushes
  const { onRefused: _queueOnly, onWritable: _queueOnlyToo, ...deadOptions } = fileOptions;
  let dead: FileLog;
  try {
    dead = await FileLog.open({ ...deadOptions, directory: path.join(directory, DEAD_LETTERS_DIRECTORY) });
  } catch (error) {
    await log.close();
    throw error;
  }
  return { storage, deadLetters: new SealedStorage(dead, sealing) };
}
