import path from 'node:path';
import type { Sealer } from '../at-rest';
import { FileLog, type FileLogOptions } from './file-log/index';
import { SealedStorage, type SealedStorageOptions } from './sealed-storage';

/**
 * The one place that picks where an outbox's messages wait, from the node's `state` property: the
 * file log in the outbox's own directory today. `state` names a health-redis config node, which
 * does not exist yet; when it does, a Redis stream is opened here instead, and nothing else
 * changes (the queue needs only `OutboxStorage`). Whatever the backend, what it keeps is sealed
 * at rest the same way (sealed-storage.ts).
 */

/** The dead letters' directory, inside the outbox's own. */
export const DEAD_LETTERS_DIRECTORY = 'dead-letters';

export interface OpenOutboxStorageOptions extends Omit<FileLogOptions, 'directory'>, Omit<SealedStorageOptions, 'sealer'> {
  /** The node's `state`: '' for the file log; the id of a health-redis config node (not yet). */
  state: string;
  /** The outbox's own directory, for the file log. */
  directory: string;
  sealer?: Sealer;
}

export interface OpenedOutboxStorage {
  storage: SealedStorage;
  /** Where the dead letters are kept (dead-letters.ts): a storage of the same kind, sealed the same. */
  deadLetters: SealedStorage;
  /** `state` names a backend this release does not have: the file log keeps the messages meanwhile. */
  stateIgnored: boolean;
}

export async function openOutboxStorage(options: OpenOutboxStorageOptions): Promise<OpenedOutboxStorage> {
  const { state, directory, encrypt, sealer, noSealer, onUndecryptable, ...fileOptions } = options;
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
  return { storage, deadLetters: new SealedStorage(dead, sealing), stateIgnored: state !== '' };
}
