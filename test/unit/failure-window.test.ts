import assert from 'node:assert/strict';
import { FailureWindow } from '../../src/lib/failure-window';

describe('a failure lasting a while is one line a window, not one a push', function () {
  it('tells the first failure, counts the rest of its window and reports them once when it closes', async function () {
    const reports: number[] = [];
    const window = new FailureWindow(100, (count) => reports.push(count));
    assert.equal(window.quiet(), false, 'the first is told');
    assert.equal(window.quiet(), true);
    assert.equal(window.quiet(), true);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(reports, [2]);
    assert.equal(window.quiet(), false, 'a new window after it');
    window.close();
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(reports, [2], 'closed: nothing more is told');
  });
});
