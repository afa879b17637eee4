// The callbacks given to evaluate() run in the page: they are typed against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core, and the Node-RED editor as a user works it: drag
 * from the palette, double-click, type, click Done, wire ports, deploy. Everything is found
 * through what the user sees (labels, dialogs, badges on the canvas); no assertion waits a fixed
 * time: each waits for the page to reach the state it expects.
 */

/** CHROMIUM names another binary; .ci/run installs Debian's package, which puts it here. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What each sidebar tab shows, the same in Node-RED 4 and 5. */
const SIDEBAR_CONTENT = {
  help: '.red-ui-sidebar-help-stack',
  debug: '.red-ui-debug-content-list',
  // the package's own tab (src/plugins/health-bridge.html)
  'health-bridge': '.health-bridge-sidebar',
} as const;

export const SCREENSHOTS = path.resolve(__dirname, '..', '..', '..', 'test', 'e2e', 'screenshots');

export class Browser {
  /** Uncaught exceptions in the editor: an editor script of ours that throws lands here. */
  readonly pageErrors: string[] = [];

  private constructor(
    private readonly context: BrowserContext,
    readonly page: Page,
    private readonly profile: string,
  ) {
    page.on('pageerror', (error) => this.pageErrors.push(error.stack ?? error.message));
  }

