// The package's outbox file log as the bench drives it (append, lease, settle, stats, close), from
// a package's dist/lib/outbox: since the storage was narrowed to durability, with the queue's
// index (schedule.js) over it; in a package from before, the file log alone, which scheduled.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * `wrap` puts a storage around the log first (SealedStorage); `options` are the file log's.
 * Resolves to what hands out: the schedule, or the (wrapped) log of an older package.
 */
export async function openOutboxLog(outboxDir, options, wrap = (log) => log) {
  // 'file-log' resolves to file-log.js (before the split) or file-log/index.js (after)
  const { FileLog } = require(path.join(outboxDir, 'file-log'));
  const storage = wrap(await FileLog.open(options));
  const schedule = path.join(outboxDir, 'schedule.js');
  if (!fs.existsSync(schedule)) return storage;
  return require(schedule).OutboxSchedule.load(storage);
}
