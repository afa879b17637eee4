import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Response } from 'playwright-core';
import { bodyFixture } from '../harness/flows';
import { postJson, request } from '../harness/http';
import { NODE_RED_MAJOR, ROOT } from '../harness/node-red';
import { editorIcon, isConfigNode, nodeTypes } from '../harness/package';
import { CONFIG_VERSION } from '../../src/lib/config-version';
import { PUSH_VENDORS } from '../../src/lib/vendors/manifest';
import type { NodeType, NodeTypeOf } from '../../src/lib/registry';
import { Browser, Editor, screenshotPath } from './browser';
import { HTTP_NODE_ROOT, startInstalledNodeRed, type Installed } from './installed';
import { useEditorSession } from './session';

/**
 * The editor as a user meets it, in Debian's Chromium against a real Node-RED with the packed
 * tarball installed: the palette, every edit dialog (saved as a screenshot in
 * test/e2e/screenshots/), validation, the callback URL, the ack: flow warning, credentials, a flow
 * built and deployed in the editor, Import > Examples, and the help, in English and Chinese.
 */

type Kind = 'receiver' | 'action' | 'config';

interface NodeSpec {
  type: string;
  kind: Kind;
  /** The dialog's fields (the properties of docs/nodes/), as `node-input-<field>` / `node-config-input-<field>`. */
  fields: string[];
  /** Credentials behind password inputs (a receiver's `key` is not one: its dialog shows it, see below). */
  credentials: string[];
  /** Fields that are typed inputs (string or env variable). */
  typed?: string[];
  /** The config node type it must select. */
  account?: string;
  /** The property that selects it (`account`, or `connection` for hl7-send). */
  accountField?: string;
  /** What the user fills in so that the node is valid. */
  fill?: Record<string, string>;
  /** Its label once filled in, in English: on the canvas, or in the account select. */
  label: string;
  /** Its help says what to set up at the vendor. */
  vendorSetup: boolean;
  /** No input and no output (health-metrics): its help has Properties and Details, as a config node's. */
  noPorts?: true;
}

const RECEIVER_FIELDS = ['name', 'path', 'key', 'allow', 'ack', 'pii', 'dedupHours', 'dedupStore', 'state', 'maxBytes', 'tz'];
// The key is a credential too, but shown in clear (a text credential): the callback URL carries it.
const RECEIVER_CREDENTIALS = ['piiKey'];
/** What the editor generates for a new receiver: 24 random bytes in base64url. */
const GENERATED_KEY = /^[A-Za-z0-9_-]{32}$/;

/** Every receiver is one spec made from the vendor manifest; expeed-in's account comes from its editor file. */
const RECEIVERS: NodeSpec[] = Object.entries(PUSH_VENDORS).map(([vendor, { receiver }]) => {
  const account = /@include receiver-node\.html .*\baccount=([\w-]+)/.exec(
    fs.readFileSync(path.join(ROOT, 'src', 'nodes', `${receiver}.html`), 'utf8'),
  )?.[1];
  return {
    type: receiver, kind: 'receiver', fields: account ? ['account', ...RECEIVER_FIELDS] : RECEIVER_FIELDS,
    credentials: RECEIVER_CREDENTIALS, ...(account && { account }), fill: { path: vendor }, label: `${receiver} /${vendor}`, vendorSetup: true,
  };
});

/** The other nodes' dialogs, by type: a node type of the registry without its dialog here does not compile. */
const OTHER_DIALOGS: Record<Exclude<NodeType, NodeTypeOf<'receiver'>>, Omit<NodeSpec, 'type'>> = {
  'viatom-auth': { kind: 'action', fields: ['name', 'account', 'operation'], credentials: [], account: 'viatom-account', label: 'get authorization URL', vendorSetup: true },
  'expeed-token': { kind: 'action', fields: ['name', 'account'], credentials: [], account: 'expeed-account', label: 'expeed token', vendorSetup: false },
  'expeed-query': {
    kind: 'action', fields: ['name', 'account', 'operation', 'deviceId', 'deviceKey', 'ids', 'limit', 'first', 'allPages'],
    credentials: ['deviceKey'], typed: ['deviceId'], account: 'expeed-account', label: 'expeed status', vendorSetup: false,
  },
  'expeed-set': {
    kind: 'action', fields: ['name', 'account', 'deviceId', 'deviceKey', 'waitSeconds'],
    credentials: ['deviceKey'], typed: ['deviceId'], account: 'expeed-account', label: 'expeed set', vendorSetup: true,
  },
  'health-ack': { kind: 'action', fields: ['name'], credentials: [], label: 'health ack', vendorSetup: false },
  'health-fhir': {
    kind: 'action', fields: ['name', 'output', 'patientField', 'requirePatient', 'patient', 'patientSystem', 'deviceSystem', 'readingSystem'],
    credentials: [], label: 'FHIR Bundle', vendorSetup: false,
  },
  'health-hl7': {
    kind: 'action',
    fields: ['name', 'sendingApplication', 'sendingFacility', 'receivingApplication', 'receivingFacility', 'patientField', 'requirePatient', 'patientAuthority', 'patientIdType', 'version'],
    credentials: [], label: 'ORU^R01', vendorSetup: false,
  },
  'hl7-send': {
    kind: 'action', fields: ['name', 'connection'], credentials: [], account: 'hl7-mllp', accountField: 'connection',
    label: 'hl7 send', vendorSetup: false,
  },
  'health-outbox': {
    kind: 'action', fields: ['name', 'maxAgeHours', 'retryMinSeconds', 'retryMaxSeconds', 'concurrency', 'ackTimeout', 'keepDeadLettersDays', 'encrypt'],
    credentials: [], label: 'health outbox', vendorSetup: false,
  },
  'health-patient': {
    kind: 'action', fields: ['name', 'sources', 'file', 'state'], credentials: [], label: 'health patient', vendorSetup: false,
  },
  // its key is a text credential, shown as a receiver's is (the scraper's config needs it)
  'health-metrics': {
    kind: 'action', fields: ['name', 'path', 'allow', 'processMetrics', 'key'], credentials: [], label: 'health metrics', vendorSetup: false, noPorts: true,
  },
  // its rule table is an editable list (#node-input-rules-list), not an input
  'health-watch': {
    kind: 'action', fields: ['name', 'margin', 'silenceMinutes', 'forgetHours', 'repeatMinutes', 'state'], credentials: [], label: 'health watch', vendorSetup: false,
  },
  'hl7-mllp': {
    kind: 'config', fields: ['name', 'host', 'port', 'tls', 'timeout', 'charset'], credentials: [], typed: ['host', 'port'],
    fill: { host: '127.0.0.1', port: '2575' }, label: 'mllp://127.0.0.1:2575', vendorSetup: false,
  },
  'health-redis': {
    kind: 'config', fields: ['name', 'url', 'prefix', 'tls', 'ca', 'username', 'password'], credentials: ['password'], typed: ['url', 'ca'],
    fill: { url: 'redis://127.0.0.1:6379' }, label: 'redis://127.0.0.1:6379', vendorSetup: false,
  },
  'viatom-account': {
    kind: 'config', fields: ['name', 'host', 'secret', 'accessToken', 'language', 'timeout'],
    credentials: ['secret', 'accessToken'], typed: ['host'], label: 'viatom account', vendorSetup: true,
  },
  'expeed-account': {
    kind: 'config',
    fields: ['name', 'apiBase', 'platformKey', 'secretKey', 'handshakeToken', 'dailyTokenCap', 'tz', 'onlineValue', 'queryOnlineValue', 'timeout', 'state'],
    credentials: ['secretKey', 'handshakeToken'], typed: ['apiBase', 'platformKey'], fill: { platformKey: 'pk-hospital' },
    label: 'pk-hospital', vendorSetup: true,
  },
};
const OTHER_NODES: NodeSpec[] = Object.entries(OTHER_DIALOGS).map(([type, dialog]) => ({ type, ...dialog }));
const NODES: NodeSpec[] = [...RECEIVERS, ...OTHER_NODES];
const CANVAS_NODES = NODES.filter((spec) => spec.kind !== 'config');
const spec = (type: string): NodeSpec => NODES.find((candidate) => candidate.type === type)!;

