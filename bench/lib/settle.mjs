// What the memory figures of the benchmark's child processes read, said once (run them with --expose-gc).
import v8 from 'node:v8';

/**
 * Full collections until the heap stops shrinking, so what is left is what is alive; the pauses
 * let V8's background threads give freed pages back to the system before RSS is read.
 */
export async function settle() {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const used = process.memoryUsage().heapUsed;
    if (used >= last && i >= 2) break;
    last = used;
  }
  const usage = process.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
  return { rss: usage.rss, heapTotal: usage.heapTotal, heapUsed: usage.heapUsed, external: usage.external, newSpace };
}
