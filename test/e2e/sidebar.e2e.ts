import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Locator } from 'playwright-core';
import { bodyFixture, placed } from '../harness/flows';
import { postJson, request } from '../harness/http';
import { NODE_RED_MAJOR, freePort, type AdminUser } from '../harness/node-red';
import { Browser, Editor, screenshotPath } from './browser';
import { HTTP_NODE_ROOT, startInstalledNodeRed, type Installed } from './installed';

/**
 * The Health Bridge sidebar tab in Debian's Chromium against a real Node-RED with the packed
 * tarball, under adminAuth: a hospital that refuses a reading with an error text that is markup,
 * the outbox's dead letter listed in English and Chinese with that text shown as characters, a
 * click that reveals the outbox, Discard that asks first, Retry that delivers once the hospital
 * takes readings again, and a read-only user for whom Retry and Discard are disabled.
 */

/** What the hospital answers while it refuses: markup that would run if the sidebar rendered it. */
const HOSTILE = '<img src=x onerror=alert(1)>';
const PASSWORD = 'sidebar-e2e-password';
type User = 'admin' | 'reader';
/** adminAuth's users: the first one deploys (the harness logs it in). */
const USERS: AdminUser[] = [
  { username: 'admin', password: PASSWORD, permissions: '*' },
  { username: 'reader', password: PASSWORD, permissions: 'read' },
];

const FLOW_TAB = 'sb-hospital';
const RECEIVER = 'sb-rx';
const OUTBOX = 'sb-outbox';
const RECEIVER_KEY = 'sidebar-e2e-receiver-key-000000';
const MLLP = 'sb-mllp';
const EXPEED = 'sb-expeed';


/** A hospital on 127.0.0.1 that refuses every reading with HOSTILE until told to accept. */
interface Hospital {
  url: string;
  accept: boolean;
  received: Array<{ data?: { testId?: string } } & Record<string, unknown>>;
  close(): Promise<void>;
}

