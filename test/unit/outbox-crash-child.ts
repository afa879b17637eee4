// Run by outbox-crash.test.ts: works a FileLog in `directory` as an outbox does (appends, leases,
// deliveries, failures, dead letters, retry-all, several at once) until it is killed, and tells
// the parent over IPC each thing that is durable: an append once its promise resolved (id and
// the number in its payload), a settle once its promise resolved; and before settling, which
// messages it is about to settle (the parent cannot know whether such a settle reached the disk
// before the kill, so it expects either). That report is handed to the OS before the settle
// starts, so a kill cannot keep it from the parent.
import { FileLog } from '../../src/lib/outbox/file-log';

const [directory, seedText] = process.argv.slice(2);
let seed = Number(seedText) || 1;
const tell = (report: object): Promise<void> =>
  new Promise((resolve, reject) => process.send?.(report, undefined, undefined, (error) => (error ? reject(error) : resolve())));
const random = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

async function main(): Promise<void> {
  // small segments: rolls and compaction happen during the run, and so do kills during them
  const log = await FileLog.open({ directory, segmentBytes: 32 * 1024, compactBelow: 0.5 });
  let counter = Number(seedText) * 1_000_000;
  process.send?.({ type: 'ready', count: log.stats().count });
  const worker = async (): Promise<void> => {
    for (;;) {
      const roll = random();
      if (roll < 0.55) {
        const n = counter++;
        const stored = await log.append({ topic: 'crash', payload: { n, text: 'x'.repeat(Math.floor(random() * 1500)) } }, Date.now());
        process.send?.({ type: 'appended', id: stored.id, n });
      } else if (roll < 0.98) {
        const leased = await log.lease(Infinity, 1 + Math.floor(random() * 4));
        if (leased.length) await tell({ type: 'leased', ids: leased.map((message) => message.id) });
        await Promise.all(leased.map(async (message) => {
          const pick = random();
          const outcome = pick < 0.6 ? { ok: true as const } : pick < 0.9 ? { ok: false as const, error: 'HTTP 503', nextAt: Date.now() } : { dead: true as const, error: 'HTTP 400' };
          await log.settle(message, outcome);
          process.send?.({ type: 'settled', id: message.id, gone: !('ok' in outcome && outcome.ok === false) });
        }));
        if (leased.length === 0) await new Promise((resolve) => setImmediate(resolve));
      } else {
        await log.retryAll(Date.now());
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
