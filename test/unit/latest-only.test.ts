import assert from 'node:assert/strict';
import { LatestOnly } from '../../src/lib/latest-only';

describe('a status redrawn at most every interval', function () {
  it('shows the first value at once and the last of a burst at the end of the interval, nothing in between', async function () {
    const shown: number[] = [];
    const status = new LatestOnly<number>((n) => shown.push(n), 50);
    for (let n = 1; n <= 1000; n++) status.push(n);
    assert.deepEqual(shown, [1]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(shown, [1, 1000]);
  });

  it('shows a value at once again after a quiet interval, and drops a waiting one when cancelled', async function () {
    const shown: string[] = [];
    const status = new LatestOnly<string>((s) => shown.push(s), 30);
    status.push('a');
    await new Promise((resolve) => setTimeout(resolve, 50));
    status.push('b');
    status.push('c');
    status.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(shown, ['a', 'b']);
  });
});