/** A secret per credential field; none of them may ever reach the browser again. */
const SECRETS: Record<string, string> = {};
const secret = (field: string): string => (SECRETS[field] ??= `${field}-${crypto.randomBytes(6).toString('hex')}`);

/** Where the dialog tests put each node: three to a row. */
const position = (index: number): { x: number; y: number } => ({ x: 100 + (index % 3) * 260, y: 60 + Math.floor(index / 3) * 70 });
/** The first free row below that grid, for the tests that wire nodes of their own. */
// rows of 120 px: the lowest drop (row 3, and 80 px below it) must stay inside the 1200 px viewport
// however many node types the grid above holds (the grid holds the canvas nodes only: a config
// node added to the package does not push these rows off the screen)
const belowGrid = (row: number): number => 60 + Math.ceil(CANVAS_NODES.length / 3) * 70 + 40 + row * 120;

/** The input a user types a field's value into: the typed input's own, where it has one. */
function textInput(form: Locator, node: NodeSpec, prefix: string, field: string): Locator {
  return node.typed?.includes(field)
    ? form.locator(`#${prefix}-${field} + .red-ui-typedInput-container input.red-ui-typedInput-input`)
    : form.locator(`#${prefix}-${field}`);
}

/**
 * What every dialog must show: a label for each field, a control for it (a password input for a
 * credential, a typed input where the spec says), and no text Node-RED could not translate (it
 * shows the key itself then).
 */
async function checkDialog(form: Locator, node: NodeSpec, prefix: string): Promise<void> {
  for (const field of node.fields) {
    const label = form.locator(`label[for="${prefix}-${field}"]`);
    assert.equal(await label.isVisible(), true, `${node.type}: label of ${field} shown`);
    assert.notEqual((await label.textContent())?.trim(), '', `${node.type}: label of ${field} has text`);
    assert.equal(await form.locator(`#${prefix}-${field}`).count(), 1, `${node.type}: control of ${field}`);
  }
  for (const field of node.credentials) {
    assert.equal(await form.locator(`#${prefix}-${field}`).getAttribute('type'), 'password', `${node.type}: ${field} is a password input`);
  }
  for (const field of node.typed ?? []) {
    // Node-RED hides the original input and shows the typed input beside it.
    const typed = form.locator(`#${prefix}-${field} + .red-ui-typedInput-container`);
    assert.equal(await typed.isVisible(), true, `${node.type}: ${field} is a typed input`);
  }
  for (const { key, shown } of await Editor.translations(form)) {
    const bare = key.replace(/^[\w@/-]+:/, '');
    assert.ok(shown !== '' && shown !== key && shown !== bare, `${node.type}: "${key}" is translated (shows "${shown}")`);
  }
}

