import { FileLog, type FileLogOptions } from '../../src/lib/outbox/file-log/index';
import { OutboxSchedule, type ScheduleOptions } from '../../src/lib/outbox/schedule';
import { SealedStorage, type SealedStorageOptions } from '../../src/lib/outbox/sealed-storage';

/** The file log with the queue's index over it: what the outbox hands out, in its order. */
export async function openLog(options: FileLogOptions & ScheduleOptions): Promise<OutboxSchedule> {
  const { onUnreadable, ...logOptions } = options;
  return OutboxSchedule.load(await FileLog.open(logOptions), { onUnreadable });
}

/** The same, sealed at rest, with the sealed storage's own calls beside. */
export async function openSealedLog(
  directory: string,
  options: SealedStorageOptions,
): Promise<OutboxSchedule & Pick<SealedStorage, 'orderKey' | 'unreadable'>> {
  const sealed = new SealedStorage(await FileLog.open({ directory }), options);
  return Object.assign(await OutboxSchedule.load(sealed), { orderKey: sealed.orderKey, unreadable: () => sealed.unreadable() });
}
