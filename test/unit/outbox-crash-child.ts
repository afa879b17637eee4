// Run by outbox-crash.test.ts: works a FileLog in `directory` as an outbox does (appends, leases,
// deliveries, failures, dead letters, retry-all, several at once) until it is killed, and tells
// the parent over IPC each thing that is durable: an append once its promise resolved (id and
// the number in its payload), a settle once its promise resolved; and before settling, which
// messages it is about to settle (the parent cannot know whether such a settle reached the disk
// before the kill, so it expects either). That report is handed to the OS before the settle
// starts, so a kill cannot keep it from the parent.
//
// With a third argument `full`, the disk fills now and then: for a while every write is refused
// (the first of them after a short write, as write(2) does when it runs out of room) and some
// fsyncs fail; each append refused is reported with its number, and must never come back.
import fs from 'node:fs';
import { openLog } from './outbox-open';

const [directory, seedText, mode] = process.argv.slice(2);
let seed = Number(seedText) || 1;
const tell = (report: object): Promise<void> =>
  new Promise((resolve, reject) => process.send?.(report, undefined, undefined, (error) => (error ? reject(error) : resolve())));
const random = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

/** A disk that is full now and then (see above), driven by the same seeded random numbers. */
function fillNowAndThen(): void {
  const write = fs.write;
  const fdatasync = fs.fdatasync;
  let full = 0; // writes left in the current episode of a full disk
  let shortWrite = false;
  const refuse = (callback: (error: NodeJS.ErrnoException) => void, code: string, syscall: string): void => {
    process.nextTick(callback, Object.assign(new Error(`${code}: ${syscall}`), { code, syscall }));
  };
  (fs as unknown as { write: unknown }).write = (fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: NodeJS.ErrnoException | null, written?: number) => void) => {
    if (full === 0 && random() < 0.03) {
      full = 1 + Math.floor(random() * 20);
      shortWrite = true;
    }
    if (full > 0) {
      full--;
      if (shortWrite && length > 1) {
        shortWrite = false;
        write(fd, buffer, offset, 1 + Math.floor(random() * (length - 1)), position, callback as never);
        return;
      }
      refuse(callback, 'ENOSPC', 'write');
      return;
    }
    write(fd, buffer, offset, length, position, callback as never);
  };
  (fs as unknown as { fdatasync: unknown }).fdatasync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    if (random() < 0.01) refuse(callback, 'EIO', 'fdatasync');
    else fdatasync(fd, callback);
  };
}

async function main(): Promise<void> {
  if (mode === 'full') fillNowAndThen();
  // small segments: rolls and compaction happen during the run, and so do kills during them
  const log = await openLog({ directory, segmentBytes: 32 * 1024, compactBelow: 0.5 });
  let counter = Number(seedText) * 1_000_000;
  process.send?.({ type: 'ready', count: log.stats().count });
  const worker = async (): Promise<void> => {
    for (;;) {
      const roll = random();
      if (roll < 0.55) {
        const n = counter++;
        let stored;
        try {
          stored = await log.append({ topic: 'crash', payload: { n, text: 'x'.repeat(Math.floor(random() * 1500)) } }, Date.now());
        } catch (error) {
          if (mode !== 'full') throw error;
          await tell({ type: 'refused', n });
          continue;
        }
        process.send?.({ type: 'appended', id: stored.id, n });
      } else if (roll < 0.98) {
        const leased = await log.lease(Infinity, 1 + Math.floor(random() * 4));
        if (leased.length) await tell({ type: 'leased', ids: leased.map((message) => message.id) });
        await Promise.all(leased.map(async (message) => {
          const pick = random();
          const outcome = pick < 0.6 ? { ok: true as const } : pick < 0.9 ? { ok: false as const, error: 'HTTP 503', nextAt: Date.now() } : { dead: true as const, error: 'HTTP 400' };
          try {
            await log.settle(message, outcome);
          } catch (error) {
            // refused: the message may be back after a restart, or not (delivered or dead, it
            // was released in memory): the parent expects either, as for a settle cut by the kill
            if (mode !== 'full') throw error;
            return;
          }
          process.send?.({ type: 'settled', id: message.id, gone: !('ok' in outcome && outcome.ok === false) });
        }));
        if (leased.length === 0) await new Promise((resolve) => setImmediate(resolve));
      } else {
        await log.retryAll(Date.now()).catch((error: unknown) => {
          if (mode !== 'full') throw error;
        });
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