describe(`the editor in Chromium (English and Chinese), Node-RED ${NODE_RED_MAJOR}`, function () {
  this.timeout(60_000);
  let installed: Installed;
  let browser: Browser;
  let editor: Editor;
  /** Each canvas node the dialog tests added, by type. */
  const placed = new Map<string, string>();
  /** The key each receiver came with when it was added from the palette, by type. */
  const addedKeys = new Map<string, string>();
  const catalog = (lang: string, type: string): any =>
    JSON.parse(fs.readFileSync(path.join(installed.packageDir, 'dist', 'nodes', 'locales', lang, `${type}.json`), 'utf8'))[type];

  before(async function () {
    this.timeout(180_000);
    installed = await startInstalledNodeRed();
    browser = await Browser.launch();
    editor = new Editor(browser.page, installed.nodeRed.url);
    await editor.open();
  });

  after(async function () {
    await browser?.close();
    await installed?.cleanup();
  });

  afterEach(async function () {
    // A failed test may leave a dialog open; the next one starts from the bare canvas.
    for (const cancel of ['#node-config-dialog-cancel', '#node-dialog-cancel']) {
      const button = editor.page.locator(cancel);
      if (await button.isVisible()) await button.click();
    }
    assert.deepEqual(browser.pageErrors, [], 'the editor threw');
  });

  it('has a dialog spec for every node type package.json declares, and none for a type it does not', function () {
    assert.deepEqual(NODES.map(({ type }) => type).sort(), nodeTypes().map(({ type }) => type).sort());
  });

  it('shows every node of the package in one palette category, "health bridge", with its label and vendor icon', async function () {
    for (const { type } of CANVAS_NODES) {
      const node = editor.paletteNode(type);
      assert.equal(await node.count(), 1, `${type} in the palette`);
      assert.equal(await editor.paletteCategory(type), 'red-ui-palette-container-health_bridge', `${type} category`);
      assert.equal(await editor.paletteLabel(type), catalog('en-US', type).paletteLabel);
      const icon = await node.locator('.red-ui-palette-icon').evaluate((element) => getComputedStyle(element).backgroundImage);
      const base = nodeTypes().find((entry) => entry.type === type)?.base ?? type;
      assert.ok(icon.includes(`icons/@health-bridge/node-red-nodes/${editorIcon(base)}`), `${type} icon: ${icon}`);
    }
    const header = editor.page.locator('#red-ui-palette-header-health_bridge');
    assert.equal((await header.textContent())?.trim(), 'health bridge');
    for (const { type } of NODES.filter((candidate) => candidate.kind === 'config')) {
      assert.equal(await editor.paletteNode(type).count(), 0, `${type} is a config node, not in the palette`);
    }
  });

  it('serves one icon per vendor, white on transparent, under names no other module uses', async function () {
    const listing = (await request(`${installed.nodeRed.url}/icons`, { headers: { accept: 'application/json' } })).json as Record<string, string[]>;
    const ours = listing['@health-bridge/node-red-nodes'] ?? [];
    const named = new Set(nodeTypes().filter(({ base }) => !isConfigNode(base)).map(({ base }) => editorIcon(base)));
    assert.deepEqual([...ours].sort(), [...named].sort());
    assert.deepEqual([...ours].sort(), fs.readdirSync(path.join(ROOT, 'src', 'nodes', 'icons')).sort());
    for (const [module, icons] of Object.entries(listing)) {
      if (module === '@health-bridge/node-red-nodes') continue;
      assert.deepEqual(icons.filter((icon) => ours.includes(icon)), [], `${module} has an icon of the same name`);
    }
    for (const icon of ours) {
      const svg = (await request(`${installed.nodeRed.url}/icons/@health-bridge/node-red-nodes/${icon}`)).text;
      const colours = [...svg.matchAll(/(?:fill|stroke)="([^"]+)"/g)].map((match) => match[1]!.toLowerCase());
      assert.ok(colours.length > 0, `${icon} draws something`);
      assert.deepEqual(colours.filter((colour) => !['#fff', '#ffffff', 'white', 'none'].includes(colour)), [], `${icon} colours`);
      assert.doesNotMatch(svg, /<rect[^>]*width="40"[^>]*height="60"|background/, `${icon} has no background`);
    }
  });

  for (const [index, node] of CANVAS_NODES.entries()) {
    const needs = [node.kind === 'receiver' && 'a path', node.account && 'an account'].filter(Boolean).join(' and ');
    it(`${node.type}: ${needs ? `marked invalid without ${needs}; ` : ''}its dialog shows every field, labelled and translated`, async function () {
      const { x, y } = position(index);
      const id = await editor.addNode(node.type, x, y);
      placed.set(node.type, id);
      await editor.waitForValidity(id, needs !== '', 'a new node is marked invalid exactly when it needs input');

      const dialog = await editor.edit(id);
      const form = dialog.locator('#dialog-form');
      if (node.type === 'expeed-query') await form.locator('#node-input-operation').selectOption('history');
      await checkDialog(form, node, 'node-input');
      if (node.type === 'expeed-query') await form.locator('#node-input-operation').selectOption('status');

      if (node.account) await chooseAccount(node.account, node.accountField);
      if (node.kind === 'receiver' && !placed.has('health-redis')) await addOptionalConfig('health-redis', 'state');
      if (node.kind === 'receiver') await checkReceiverDialog(form, node);
      else for (const field of node.credentials) await editor.type(form.locator(`#node-input-${field}`), secret(field));
      await dialog.screenshot({ path: screenshotPath(`${node.type}.en-US`) });
      await editor.done();

      await editor.waitForValidity(id, false, 'valid once filled in');
      await editor.waitForLabel(id, node.label);
    });
  }

  /**
   * The account select: Node-RED leaves it at "none" for a new node, so the user picks the account
   * an earlier node created, or the first node of a vendor creates one with the "+" button.
   */
  async function chooseAccount(type: string, field = 'account'): Promise<void> {
    const select = editor.page.locator(`#node-input-${field}`);
    assert.equal(await select.inputValue(), '_ADD_', 'no account is chosen for a new node');
    const accounts = await select.locator('option:not([value="_ADD_"])').evaluateAll((options) =>
      options.map((option) => (option as HTMLOptionElement).value),
    );
    if (accounts.length > 0) {
      await select.selectOption(accounts[0]!);
      return;
    }
    const config = spec(type);
    const dialog = await editor.addConfigNode(field);
    const form = dialog.locator('#node-config-dialog-edit-form');
    await checkDialog(form, config, 'node-config-input');
    for (const [field, value] of Object.entries(config.fill ?? {})) await editor.type(textInput(form, config, 'node-config-input', field), value);
    for (const field of config.credentials) await editor.type(form.locator(`#node-config-input-${field}`), secret(field));
    await dialog.screenshot({ path: screenshotPath(`${type}.en-US`) });
    await editor.configDone();
    assert.notEqual(await select.inputValue(), '_ADD_', `the new ${type} is selected`);
    assert.equal((await select.locator('option:checked').textContent())?.trim(), config.label);
  }

  /**
   * A config node a property may name (a receiver's `state`): made with the "+" button, its dialog
   * checked, then the property set back to none, so that the receiver keeps its own dedup.
   */
  async function addOptionalConfig(type: string, field: string): Promise<void> {
    const config = spec(type);
    const dialog = await editor.addConfigNode(field);
    const form = dialog.locator('#node-config-dialog-edit-form');
    await checkDialog(form, config, 'node-config-input');
    for (const [name, value] of Object.entries(config.fill ?? {})) await editor.type(textInput(form, config, 'node-config-input', name), value);
    for (const name of config.credentials) await editor.type(form.locator(`#node-config-input-${name}`), secret(name));
    await dialog.screenshot({ path: screenshotPath(`${type}.en-US`) });
    await editor.configDone();
    const select = editor.page.locator(`#node-input-${field}`);
    assert.equal((await select.locator('option:checked').textContent())?.trim(), config.label);
    placed.set(type, await select.inputValue());
    if ((await select.locator('option[value=""]').count()) > 0) await select.selectOption('');
  }

  /**
   * Path validation, the callback URL with the key the new receiver was given, the warning while
   * it has neither key nor allow-list, and the rows that ack: flow and pseudonymize reveal.
   */
  async function checkReceiverDialog(form: Locator, node: NodeSpec): Promise<void> {
    const pathInput = form.locator('#node-input-path');
    const url = form.locator('#health-bridge-receiver-url');
    const keyInput = form.locator('#node-input-key');
    const keyTip = form.locator('#health-bridge-receiver-key-tip');
    const generate = form.locator('#health-bridge-receiver-generate-key');
    const open = form.locator('#health-bridge-receiver-open');
    assert.equal(await pathInput.getAttribute('placeholder'), `/${node.type.replace(/-in$/, '')}`);
    assert.equal(await pathInput.evaluate((input) => input.classList.contains('input-error')), true, 'an empty path is marked');
    assert.equal(await url.inputValue(), '');

    const key = await keyInput.inputValue();
    assert.match(key, GENERATED_KEY, 'a new receiver comes with a key of its own');
    addedKeys.set(node.type, key);
    assert.equal(await keyInput.getAttribute('type'), 'text', 'the key is shown: the callback URL carries it anyway');
    assert.equal(await generate.isVisible(), false, 'no Generate button while there is a key');
    assert.equal(await open.isVisible(), false, 'not open: it has a key');

    await editor.type(pathInput, node.fill!.path!);
    const address = `${installed.nodeRed.url}${HTTP_NODE_ROOT}/${node.fill!.path}`;
    assert.equal(await url.inputValue(), `${address}?key=${key}`, 'the full callback URL, with the key');
    assert.equal(await pathInput.evaluate((input) => input.classList.contains('input-error')), false);
    assert.equal(await keyTip.isVisible(), true, 'the dialog says the key is in the address');

    // Without a key the address has none, the dialog says the receiver is open, and offers a key;
    // an allow-list closes it too.
    await editor.type(keyInput, '');
    assert.equal(await url.inputValue(), address);
    assert.equal(await keyTip.isVisible(), false);
    assert.equal(await open.isVisible(), true, 'neither key nor allow-list: the dialog warns');
    assert.equal(await generate.isVisible(), true, 'and offers to generate a key');
    await editor.type(form.locator('#node-input-allow'), '203.0.113.0/24');
    assert.equal(await open.isVisible(), false, 'an allow-list: not open');
    await editor.type(form.locator('#node-input-allow'), '');
    assert.equal(await open.isVisible(), true);
    await editor.type(keyInput, key);
    assert.equal(await url.inputValue(), `${address}?key=${key}`);
    assert.equal(await open.isVisible(), false);

    for (const [select, value, row] of [['ack', 'flow', 'ackTimeout'], ['pii', 'pseudonymize', 'piiKey']] as const) {
      const label = form.locator(`label[for="node-input-${row}"]`);
      assert.equal(await label.isVisible(), false, `${row} hidden by default`);
      await form.locator(`#node-input-${select}`).selectOption(value);
      assert.equal(await label.isVisible(), true, `${row} shown for ${select}: ${value}`);
    }
    await editor.type(form.locator('#node-input-piiKey'), secret('piiKey'));
    await form.locator('#node-input-ack').selectOption('auto');
    await form.locator('#node-input-pii').selectOption('keep');
  }

  it('gave each new receiver a key of its own, and keeps it when its dialog is opened again', async function () {
    assert.equal(addedKeys.size, RECEIVERS.length, 'a key from each receiver\'s dialog');
    assert.equal(new Set(addedKeys.values()).size, RECEIVERS.length, `two receivers share a key: ${[...addedKeys.values()].join(' ')}`);
    for (const node of RECEIVERS) {
      const dialog = await editor.edit(placed.get(node.type)!);
      const key = addedKeys.get(node.type)!;
      assert.equal(await dialog.locator('#node-input-key').inputValue(), key, `${node.type}: the same key`);
      assert.equal(
        await dialog.locator('#health-bridge-receiver-url').inputValue(),
        `${installed.nodeRed.url}${HTTP_NODE_ROOT}/${node.fill!.path}?key=${key}`,
        `${node.type}: the callback URL with it`,
      );
      await editor.cancel();
    }
  });

  it('copies the callback URL, key included, with the button beside it', async function () {
    const node = RECEIVERS[0]!;
    const dialog = await editor.edit(placed.get(node.type)!);
    const expected = await dialog.locator('#health-bridge-receiver-url').inputValue();
    assert.match(expected, /\?key=/);
    await dialog.locator('#health-bridge-receiver-copy').click();
    await editor.page.locator('.red-ui-popover', { hasText: 'Callback URL copied' }).waitFor();
    assert.equal(await editor.page.evaluate(() => navigator.clipboard.readText()), expected);
    await editor.cancel();
  });

  it('warns in the dialog and with a badge on the canvas while a receiver in ack: flow lacks a health-ack after an output', async function () {
    // Far enough apart that the receiver, wider once its path is in its label, leaves the next
    // node's input and its own ports free to drag from.
    const rx = await editor.addNode('lezhi-in', 100, belowGrid(0));
    const sink = await editor.addNode('function', 400, belowGrid(0));
    const ack = await editor.addNode('health-ack', 700, belowGrid(0));
    await editor.wire(rx, 0, sink);
    const badge = 'health-bridge-receiver-no-ack';

    let dialog = await editor.edit(rx);
    await editor.type(dialog.locator('#node-input-path'), 'lezhi-acked');
    const warning = dialog.locator('#health-bridge-receiver-no-ack');
    assert.equal(await warning.isVisible(), false, 'ack: auto needs no health-ack');
    await dialog.locator('#node-input-ack').selectOption('flow');
    assert.match(await warning.innerText(), /No health-ack node follows this receiver/);
    await dialog.screenshot({ path: screenshotPath('lezhi-in.ack-flow-warning.en-US') });
    await editor.done();
    await editor.waitForBadge(rx, badge, true);

    // The readings reach health-ack through the sink; the events output is still open.
    await editor.wire(sink, 0, ack);
    await editor.page.locator('#red-ui-workspace').screenshot({ path: screenshotPath('canvas.ack-flow-warning.en-US') });
    dialog = await editor.edit(rx);
    assert.match(await warning.innerText(), /No health-ack node follows output 2 \(events\)/);
    assert.doesNotMatch(await warning.innerText(), /output 1/);
    await editor.cancel();
    await editor.waitForBadge(rx, badge, true);

    await editor.wire(rx, 1, ack);
    await editor.waitForBadge(rx, badge, false);
    dialog = await editor.edit(rx);
    assert.equal(await warning.isVisible(), false, 'every output reaches health-ack');
    await editor.cancel();
  });

  it('takes a Device ID from an environment variable through its typed input', async function () {
    const id = placed.get('expeed-query')!;
    let dialog = await editor.edit(id);
    const typed = dialog.locator('#node-input-deviceId + .red-ui-typedInput-container');
    await editor.chooseType(typed, 'env');
    await editor.type(typed.locator('input.red-ui-typedInput-input'), 'EXPEED_DEVICE');
    await editor.done();
    await editor.waitForLabel(id, 'expeed status ${EXPEED_DEVICE}');

    dialog = await editor.edit(id);
    assert.equal(await typed.locator('.red-ui-typedInput-type-select').getAttribute('title'), 'env variable');
    assert.equal(await typed.locator('input.red-ui-typedInput-input').inputValue(), 'EXPEED_DEVICE');
    await editor.cancel();
  });

  it('health-outbox: takes half an hour as its max age, and marks zero, a fractional concurrency and a retry maximum below the minimum', async function () {
    const dialog = await editor.edit(placed.get('health-outbox')!);
    const field = (name: string): Locator => dialog.locator(`#node-input-${name}`);
    const marked = (name: string): Promise<boolean> => field(name).evaluate((input) => input.classList.contains('input-error'));
    for (const name of spec('health-outbox').fields) assert.equal(await marked(name), false, `${name}: its default is valid`);
    assert.equal(await field('encrypt').isChecked(), true, 'a new outbox encrypts what waits on disk');
    await editor.type(field('maxAgeHours'), '0.5');
    assert.equal(await marked('maxAgeHours'), false, 'half an hour');
    await editor.type(field('maxAgeHours'), '0');
    assert.equal(await marked('maxAgeHours'), true, 'no hours');
    await editor.type(field('retryMinSeconds'), '900');
    assert.equal(await marked('retryMaxSeconds'), true, 'the maximum (600) is marked once the minimum (900) passes it');
    await editor.type(field('retryMaxSeconds'), '900');
    assert.equal(await marked('retryMaxSeconds'), false, 'a maximum equal to the minimum');
    await editor.type(field('concurrency'), '1.5');
    assert.equal(await marked('concurrency'), true, 'a fractional concurrency');
    await editor.type(field('ackTimeout'), '0');
    assert.equal(await marked('ackTimeout'), true, 'no ack timeout');
    assert.equal(await field('keepDeadLettersDays').inputValue(), '30');
    await editor.type(field('keepDeadLettersDays'), '0');
    assert.equal(await marked('keepDeadLettersDays'), false, 'keep no dead letters');
    await editor.type(field('keepDeadLettersDays'), '-1');
    assert.equal(await marked('keepDeadLettersDays'), true, 'a negative number of days');
    await editor.cancel();
    await editor.waitForValidity(placed.get('health-outbox')!, false, 'cancelled: the defaults are kept');
  });

  it('deploys a flow built in the editor: a Sinocare push to the callback URL shows in the debug sidebar', async function () {
    const rx = await editor.addNode('sinocare-in', 100, belowGrid(1));
    const debug = await editor.addNode('debug', 330, belowGrid(1));
    await editor.wire(rx, 0, debug);
    const dialog = await editor.edit(rx);
    await editor.type(dialog.locator('#node-input-path'), 'sinocare-e2e');
    const callbackUrl = await dialog.locator('#health-bridge-receiver-url').inputValue();
    await editor.done();
    await editor.deploy();

    const deployed = (await request(`${installed.nodeRed.url}/flows`, { headers: { accept: 'application/json' } })).json as Array<Record<string, unknown>>;
    for (const { type } of NODES) assert.ok(deployed.some((node) => node.type === type), `${type} deployed`);
    assert.equal(deployed.find((node) => node.id === placed.get('expeed-query'))?.deviceId, '${EXPEED_DEVICE}');

    assert.match(callbackUrl, /\?key=[A-Za-z0-9_-]{32}$/, 'the callback URL carries the new receiver\'s key');
    const answer = await postJson(callbackUrl, bodyFixture('sinocare', 'document-example'));
    assert.equal(answer.status, 200);
    assert.equal((await postJson(callbackUrl.replace(/\?key=.*$/, ''), bodyFixture('sinocare', 'document-example'))).status, 401, 'without the key');
    assert.deepEqual(answer.json, { code: 0, msg: '' });
    const sidebar = await editor.openSidebarTab('debug');
    const message = sidebar.locator('.red-ui-debug-msg', { hasText: 'sinocare/glucose' });
    await message.waitFor();
    assert.match(await message.innerText(), /sinocare:23434335345/);
  });

  it('a receiver copied after deploy arrives without a key: its dialog warns and offers one; deployed so, it is named as open on the canvas and in the log', async function () {
    // Node-RED's copy carries a credential only while it is not deployed yet (see the next
    // test); this original was deployed by the test before, so its copy comes without its key.
    const copy = await editor.copyPaste(placed.get('lezhi-in')!, 100, belowGrid(2));
    let dialog = await editor.edit(copy);
    const keyInput = dialog.locator('#node-input-key');
    const url = dialog.locator('#health-bridge-receiver-url');
    const open = dialog.locator('#health-bridge-receiver-open');
    const generate = dialog.locator('#health-bridge-receiver-generate-key');
    assert.equal(await keyInput.inputValue(), '', 'no key: not a new one behind the user\'s back');
    assert.equal(await open.isVisible(), true, 'the dialog says it is open');
    assert.match(await open.innerText(), /Open to anyone/);
    assert.equal(await generate.isVisible(), true);
    await editor.type(dialog.locator('#node-input-path'), 'lezhi-pasted');
    const address = `${installed.nodeRed.url}${HTTP_NODE_ROOT}/lezhi-pasted`;
    assert.equal(await url.inputValue(), address);
    await dialog.screenshot({ path: screenshotPath('lezhi-in.pasted-open.en-US') });

    await generate.click();
    const generated = await keyInput.inputValue();
    assert.match(generated, GENERATED_KEY);
    assert.notEqual(generated, addedKeys.get('lezhi-in'));
    assert.equal(await url.inputValue(), `${address}?key=${generated}`);
    assert.equal(await generate.isVisible(), false);
    assert.equal(await open.isVisible(), false);
    // The user leaves it without a key after all.
    await editor.type(keyInput, '');
    await editor.done();
    dialog = await editor.edit(copy);
    assert.equal(await keyInput.inputValue(), '', 'opened again: still no key');
    await editor.cancel();

    const before = installed.nodeRed.logs.length;
    await editor.deploy();
    const status = `#red-ui-workspace-chart g.red-ui-flow-node-group[id="${copy}"] .red-ui-flow-node-status-label`;
    await editor.page
      .waitForFunction((selector) => (document.querySelector(selector)?.textContent ?? '') === 'open: no key or allow-list · /lezhi-pasted', status)
      .catch(async () => assert.fail(`status under the pasted receiver: "${await editor.page.locator(status).textContent()}"`));
    const warnings = installed.nodeRed.logs.slice(before).split('\n').filter((line) => /\[warn\]/.test(line) && /open to anyone/.test(line));
    assert.deepEqual(warnings.map((line) => line.replace(/^.*?\[warn\] /, '')), [
      `[lezhi-in:${copy}] open to anyone: /lezhi-pasted has neither a key nor an allow-list, and no vendor cloud signs its pushes, so anyone who learns the path can file readings. Set a key (a receiver added in the editor gets one) or an allow-list.`,
    ]);
  });

  it('a receiver copied before it is deployed keeps its original\'s key (Node-RED copies it along), never a new one', async function () {
    const original = await editor.addNode('sinocare-in', 400, belowGrid(2));
    let dialog = await editor.edit(original);
    const key = await dialog.locator('#node-input-key').inputValue();
    assert.match(key, GENERATED_KEY);
    await editor.type(dialog.locator('#node-input-path'), 'sinocare-fresh');
    await editor.done();
    const copy = await editor.copyPaste(original, 700, belowGrid(2));
    dialog = await editor.edit(copy);
    assert.equal(await dialog.locator('#node-input-key').inputValue(), key);
    await editor.type(dialog.locator('#node-input-path'), 'sinocare-fresh-copy');
    assert.equal(await dialog.locator('#health-bridge-receiver-url').inputValue(), `${installed.nodeRed.url}${HTTP_NODE_ROOT}/sinocare-fresh-copy?key=${key}`);
    await editor.done();
  });

  it('never sends a secret credential back to the browser: after a reload the dialogs show placeholders, and a receiver its own key', async function () {
    const bodies: Array<Promise<string>> = [];
    const record = (response: Response): void => {
      bodies.push(response.text().catch(() => ''));
    };
    editor.page.on('response', record);
    await editor.reload();
    const shown: Record<string, string> = {};
    for (const type of ['sinocare-in', 'expeed-query', 'expeed-set', 'viatom-auth']) {
      const node = spec(type);
      const dialog = await editor.edit(placed.get(type)!);
      for (const field of node.credentials) shown[`${type}.${field}`] = await dialog.locator(`#node-input-${field}`).inputValue();
      if (node.kind === 'receiver') shown[`${type}.key`] = await dialog.locator('#node-input-key').inputValue();
      if (node.account) {
        const config = spec(node.account);
        const configDialog = await editor.editConfigNode(node.accountField ?? 'account');
        for (const field of config.credentials) {
          const input = configDialog.locator(`#node-config-input-${field}`);
          assert.equal(await input.getAttribute('type'), 'password');
          shown[`${config.type}.${field}`] = await input.inputValue();
        }
        await editor.configCancel();
      }
      await editor.cancel();
    }
    editor.page.off('response', record);

    const expected = ['sinocare-in.piiKey', 'expeed-query.deviceKey', 'expeed-set.deviceKey',
      'expeed-account.secretKey', 'expeed-account.handshakeToken', 'viatom-account.secret', 'viatom-account.accessToken'];
    for (const field of expected) assert.equal(shown[field], '__PWRD__', `${field}: a placeholder, not the secret`);
    // The receiver's key is the one it was given when it was added, kept across deploy and reload.
    assert.equal(shown['sinocare-in.key'], addedKeys.get('sinocare-in'));
    const received = (await Promise.all(bodies)).join('\n');
    assert.ok(bodies.length > 10, 'the reload was recorded');
    for (const [field, value] of Object.entries(SECRETS)) {
      assert.equal(received.includes(value), false, `the ${field} secret came back to the browser`);
    }
  });

  it('opens a health-fhir or health-hl7 of the previous release with the values the runtime reads (patientId, no patient required) and saves it at the current version; a new one is auto, patient required', async function () {
    const y = belowGrid(3);
    const loaded = [
      { id: 'old-fhir', type: 'health-fhir', name: '', version: 1, output: 'bundle', patientField: 'patientId', x: 200, y, wires: [[]] },
      { id: 'old-hl7', type: 'health-hl7', name: '', configVersion: 1, version: '2.5.1', patientField: '', x: 460, y, wires: [[]] },
    ];
    // imported from a file or the clipboard: Node-RED fills every missing property with today's default
    const imported = [{ id: 'old-imported', type: 'health-fhir', name: '', version: 1, x: 720, y, wires: [[]] }];
    await editor.page.evaluate(({ loaded, imported }) => {
      const red = (window as any).RED;
      const z = red.workspaces.active();
      red.nodes.import(loaded.map((node) => ({ ...node, z })));
      red.nodes.import(imported.map((node) => ({ ...node, z })), { applyNodeDefaults: true });
      red.view.redraw(true);
    }, { loaded, imported });
    for (const id of ['old-fhir', 'old-hl7', 'old-imported']) {
      const dialog = await editor.edit(id);
      assert.equal(await dialog.locator('#node-input-patientField').inputValue(), 'patientId', `${id}: patientField`);
      assert.equal(await dialog.locator('#node-input-requirePatient').isChecked(), false, `${id}: requirePatient`);
      await editor.done();
    }
    const saved = await editor.page.evaluate(() => ['old-fhir', 'old-hl7', 'old-imported'].map((id) => {
      const node = (window as any).RED.nodes.node(id);
      return [node.type === 'health-hl7' ? node.configVersion : node.version, node.patientField, node.requirePatient];
    }));
    assert.deepEqual(saved, [[CONFIG_VERSION, 'patientId', false], [CONFIG_VERSION, 'patientId', false], [CONFIG_VERSION, 'patientId', false]]);

    for (const [index, type] of ['health-fhir', 'health-hl7'].entries()) {
      const fresh = await editor.addNode(type, 200 + index * 260, y + 80);
      const dialog = await editor.edit(fresh);
      assert.equal(await dialog.locator('#node-input-patientField').inputValue(), 'auto', `${type}: a new node reads the patient by auto`);
      assert.equal(await dialog.locator('#node-input-requirePatient').isChecked(), true, `${type}: a new node requires a patient`);
      await editor.cancel();
    }
  });

  for (const node of NODES) {
    it(`shows the help of ${node.type} in English: ${helpSections('en-US', node).join(', ')}`, async function () {
      await checkHelp('en-US', node);
    });
  }

  it('lists every example of the package under Import > Examples, and each imports without unknown nodes', async function () {
    const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((file) => file.endsWith('.json')).map((file) => file.replace(/\.json$/, ''));
    assert.ok(examples.length > 0, 'the package has examples');
    const listed = await editor.exampleNames('@health-bridge/node-red-nodes');
    assert.deepEqual([...listed].sort(), [...examples].sort());
    for (const example of examples) {
      const unknown = await editor.importExample('@health-bridge/node-red-nodes', example);
      assert.deepEqual(unknown, [], `${example}: node types the editor does not know`);
    }
  });

  describe('in Chinese (zh-CN), chosen in the editor\'s settings', function () {
    /** Each account's dialog is looked at once, from the first node that selects it. */
    const configDialogsSeen = new Set<string>();

    before(async function () {
      await editor.switchLanguage('zh-CN');
    });

    it('shows the palette in Chinese', async function () {
      for (const { type } of CANVAS_NODES) {
        assert.equal(await editor.paletteLabel(type), catalog('zh-CN', type).paletteLabel);
      }
    });

    for (const node of CANVAS_NODES) {
      it(`shows the dialog of ${node.type} in Chinese`, async function () {
        const dialog = await editor.edit(placed.get(node.type)!);
        const form = dialog.locator('#dialog-form');
        if (node.type === 'expeed-query') await form.locator('#node-input-operation').selectOption('history');
        await checkDialog(form, node, 'node-input');
        await checkChinese(form, node.type);
        await dialog.screenshot({ path: screenshotPath(`${node.type}.zh-CN`) });
        if (node.account && !configDialogsSeen.has(node.account)) {
          configDialogsSeen.add(node.account);
          const config = spec(node.account);
          const configDialog = await editor.editConfigNode(node.accountField ?? 'account');
          const configForm = configDialog.locator('#node-config-dialog-edit-form');
          await checkDialog(configForm, config, 'node-config-input');
          await checkChinese(configForm, config.type);
          await configDialog.screenshot({ path: screenshotPath(`${config.type}.zh-CN`) });
          await editor.configCancel();
        }
        await editor.cancel();
      });
    }

    for (const node of NODES) {
      it(`shows the help of ${node.type} in Chinese: ${helpSections('zh-CN', node).join('、')}`, async function () {
        await checkHelp('zh-CN', node);
      });
    }
  });

  /** The help's h3 sections in Node-RED's style, per language. */
  function helpSections(lang: 'en-US' | 'zh-CN', node: NodeSpec): string[] {
    const names = lang === 'en-US'
      ? { properties: 'Properties', inputs: 'Inputs', outputs: 'Outputs', details: 'Details' }
      : { properties: '属性', inputs: '输入', outputs: '输出', details: '详细' };
    if (node.kind === 'config' || node.noPorts) return [names.properties, names.details];
    if (node.kind === 'receiver') return [names.outputs, names.details];
    return [names.inputs, names.outputs, names.details];
  }

  async function checkHelp(lang: 'en-US' | 'zh-CN', node: NodeSpec): Promise<void> {
    const help = await editor.help(catalog(lang, node.type).paletteLabel);
    const sections = (await help.locator('h3').allInnerTexts()).map((text) => text.trim());
    assert.deepEqual(sections, helpSections(lang, node));
    const subsections = (await help.locator('h4').allInnerTexts()).map((text) => text.trim());
    const setup = lang === 'en-US' ? /^Setting up (at|on) / : /^在.+配置$/;
    assert.equal(subsections.some((title) => setup.test(title)), node.vendorSetup, `vendor setup section: ${subsections.join(' | ')}`);
    if (node.kind === 'receiver') {
      assert.ok(subsections.includes(lang === 'en-US' ? 'Answering the vendor' : '向厂商应答'), 'the shared receiver help is included');
    }
    const text = await help.innerText();
    // More than a stub (a Chinese sentence takes fewer characters than its English one).
    assert.ok(text.length > (lang === 'en-US' ? 400 : 200), `more than a line of help: ${text.length} characters`);
    assert.equal(/[\u4e00-\u9fff]{6,}/.test(text), lang === 'zh-CN', 'written in the chosen language');
    assert.doesNotMatch(await help.innerHTML(), /@include/);
  }

  /** Labels and tips in Chinese: more than a few CJK characters in the dialog's own text. */
  async function checkChinese(form: Locator, type: string): Promise<void> {
    const labels = await form.locator('label').allInnerTexts();
    const chinese = labels.filter((label) => /[\u4e00-\u9fff]/.test(label));
    assert.ok(chinese.length >= labels.length - 1, `${type}: labels in Chinese: ${labels.join(' | ')}`);
  }

});

