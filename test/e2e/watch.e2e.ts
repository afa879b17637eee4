import assert from 'node:assert/strict';
import { request } from '../harness/http';
import { NODE_RED_MAJOR } from '../harness/node-red';
import { DEFAULT_RULES } from '../../src/lib/watch/rules';
import { screenshotPath } from './browser';
import { useEditorSession } from './session';

/**
 * health-watch's rule table in the editor (Node-RED's editableList): a new node shows the default
 * rules, a row typed in is saved into the node's `rules` and deployed as the runtime reads it, and
 * a row with no threshold is marked.
 */
describe(`health-watch's rule table in the editor, Node-RED ${NODE_RED_MAJOR}`, function () {
  this.timeout(60_000);
  const session = useEditorSession();

  it('shows the default rules, adds a row, marks one without a threshold, and deploys the table', async function () {
    const { editor, installed } = session;
    const id = await editor.addNode('health-watch', 200, 100);
    const dialog = await editor.edit(id);
    const rows = dialog.locator('#node-input-rules-list li');
    assert.equal(await rows.count(), DEFAULT_RULES.length, 'a new node shows the default rules');
    assert.equal(await rows.first().locator('input.health-watch-name').inputValue(), DEFAULT_RULES[0]!.name);
    assert.equal(await rows.first().locator('input.health-watch-below').inputValue(), String(DEFAULT_RULES[0]!.below));

    await dialog.locator('.red-ui-editableList-addButton').click();
    const added = rows.last();
    await editor.type(added.locator('input.health-watch-name'), 'tachycardia');
    await added.locator('select.health-watch-kind').selectOption('heart_rate');
    await editor.type(added.locator('input.health-watch-value'), 'heartRate');
    const isMarked = (input: string): Promise<boolean> => added.locator(`input.health-watch-${input}`).evaluate((element) => element.classList.contains('input-error'));
    assert.equal(await isMarked('above'), true, 'no threshold yet: marked');
    await editor.type(added.locator('input.health-watch-above'), '130');
    assert.equal(await isMarked('above'), false);
    await added.locator('select.health-watch-severity').selectOption('urgent');
    await dialog.screenshot({ path: screenshotPath('health-watch.rules.en-US') });
    await editor.done();
    await editor.deploy();

    const flows = await request(`${installed.nodeRed.url}/flows`, { headers: { accept: 'application/json' } });
    const node = (flows.json as Array<{ id: string; rules?: unknown[] }>).find((found) => found.id === id);
    assert.ok(node, 'the node is deployed');
    assert.equal(node.rules?.length, DEFAULT_RULES.length + 1);
    assert.deepEqual(node.rules?.at(-1), { name: 'tachycardia', kind: 'heart_rate', value: 'heartRate', severity: 'urgent', above: 130 });
    assert.doesNotMatch(installed.nodeRed.logs, /health-watch.*properties are invalid/);
  });
});