  static async launch(): Promise<Browser> {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM)`);
    }
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      // Tall enough that the longest edit dialog (a receiver's) fits in one screenshot.
      viewport: { width: 1280, height: 1200 },
      locale: 'en-US',
      // The copy buttons write to the clipboard; a test reads it back.
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // Leaving an editor with undeployed changes asks first; the tests mean to leave.
    page.on('dialog', (dialog) => void (dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss()));
    // Every wait is for a state the page must reach; when it does not, fail within seconds.
    page.setDefaultTimeout(10_000);
    return new Browser(context, page, profile);
  }

  async close(): Promise<void> {
    await this.context.close();
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

export interface TextCheck {
  key: string;
  shown: string;
}

export class Editor {
  constructor(
    readonly page: Page,
    readonly url: string,
  ) {}

  async open(): Promise<void> {
    await this.page.goto(this.url);
    await this.paletteNode('health-ack').waitFor();
  }

  /** Reloads the editor (a new session: everything comes from the server again). */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.paletteNode('health-ack').waitFor();
  }

  paletteNode(type: string): Locator {
    return this.page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  }

  /** The label on the palette node, as shown (Node-RED breaks long labels into lines). */
  async paletteLabel(type: string): Promise<string> {
    return (await this.paletteNode(type).locator('.red-ui-palette-label').innerText()).replace(/\s+/g, ' ').trim();
  }

  /** The palette category (its container) a node type is shown in. */
  async paletteCategory(type: string): Promise<string> {
    return this.paletteNode(type).evaluate((element) => element.closest('.red-ui-palette-category')?.id ?? '');
  }

  /** The canvas node's group element. */
  node(id: string): Locator {
    return this.page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
  }

  async nodeIds(): Promise<string[]> {
    return this.page.locator('#red-ui-workspace-chart g.red-ui-flow-node-group').evaluateAll((nodes) => nodes.map((node) => node.id));
  }

  /** Drags `type` from the palette (found with the palette's filter) onto the canvas at x, y. */
  async addNode(type: string, x: number, y: number): Promise<string> {
    const before = await this.nodeIds();
    await this.filterPalette(type);
    await this.paletteNode(type).dragTo(this.page.locator('#red-ui-workspace-chart'), { targetPosition: { x, y } });
    // The drop adds the node at once but draws it in the next animation frame.
    await this.page.waitForFunction(
      (known) => Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')).some((node) => !known.includes(node.id)),
      before,
    );
    await this.filterPalette('');
    const added = (await this.nodeIds()).filter((id) => !before.includes(id));
    if (added.length !== 1) throw new Error(`dropping ${type} added ${added.length} nodes`);
    return added[0]!;
  }

  /**
   * Copies a node and pastes the copy at x, y, as a user does: a click selects it, Ctrl+C, the
   * mouse where the copy should go, Ctrl+V (the copy then hangs on the mouse) and a click drops it.
   */
  async copyPaste(id: string, x: number, y: number): Promise<string> {
    const before = await this.nodeIds();
    await this.node(id).locator('rect.red-ui-flow-node').first().click();
    // Selected once the canvas has redrawn it (in the next animation frame).
    await this.page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group.red-ui-flow-node-selected[id="${id}"]`).waitFor({ state: 'attached' });
    await this.page.keyboard.press('Control+c');
    const chart = (await this.page.locator('#red-ui-workspace-chart').boundingBox())!;
    await this.page.mouse.move(chart.x + x, chart.y + y);
    await this.page.keyboard.press('Control+v');
    await this.page.waitForFunction(
      (known) => Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')).some((node) => !known.includes(node.id)),
      before,
    );
    await this.page.mouse.click(chart.x + x, chart.y + y);
    const added = (await this.nodeIds()).filter((nodeId) => !before.includes(nodeId));
    if (added.length !== 1) throw new Error(`pasting added ${added.length} nodes`);
    return added[0]!;
  }

  /**
   * Types into the palette's filter and waits until the palette shows what it matches. Node-RED
   * filters on keyup (fill() alone sends none), 100 ms after the last key, and marks each node it
   * hides with data-filter; a drag that starts before would find the nodes moving under the mouse.
   */
  private async filterPalette(text: string): Promise<void> {
    const input = this.page.locator('#red-ui-palette-search input');
    await input.fill(text);
    await input.press('End');
    await this.page.waitForFunction((value) => {
      const re = new RegExp(value.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&'), 'i');
      return Array.from(document.querySelectorAll('#red-ui-palette-container .red-ui-palette-node')).every((node) => {
        const matches = value === '' || re.test(node.getAttribute('data-palette-type') ?? '') || re.test(node.getAttribute('data-palette-label') ?? '');
        return matches === (node.getAttribute('data-filter') !== 'true');
      });
    }, text);
  }

  /** Types into a field and leaves it, as a user does: Node-RED validates on change. */
  async type(input: Locator, text: string): Promise<void> {
    await input.fill(text);
    await input.press('Tab');
  }

  async label(id: string): Promise<string> {
    return (await this.node(id).locator('.red-ui-flow-node-label-text').allTextContents()).join(' ');
  }

  /**
   * Waits until the node's label on the canvas reads `expected`: Node-RED redraws the canvas in
   * the animation frame after a change (a dialog closed with Done), not when the change is made.
   */
  async waitForLabel(id: string, expected: string): Promise<void> {
    await this.page
      .waitForFunction(
        ([selector, text]) =>
          Array.from(document.querySelectorAll(selector!)).map((element) => element.textContent).join(' ') === text,
        [`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-label-text`, expected] as const,
      )
      .catch(async () => assert.equal(await this.label(id), expected, `the label of ${id}`));
  }

  /** Waits until Node-RED's red triangle (the node fails its definition's validation) shows, or is hidden. */
  async waitForValidity(id: string, invalid: boolean, message: string): Promise<void> {
    await this.waitForBadge(id, 'red-ui-flow-node-error', invalid).catch(() => assert.fail(`${message}: expected the node to be marked ${invalid ? 'invalid' : 'valid'}`));
  }

  /** The edit dialog of the node, opened by a double click. */
  async edit(id: string): Promise<Locator> {
    // On the node's body, not its group: a status text under a deployed node (hl7-send's
    // connection state) widens the group, and its centre can fall on the bare canvas.
    await this.node(id).locator('rect.red-ui-flow-node').first().dblclick();
    const tray = this.page.locator('.red-ui-tray').filter({ has: this.page.locator('#node-dialog-ok') });
    await tray.locator('#dialog-form').waitFor();
    return tray;
  }

  async done(): Promise<void> {
    await this.page.locator('#node-dialog-ok').click();
    await this.page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
  }

  async cancel(): Promise<void> {
    await this.clickUntilGone(this.page.locator('#node-dialog-cancel'));
  }

  /**
   * Clicks a tray's button until the tray is gone: a click that lands while a tray is still
   * sliding in may do nothing (seen on a busy machine: Cancel clicked, the config tray still open
   * 10 s later), so it is clicked again, a few times, while it is still there.
   */
  private async clickUntilGone(button: Locator): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await button.click({ timeout: 3000 });
      } catch (error) {
        // gone while this click waited for it: the last one did close the tray, only slowly
        if ((await button.count()) === 0) return;
        if (attempt === 4) throw error;
        continue;
      }
      try {
        await button.waitFor({ state: 'detached', timeout: 3000 });
        return;
      } catch (error) {
        if (attempt === 4) throw error;
      }
    }
  }

  /** The config node's dialog, opened from the node dialog's "+" beside a config select. */
  async addConfigNode(property: string): Promise<Locator> {
    await this.page.locator(`#node-input-btn-${property}-add`).click();
    const tray = this.page.locator('.red-ui-tray').filter({ has: this.page.locator('#node-config-dialog-ok') });
    await tray.locator('#node-config-dialog-edit-form').waitFor();
    return tray;
  }

  async configDone(): Promise<void> {
    await this.page.locator('#node-config-dialog-ok').click();
    await this.page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
  }

  async configCancel(): Promise<void> {
    await this.clickUntilGone(this.page.locator('#node-config-dialog-cancel'));
  }

  /** The selected config node's dialog, opened with the pencil beside its select. */
  async editConfigNode(property: string): Promise<Locator> {
    // The pencil opens the selected config node only once the dialog has filled the select (on a
    // busy machine a click can come first and do nothing): wait for a selection, and click again
    // while no config tray has opened.
    await this.page.waitForFunction(
      (id) => {
        const select = document.getElementById(id) as HTMLSelectElement | null;
        return !!select && select.value !== '' && select.value !== '_ADD_';
      },
      `node-input-${property}`,
    );
    const tray = this.page.locator('.red-ui-tray').filter({ has: this.page.locator('#node-config-dialog-ok') });
    const form = tray.locator('#node-config-dialog-edit-form');
    for (let attempt = 0; ; attempt++) {
      if (!(await form.isVisible())) await this.page.locator(`#node-input-btn-${property}-edit`).click();
      try {
        await form.waitFor({ timeout: 3000 });
        return tray;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** Picks a type (`str`, `env`, …) from a typed input's menu. */
  async chooseType(typedInput: Locator, type: string): Promise<void> {
    const option = this.page.locator(`.red-ui-typedInput-options a[value="${type}"]`).locator('visible=true');
    // A click that lands while the dialog is still sliding in may open no menu (seen once on a busy
    // machine): open it again until the option shows, a few times, before giving up.
    for (let attempt = 1; ; attempt++) {
      await typedInput.locator('.red-ui-typedInput-type-select').click();
      try {
        await option.waitFor({ state: 'visible', timeout: 3000 });
        break;
      } catch (error) {
        if (attempt === 4) throw error;
      }
    }
    await option.click();
  }

  /** Waits until the badge shows (or is hidden): our badge follows wiring changes on its own. */
  async waitForBadge(id: string, badgeClass: string, shown: boolean): Promise<void> {
    await this.node(id)
      .locator(shown ? `g.${badgeClass}:not(.hide)` : `g.${badgeClass}.hide`)
      .waitFor({ state: 'attached' });
  }

  /** Menu > Import > Examples: the entries listed under a module. */
  async exampleNames(module: string): Promise<string[]> {
    const dialog = await this.openExamples(module);
    const names = await dialog
      .locator('.red-ui-treeList-label', { has: this.page.getByText(module, { exact: true }) })
      .locator('xpath=following-sibling::*')
      .locator('.red-ui-treeList-label-text')
      .allInnerTexts();
    await this.page.locator('#red-ui-clipboard-dialog-cancel').click();
    return names.map((name) => name.trim());
  }

  /**
   * Imports one example from Menu > Import > Examples and returns the types the editor does not
   * know among the nodes it drew (a dashed "unknown" node on the canvas).
   */
  async importExample(module: string, name: string): Promise<string[]> {
    const workspaceTabs = this.page.locator('#red-ui-workspace-tabs li.red-ui-tab');
    const tabsBefore = await workspaceTabs.evaluateAll((tabs) => tabs.map((tab) => tab.id));
    const before = await this.nodeIds();
    const dialog = await this.openExamples(module);
    await dialog.locator('.red-ui-treeList-label-text').getByText(name, { exact: true }).click();
    await this.page.locator('#red-ui-clipboard-dialog-ok').click();
    await this.page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
    // An example without a tab of its own hangs on the mouse until it is dropped.
    await this.page.locator('#red-ui-workspace-chart').click({ position: { x: 20, y: 20 } });
    const drawnNew = (): Promise<unknown> =>
      this.page.waitForFunction(
        (known) => Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')).some((node) => !known.includes(node.id)),
        before,
      );
    // One with a tab of its own lands on that tab, which Node-RED adds but does not show: show
    // it, as the user would, or the canvas still holds what was there before.
    await this.page.waitForFunction(
      ([known, tabCount]) =>
        document.querySelectorAll('#red-ui-workspace-tabs li.red-ui-tab').length > tabCount ||
        Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')).some((node) => !known.includes(node.id)),
      [before, tabsBefore.length] as const,
    );
    const newTabs = (await workspaceTabs.evaluateAll((tabs) => tabs.map((tab) => tab.id))).filter((id) => !tabsBefore.includes(id));
    // Ctrl+] (next flow tab) rather than a click on the tab: a click on a workspace tab within
    // 400 ms of the click on the Examples tab counts as a double click and opens the flow's
    // properties instead (see clickTab).
    for (const tab of newTabs.slice(0, 1)) {
      const active = this.page.locator(`#red-ui-workspace-tabs li.active[id="${tab}"]`);
      for (let presses = 0; presses < tabsBefore.length + 1 && !(await active.count()); presses++) {
        await this.page.keyboard.press('Control+BracketRight');
      }
      await active.waitFor({ state: 'attached' });
    }
    await drawnNew();
    return this.page
      .locator('#red-ui-workspace-chart g.red-ui-flow-node-group:has(rect.red-ui-flow-node-unknown)')
      .evaluateAll(
        (nodes, known) => nodes.filter((node) => !known.includes(node.id)).map((node) => node.querySelector('.red-ui-flow-node-label-text')?.textContent ?? node.id),
        before,
      );
  }

  private async openExamples(module: string): Promise<Locator> {
    await this.page.locator('#red-ui-header-button-sidemenu').click();
    await this.page.locator('#menu-item-import').click();
    const dialog = this.page.locator('#red-ui-clipboard-dialog');
    await this.clickTab(dialog.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples'));
    const moduleEntry = dialog.locator('.red-ui-treeList-label', { has: this.page.getByText(module, { exact: true }) });
    const expanded = moduleEntry.locator('xpath=following-sibling::*').locator('.red-ui-treeList-label-text').first();
    if (!(await expanded.isVisible())) await moduleEntry.click();
    await expanded.waitFor();
    return dialog;
  }

  /**
   * Clicks a tab (an `li.red-ui-tab`) and makes sure it is shown. Node-RED keeps one double-click
   * timer for all its tab bars: a click on any tab within 400 ms of a click on another tab is
   * taken as a double click and does not switch. The click handler runs while the click is
   * dispatched, so whether it switched is known when click() returns; a swallowed click resets
   * the timer, and a second click switches.
   */
  private async clickTab(tab: Locator): Promise<void> {
    await tab.locator('a.red-ui-tab-label').click();
    if (!(await tab.evaluate((element) => element.classList.contains('active')))) {
      await tab.locator('a.red-ui-tab-label').click();
    }
    await tab.and(this.page.locator('li.active')).waitFor();
  }

  /** Drags a wire from output `port` of one node to the input of another. */
  async wire(fromId: string, port: number, toId: string): Promise<void> {
    const links = this.page.locator('#red-ui-workspace-chart g.red-ui-flow-link');
    const before = await links.count();
    await this.node(fromId)
      .locator('g.red-ui-flow-port-output')
      .nth(port)
      .dragTo(this.node(toId).locator('g.red-ui-flow-port-input'));
    await this.page.waitForFunction(
      ([selector, count]) => document.querySelectorAll(selector as string).length > (count as number),
      ['#red-ui-workspace-chart g.red-ui-flow-link', before] as const,
    );
  }

  async deploy(): Promise<void> {
    await this.page.locator('#red-ui-header-button-deploy').click();
    await this.page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).waitFor();
    await this.page.locator('#red-ui-header-button-deploy.disabled').waitFor();
  }

  /**
   * Brings a sidebar tab to the front. Node-RED 4 has a link per tab, Node-RED 5 a button in its
   * tab bar that hides the tab when it is already shown: click only when its content is hidden.
   */
  async openSidebarTab(tab: keyof typeof SIDEBAR_CONTENT): Promise<Locator> {
    const content = this.page.locator(SIDEBAR_CONTENT[tab]);
    if (!(await content.isVisible())) {
      const link = this.page.locator(`#red-ui-tab-${tab}-link-button, .red-ui-sidebar-tab-bar button[data-tab-id="${tab}"]`);
      if (await link.isVisible()) {
        await link.click();
      } else {
        // Node-RED 4 lists the tabs that do not fit in its tab bar in the bar's menu (the caret)
        await this.page.locator('#red-ui-sidebar .red-ui-tab-link-button-menu').click();
        await this.page.locator(`#red-ui-tabs-menu-option-${tab}`).click();
      }
    }
    await content.waitFor();
    return content;
  }

  /** The help sidebar's text for one node, chosen in its tree under our module. */
  async help(title: string): Promise<Locator> {
    await this.openSidebarTab('help');
    const sidebar = this.page.locator('.red-ui-sidebar-help-stack');
    const tree = sidebar.locator('.red-ui-treeList').first();
    // The tree is built 500 ms after the last node type registered, and rebuilt collapsed if a
    // type comes later: wait for our module in it before opening it.
    const module = tree.locator('.red-ui-treeList-label', { hasText: '@health-bridge/node-red-nodes' });
    await module.waitFor();
    const entry = tree.locator('.red-ui-treeList-label', { has: this.page.getByText(title, { exact: true }) });
    if (!(await entry.isVisible())) await module.click();
    await entry.click();
    // The panel holds the title and, below it, the node's help text, both set in one go.
    const panel = sidebar.locator('.red-ui-help', { has: this.page.locator('h1.red-ui-help-title') });
    await panel.locator('h1.red-ui-help-title').getByText(title, { exact: true }).waitFor();
    return panel.locator('.red-ui-help');
  }

  /** Menu > Settings > View > Language, then a reload, as the editor asks. */
  async switchLanguage(locale: string): Promise<void> {
    await this.page.locator('#red-ui-header-button-sidemenu').click();
    await this.page.locator('#menu-item-user-settings').click();
    await this.page.locator('#user-settings-editor-language').selectOption(locale);
    await this.page.locator('#node-dialog-ok').click();
    await this.page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    await this.reload();
  }

  /**
   * Every `data-i18n` text inside `scope` with what the page shows for it. Node-RED shows the key
   * itself when a translation is missing, so a caller can compare the two.
   */
  static async translations(scope: Locator): Promise<TextCheck[]> {
    return scope.locator('[data-i18n]').evaluateAll((elements) =>
      elements.flatMap((element) =>
        (element.getAttribute('data-i18n') ?? '').split(';').map((directive) => {
          const match = /^(?:\[(\w+)\])?(.+)$/.exec(directive.trim())!;
          const [, target, key] = match;
          const shown =
            target === 'placeholder' || target === 'title'
              ? (element.getAttribute(target) ?? '')
              : (element.textContent ?? '').trim();
          return { key: key!, shown };
        }),
      ),
    );
  }
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, `${name}.png`);
}