/**
 * health-patient's table of sources in the editor: rows typed into its list are a credential, so
 * they reach the runtime and come back to the dialog, but never into the exported flow.
 */
describe(`health-patient's table in the editor, Node-RED ${NODE_RED_MAJOR}`, function () {
  this.timeout(60_000);
  const session = useEditorSession();
  const PATIENT = `MRN-E2E-${crypto.randomBytes(4).toString('hex')}`;
  const DEVICE = `thermo-${crypto.randomBytes(4).toString('hex')}`;

  it('adds a row in the table, deploys, and the exported flow carries neither the patient id nor the device', async function () {
    const { editor, installed } = session;
    const id = await editor.addNode('health-patient', 200, 100);
    let dialog = await editor.edit(id);
    await dialog.locator('.red-ui-editableList-addButton').click();
    const row = dialog.locator('#node-input-sources-list li').first();
    await row.locator('select.health-patient-vendor').selectOption('expeed');
    await row.locator('select.health-patient-field').selectOption('device');
    await editor.type(row.locator('input.health-patient-value'), DEVICE);
    await editor.type(row.locator('input.health-patient-patientId'), PATIENT);
    await editor.type(row.locator('input.health-patient-from'), '2026-05-01T08:00:00+08:00');
    assert.equal(await row.locator('input.health-patient-from').evaluate((input) => input.classList.contains('input-error')), false);
    await editor.type(row.locator('input.health-patient-until'), '2026-05-01 08:00');
    assert.equal(await row.locator('input.health-patient-until').evaluate((input) => input.classList.contains('input-error')), true, 'a time without an offset is marked');
    await editor.type(row.locator('input.health-patient-until'), '');
    await dialog.screenshot({ path: screenshotPath('health-patient.table.en-US') });
    await editor.done();
    await editor.deploy();

    const flows = await request(`${installed.nodeRed.url}/flows`, { headers: { accept: 'application/json' } });
    assert.equal(flows.status, 200);
    assert.ok((flows.json as Array<{ id: string }>).some((node) => node.id === id), 'the node is deployed');
    assert.equal(flows.text.includes(PATIENT), false, 'the exported flow carries no patient id');
    assert.equal(flows.text.includes(DEVICE), false, 'nor the rows');
    const flowFile = fs.readFileSync(path.join(installed.nodeRed.userDir, 'flows.json'), 'utf8');
    assert.equal(flowFile.includes(PATIENT), false, 'nor flows.json on disk');

    // the rows are the node's credential: the runtime has them, and the dialog shows them again
    const credentials = await request(`${installed.nodeRed.url}/credentials/health-patient/${id}`, { headers: { accept: 'application/json' } });
    const sources = JSON.parse(String((credentials.json as { sources?: string }).sources)) as Array<Record<string, string>>;
    assert.deepEqual(sources, [{ vendor: 'expeed', field: 'device', value: DEVICE, patientId: PATIENT, from: '2026-05-01T08:00:00+08:00' }]);
    await editor.reload();
    dialog = await editor.edit(id);
    const shown = dialog.locator('#node-input-sources-list li').first();
    assert.equal(await shown.locator('input.health-patient-patientId').inputValue(), PATIENT);
    assert.equal(await shown.locator('select.health-patient-vendor').inputValue(), 'expeed');
    await editor.cancel();
  });
});
