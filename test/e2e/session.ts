import assert from 'node:assert/strict';
import { Browser, Editor } from './browser';
import { startInstalledNodeRed, type Installed } from './installed';

/** A running Node-RED with the tarball installed and a browser on its editor. */
export interface EditorSession {
  readonly installed: Installed;
  readonly browser: Browser;
  readonly editor: Editor;
}

/**
 * One editor session for a describe block: started before its tests, closed after them, and after
 * each test no error thrown in the page. Read its fields inside a test or a hook.
 */
export function useEditorSession(): EditorSession {
  let installed: Installed | undefined;
  let browser: Browser | undefined;
  let editor: Editor | undefined;
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
  afterEach(function () {
    assert.deepEqual(browser?.pageErrors, [], 'the editor threw');
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the editor session has not started: use it inside a test or a hook');
    return value;
  };
  return {
    get installed() { return started(installed); },
    get browser() { return started(browser); },
    get editor() { return started(editor); },
  };
}
