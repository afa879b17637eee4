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

export interface OpenOutboxStorageOptions extends Omit<FileLogOptions, 'directory'>, Omit<SealedStorageOptions, 'sealer'> {
  /** The node's `state`: '' for the file log; the id of a health-redis config node (not yet). */
  state: string;
  /** The outbox's own directory, for the file log. */
  directory: string;
  sealer?: Sealer;
}

export interface OpenedOutboxStorage {
  storage: SealedStorage;
  /** `state` names a backend this release does not have: the file log keeps the messages meanwhile. */
  stateIgnored: boolean;
}

export async function openOutboxStorage(options: OpenOutboxStorageOptions): Promise<OpenedOutboxStorage> {
  const { state, directory, encrypt, sealer, noSealer, onUndecryptable, ...fileOptions } = options;
  const log = await FileLog.open({ directory, ...fileOptions });
  const storage = new SealedStorage(log, {
    encrypt,
    ...(sealer && { sealer }),
    ...(noSealer !== undefined && { noSealer }),
    ...(onUndecryptable && { onUndecryptable }),
  });
  return { storage, stateIgnored: state !== '' };
}