async function startHospital(): Promise<Hospital> {
  const hospital = { accept: false, received: [] as Hospital['received'] } as Hospital;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!hospital.accept) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(HOSTILE);
        return;
      }
      hospital.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hospital.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readings`;
  hospital.close = () => new Promise((resolve) => server.close(() => resolve()));
  return hospital;
}

/**
 * A Sinocare receiver into an outbox that gives up after a few seconds, delivering with the core
 * http request node; a refusal fails the delivery with the hospital's own text as its error. The
 * flow sits on the second tab so that a reveal has to switch to it. Beside it an MLLP connection
 * to a port nobody listens on and an Expeed account, each with a node that uses it.
 */
function flow(hospitalUrl: string, mllpPort: number): object[] {
  return [
    { id: MLLP, type: 'hl7-mllp', name: 'HIS (MLLP)', version: 1, host: '127.0.0.1', port: String(mllpPort), tls: false, timeout: 10, charset: 'utf-8' },
    {
      id: EXPEED, type: 'expeed-account', name: 'Expeed ward', apiBase: 'http://127.0.0.1:9', platformKey: 'pk-ward', dailyTokenCap: 150, tz: 'Asia/Shanghai',
      credentials: { secretKey: 'sidebar-e2e-secret', handshakeToken: 'sidebar-e2e-handshake' },
    },
    { id: 'sb-overview', type: 'tab', label: 'Overview' },
    ...placed([
      { id: FLOW_TAB, type: 'tab', label: 'Hospital' },
      {
        id: RECEIVER, z: FLOW_TAB, type: 'sinocare-in', name: 'Sinocare CGM', version: 1, path: '/sb-sinocare', ack: 'auto',
        dedupHours: 72, pii: 'keep', credentials: { key: RECEIVER_KEY, piiKey: '' }, x: 140, y: 80, wires: [[OUTBOX], []],
      },
      {
        id: OUTBOX, z: FLOW_TAB, type: 'health-outbox', name: 'Ward 5 outbox', version: 1,
        maxAgeHours: 0.001, retryMinSeconds: 0.5, retryMaxSeconds: 1, concurrency: 1, ackTimeout: 10, state: '', x: 380, y: 80, wires: [['sb-req'], []],
      },
      {
        id: 'sb-req', z: FLOW_TAB, type: 'http request', name: 'hospital', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: hospitalUrl,
        tls: '', persist: false, proxy: '', insecureHTTPParser: false, authType: '', senderr: true, headers: [], x: 600, y: 80, wires: [['sb-stored']],
      },
      {
        id: 'sb-stored', z: FLOW_TAB, type: 'switch', name: 'stored?', property: 'statusCode', propertyType: 'msg',
        rules: [{ t: 'btwn', v: '200', vt: 'num', v2: '299', v2t: 'num' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2,
        x: 780, y: 80, wires: [['sb-ack'], ['sb-refused']],
      },
      {
        id: 'sb-refused', z: FLOW_TAB, type: 'change', name: 'the hospital\'s text', rules: [{ t: 'set', p: 'error', pt: 'msg', to: '{"message": payload}', tot: 'jsonata' }],
        action: '', property: '', from: '', to: '', reg: false, x: 800, y: 140, wires: [['sb-ack']],
      },
      { id: 'sb-failed', z: FLOW_TAB, type: 'catch', name: '', scope: ['sb-req'], uncaught: false, x: 600, y: 200, wires: [['sb-ack']] },
      { id: 'sb-ack', z: FLOW_TAB, type: 'health-ack', name: '', x: 980, y: 100, wires: [[]] },
      { id: 'sb-hl7', z: FLOW_TAB, type: 'hl7-send', name: '', connection: MLLP, x: 380, y: 300, wires: [[]] },
      { id: 'sb-token', z: FLOW_TAB, type: 'expeed-token', name: '', account: EXPEED, x: 380, y: 360, wires: [[]] },
    ]),
  ];
}

/** A Sinocare push of one glucose reading, its test id made unique per call. */
function push(testId: string): object {
  const body = bodyFixture('sinocare', 'document-example');
  body.data.testId = testId;
  return body;
}

describe(`the Health Bridge sidebar in Chromium (English and Chinese), Node-RED ${NODE_RED_MAJOR}`, function () {
  this.timeout(90_000);
  let installed: Installed;
  let hospital: Hospital;
  let browser: Browser;
  let editor: Editor;
  /** Dialogs (alert, confirm) the page opened: markup that ran would open one. */
  const dialogs: string[] = [];
  const tokens = new Map<User, string>();

  const url = (path: string): string => `${installed.nodeRed.url}${path}`;
  const auth = async (user: User): Promise<Record<string, string>> => {
    if (!tokens.has(user)) tokens.set(user, await installed.nodeRed.token(user, PASSWORD));
    return { authorization: `Bearer ${tokens.get(user)}` };
  };
  const outboxStatus = async (): Promise<{ deadLetters: number; queued: number }> => {
    const answer = await request(url('/health-bridge/status'), { headers: { accept: 'application/json', ...(await auth('admin')) } });
    assert.equal(answer.status, 200);
    return (answer.json as { outboxes: Array<{ id: string; deadLetters: number; queued: number }> }).outboxes.find((outbox) => outbox.id === OUTBOX)!;
  };
  /** Waits (bounded) until the outbox's figures satisfy `check`. */
  const untilOutbox = async (check: (outbox: { deadLetters: number; queued: number }) => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 30_000;
    let last: unknown;
    while (Date.now() < deadline) {
      const outbox = await outboxStatus();
      if (check(outbox)) return;
      last = outbox;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.fail(`${what}: the outbox stayed at ${JSON.stringify(last)}`);
  };
  const deadLetterOf = async (testId: string): Promise<void> => {
    const before = (await outboxStatus()).deadLetters;
    const answer = await postJson(url(`${HTTP_NODE_ROOT}/sb-sinocare?key=${RECEIVER_KEY}`), push(testId));
    assert.equal(answer.status, 200, 'the receiver takes the push');
    await untilOutbox((outbox) => outbox.deadLetters === before + 1 && outbox.queued === 0, 'a dead letter');
  };

  async function openAs(user: User): Promise<void> {
    await browser?.close();
    browser = await Browser.launch();
    browser.page.on('dialog', (dialog) => {
      if (dialog.type() !== 'beforeunload') dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    });
    editor = new Editor(browser.page, installed.nodeRed.url);
    await browser.page.goto(installed.nodeRed.url);
    await browser.page.locator('#node-dialog-login-username').fill(user);
    await browser.page.locator('#node-dialog-login-password').fill(PASSWORD);
    await browser.page.locator('#node-dialog-login-submit').click();
    await editor.paletteNode('health-ack').waitFor();
  }

  const sidebar = (): Locator => browser.page.locator('.health-bridge-sidebar');
  /**
   * Node-RED 5 shows the debug tab under ours in the same sidebar, which leaves ours a third of its
   * height: a click on the debug button (as a user would) hides that section for the screenshots.
   */
  async function sidebarAlone(): Promise<void> {
    const debugButton = browser.page.locator('.red-ui-sidebar-tab-bar button[data-tab-id="debug"]');
    if (NODE_RED_MAJOR === 5 && (await browser.page.locator('.red-ui-debug-content-list').isVisible())) {
      await debugButton.click();
      await browser.page.locator('.red-ui-debug-content-list').waitFor({ state: 'hidden' });
    }
    await sidebar().waitFor();
  }
  const outboxRow = (): Locator => sidebar().locator(`.health-bridge-sidebar-outbox[data-node="${OUTBOX}"]`);
  const deadLetters = (): Locator => outboxRow().locator('[data-list="dead-letters"] .health-bridge-sidebar-entry');

  before(async function () {
    this.timeout(240_000);
    hospital = await startHospital();
    installed = await startInstalledNodeRed({ adminUsers: USERS });
    await installed.nodeRed.deploy(flow(hospital.url, await freePort()));
    await deadLetterOf('sidebar-e2e-1');
  });

  after(async function () {
    await browser?.close();
    await installed?.cleanup();
    await hospital?.close();
  });

  afterEach(async function () {
    assert.deepEqual(browser?.pageErrors ?? [], [], 'the editor threw');
    assert.deepEqual(dialogs, [], 'the page opened a dialog');
  });

  it('lists the outbox with its dead letter, the hospital\'s error shown as text, and the receiver with its push, in English', async function () {
    await openAs('admin');
    await editor.openSidebarTab('health-bridge');
    const entry = deadLetters().first();
    await entry.waitFor();
    assert.equal(await entry.locator('.health-bridge-sidebar-error-text').textContent(), HOSTILE, 'the characters of the error, as sent');
    assert.equal(await sidebar().locator('img').count(), 0, 'no element made of it');
    assert.match(await entry.innerText(), /sinocare · glucose/);
    assert.match(await outboxRow().locator('[data-list="dead-letters"] .health-bridge-sidebar-toggle').innerText(), /Dead letters \(1\)/);
    const receiver = sidebar().locator(`.health-bridge-sidebar-receiver[data-node="${RECEIVER}"]`);
    assert.equal(await receiver.locator('.health-bridge-sidebar-name').innerText(), 'Sinocare CGM');
    assert.match(await receiver.innerText(), /last push .* ago/);
    assert.match(await receiver.innerText(), /accepted 1/);
    assert.match(await sidebar().locator(`.health-bridge-sidebar-mllp[data-node="${MLLP}"]`).innerText(), /HIS \(MLLP\)\n127\.0\.0\.1:\d+/);
    assert.match(await sidebar().locator(`.health-bridge-sidebar-expeed[data-node="${EXPEED}"]`).innerText(), /token calls left 150 of 150/);
    for (const title of ['Outboxes', 'Receivers', 'MLLP connections', 'Expeed accounts', 'Alerts firing']) {
      assert.equal(await sidebar().locator('.health-bridge-sidebar-section-title', { hasText: title }).count(), 1, title);
    }
    await sidebarAlone();
    await browser.page.screenshot({ path: screenshotPath(`sidebar.node-red-${NODE_RED_MAJOR}.en-US`) });
    // the sidebar alone, with its tab bar above it (docs/images/sidebar.png is one of these)
    const box = (await sidebar().boundingBox())!;
    await browser.page.screenshot({ path: screenshotPath(`sidebar.node-red-${NODE_RED_MAJOR}.en-US.tab`), clip: { x: box.x - 8, y: 0, width: box.width + 16, height: 720 } });
  });

  it('reveals the outbox in its flow when its row is clicked, and a config node (the MLLP connection) in the Configuration nodes tab', async function () {
    assert.equal(await browser.page.locator(`#red-ui-workspace-tabs li.active[id="red-ui-tab-${FLOW_TAB}"]`).count(), 0, 'the flow\'s tab is not shown yet');
    await outboxRow().locator('.health-bridge-sidebar-row-head').click();
    await browser.page.locator(`#red-ui-workspace-tabs li.active[id="red-ui-tab-${FLOW_TAB}"]`).waitFor();
    // the reveal flashes the node: Node-RED 4 marks its body, Node-RED 5 its group
    await browser.page.waitForFunction((id) => {
      const node = document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
      return !!node && (node.classList.contains('red-ui-flow-node-highlighted') || !!node.querySelector('.red-ui-flow-node-highlighted'));
    }, OUTBOX);
    // a config node (the MLLP connection) is shown in the Configuration nodes tab
    await sidebar().locator(`.health-bridge-sidebar-mllp[data-node="${MLLP}"] .health-bridge-sidebar-row-head`).click();
    // flashed: Node-RED 4 marks it `highlighted`, Node-RED 5 as it marks a node on the canvas
    await browser.page.locator('#red-ui-sidebar-node-config').locator('.highlighted, .red-ui-flow-node-highlighted').first().waitFor();
    await editor.openSidebarTab('health-bridge');
  });

  it('reads the status while the tab is shown, and not while another tab is in front', async function () {
    const reads: number[] = [];
    const count = (request: { url(): string }): void => {
      if (request.url().includes('/health-bridge/status')) reads.push(Date.now());
    };
    browser.page.on('request', count);
    try {
      await browser.page.waitForRequest((request) => request.url().includes('/health-bridge/status'), { timeout: 15_000 });
      // the help tab takes our place (Node-RED 5: in the same section of the sidebar)
      await editor.openSidebarTab('help');
      assert.equal(await sidebar().isVisible(), false, 'the tab is hidden');
      const hidden = reads.length;
      // longer than the tab's refresh interval (5 s): a timer that ignored the hidden tab would read
      await new Promise((resolve) => setTimeout(resolve, 7000));
      assert.equal(reads.length - hidden, 0, `read ${reads.length - hidden} times while hidden`);
      const shownAgain = reads.length;
      await editor.openSidebarTab('health-bridge');
      await browser.page.waitForRequest((request) => request.url().includes('/health-bridge/status'), { timeout: 5000 }).catch(() => undefined);
      assert.ok(reads.length > shownAgain, 'read again once shown');
    } finally {
      browser.page.off('request', count);
    }
  });

  it('asks before it discards: Cancel keeps the dead letter', async function () {
    await deadLetters().first().locator('.health-bridge-sidebar-discard').click();
    const question = browser.page.locator('.red-ui-notification', { hasText: 'Discard this dead letter?' });
    await question.waitFor();
    await question.locator('button', { hasText: 'Cancel' }).click();
    await question.waitFor({ state: 'detached' });
    assert.equal((await outboxStatus()).deadLetters, 1, 'still there');
    assert.equal(await deadLetters().count(), 1);
  });

  it('Retry sends the dead letter again, and the reading reaches the hospital once it accepts', async function () {
    hospital.accept = true;
    await deadLetters().first().locator('.health-bridge-sidebar-retry').click();
    await untilOutbox((outbox) => outbox.deadLetters === 0 && outbox.queued === 0, 'delivered after Retry');
    assert.deepEqual(hospital.received.map((reading) => JSON.stringify(reading).includes('sidebar-e2e-1')), [true], 'the reading arrived once');
    await outboxRow().locator('[data-list="dead-letters"] .health-bridge-sidebar-toggle', { hasText: 'Dead letters (0)' }).waitFor();
  });

  it('a read-only user sees the dead letters, with Retry and Discard disabled, and the admin API refuses them', async function () {
    hospital.accept = false;
    await deadLetterOf('sidebar-e2e-2');
    await openAs('reader');
    await editor.openSidebarTab('health-bridge');
    const entry = deadLetters().first();
    await entry.waitFor();
    assert.equal(await entry.locator('.health-bridge-sidebar-error-text').textContent(), HOSTILE);
    for (const button of ['retry', 'discard']) {
      assert.equal(await entry.locator(`.health-bridge-sidebar-${button}`).isDisabled(), true, `${button} disabled`);
      assert.equal(await outboxRow().locator(`.health-bridge-sidebar-${button}-all`).isDisabled(), true, `${button} all disabled`);
    }
    await sidebarAlone();
    await browser.page.screenshot({ path: screenshotPath(`sidebar.node-red-${NODE_RED_MAJOR}.read-only.en-US`) });
    const refused = await postJson(url(`/health-bridge/outboxes/${OUTBOX}/dead-letters/retry`), { all: true }, { headers: await auth('reader') });
    assert.ok(refused.status === 401 || refused.status === 403, `the reader's retry answered ${refused.status}`);
    assert.equal((await outboxStatus()).deadLetters, 1);
  });

  describe('in Chinese (zh-CN), chosen in the editor\'s settings', function () {
    before(async function () {
      await openAs('admin');
      await editor.switchLanguage('zh-CN');
    });

    it('lists the dead letter in Chinese, its error as text; Discard asks first, then it is gone and never sent', async function () {
      await editor.openSidebarTab('health-bridge');
      const entry = deadLetters().first();
      await entry.waitFor();
      assert.equal(await entry.locator('.health-bridge-sidebar-error-text').textContent(), HOSTILE);
      assert.equal(await sidebar().locator('img').count(), 0);
      assert.match(await outboxRow().locator('[data-list="dead-letters"] .health-bridge-sidebar-toggle').innerText(), /死信（1）/);
      for (const title of ['发件箱', '接收节点', 'MLLP 连接', 'Expeed 账户', '正在告警']) {
        assert.equal(await sidebar().locator('.health-bridge-sidebar-section-title', { hasText: title }).count(), 1, title);
      }
      assert.equal(await entry.locator('.health-bridge-sidebar-retry').innerText(), '重试');
      assert.match(await sidebar().locator(`.health-bridge-sidebar-expeed[data-node="${EXPEED}"]`).innerText(), /剩余令牌调用 150 \/ 150/);
      await sidebarAlone();
      await browser.page.screenshot({ path: screenshotPath(`sidebar.node-red-${NODE_RED_MAJOR}.zh-CN`) });

      await entry.locator('.health-bridge-sidebar-discard').click();
      const question = browser.page.locator('.red-ui-notification', { hasText: '丢弃这条死信？' });
      await question.waitFor();
      await question.locator('button', { hasText: '丢弃' }).click();
      await untilOutbox((outbox) => outbox.deadLetters === 0 && outbox.queued === 0, 'discarded');
      await outboxRow().locator('[data-list="dead-letters"] .health-bridge-sidebar-toggle', { hasText: '死信（0）' }).waitFor();
      assert.equal(hospital.received.some((reading) => JSON.stringify(reading).includes('sidebar-e2e-2')), false, 'a discarded reading is not sent');
    });
  });
});
