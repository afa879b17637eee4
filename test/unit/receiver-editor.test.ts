import assert from 'node:assert/strict';
import { RECEIVER_DEFAULTS, receiverConfigSchema } from '../../src/lib/receiver/config';
import { RECEIVER_TYPES } from '../../src/lib/registry';
import { RECEIVER_CREDENTIALS } from '../../src/nodes/receiver-node';
import { editorDefinition, editorFile, page, type EditorDefinition } from './editor-page';

/**
 * The receiver editor as the build writes it (dist/nodes/<type>.html) against the runtime's schema
 * (src/lib/receiver/config.ts): a user sees the defaults the runtime uses, and the editor refuses
 * exactly what the runtime refuses.
 */

const RECEIVERS = RECEIVER_TYPES;

/** The bits of an editor node that onadd looks at: _config is what Node-RED's import sets. */
interface EditorNode {
  credentials?: Record<string, unknown>;
  _config?: Record<string, unknown>;
}
interface ReceiverEditor {
  newKey(): string;
  callbackUrl(path: string, key?: string): string | null;
}

const receiverEditor = (): ReceiverEditor => (page().healthBridge as { receiverEditor: ReceiverEditor }).receiverEditor;

/** What the editor's validator says of one value: true, or the text it shows. */
function editorAccepts(definition: EditorDefinition, name: string, value: unknown): boolean {
  const validate = definition.defaults[name]?.validate;
  if (!validate) return true;
  return validate.call({ _: (key: string) => key }, value, {}) === true;
}

function runtimeAccepts(name: string, value: unknown): boolean {
  const config: Record<string, unknown> = { path: '/receiver' };
  if (value === undefined) delete config[name];
  else config[name] = value;
  return receiverConfigSchema.safeParse(config).success;
}

/** Values a user or a hand-written flow may give each property, good and bad. */
const CASES: Record<string, unknown[]> = {
  path: [
    '/lezhi', 'lezhi', ' /lezhi ', '/hospital/viatom', '/hospital/viatom/', 'a.b~c_d-e', '/%E4%B9%90', 'a/b',
    '', '   ', '/', '//', '/a//b', '/:id', '/a/*', '/a?b', '/a b', '/a#b', '/(x)', '/乐心', 12, undefined,
  ],
  ack: [undefined, '', 'auto', 'flow', 'Auto', 'none'],
  ackTimeout: [undefined, '', '   ', 4, '4', ' 4 ', '0.5', '1e3', 0, '0', -1, 'abc', 'Infinity'],
  maxBytes: [undefined, '', '   ', 1048576, '1048576', '1', '1.5', 0, '-1', 'x'],
  dedupHours: [undefined, '', '   ', 72, '72', 0, '0', '0.5', '-1', 'x'],
  allow: [
    undefined, '', '10.0.0.1', '10.0.0.0/8', '10.0.0.1, 192.168.1.0/24', '::1', '2001:db8::/32',
    '10.0.0.0/33', '2001:db8::/129', '10.0.0.256', '1.2.3', 'example.com', '10.0.0.0/x',
  ],
  pii: [undefined, '', 'keep', 'mask', 'pseudonymize', 'drop', 'Keep', 'hide'],
  tz: [undefined, '', 'Asia/Shanghai', 'UTC', 'Europe/Berlin', 'Mars/Olympus_Mons', 'GMT+8'],
};

describe('the receiver editor and the runtime', function () {
  const definitions = Object.fromEntries(RECEIVERS.map((type) => [type, editorDefinition(type)]));

  it('a new receiver in the editor starts with the defaults the runtime uses for a blank property', function () {
    const blanks = Object.fromEntries(Object.keys(RECEIVER_DEFAULTS).map((name) => [name, '']));
    assert.deepEqual(
      receiverConfigSchema.parse({ path: '/receiver', ...blanks }),
      receiverConfigSchema.parse({ path: '/receiver', ...RECEIVER_DEFAULTS }),
      'the runtime reads a blank property as RECEIVER_DEFAULTS says',
    );
    // a hand-written flow may hold spaces where the editor would save "": the editor reads them as blank
    assert.deepEqual(
      receiverConfigSchema.parse({ path: '/receiver', ackTimeout: ' ', maxBytes: '  ', dedupHours: '\t' }),
      receiverConfigSchema.parse({ path: '/receiver' }),
      'spaces in a number property mean its default',
    );
    for (const type of RECEIVERS) {
      for (const [name, value] of Object.entries(RECEIVER_DEFAULTS)) {
        assert.equal(definitions[type]!.defaults[name]?.value, value, `${type}: default of ${name}`);
      }
    }
  });

  it('an empty field in the receiver form shows the runtime default as its placeholder', function () {
    for (const type of RECEIVERS) {
      const html = editorFile(type);
      for (const name of ['ackTimeout', 'maxBytes', 'dedupHours', 'tz'] as const) {
        const input = new RegExp(`<input[^>]*id="node-input-${name}"[^>]*>`).exec(html)?.[0] ?? '';
        assert.equal(/placeholder="([^"]*)"/.exec(input)?.[1], String(RECEIVER_DEFAULTS[name]), `${type}: placeholder of ${name}`);
      }
    }
  });

  it('declares the same credentials, of the same types, as the runtime, and no default key shared by every new node', function () {
    for (const type of RECEIVERS) {
      const credentials = definitions[type]!.credentials ?? {};
      assert.deepEqual(
        Object.fromEntries(Object.entries(credentials).map(([name, { type: kind }]) => [name, kind])),
        Object.fromEntries(Object.entries(RECEIVER_CREDENTIALS).map(([name, { type: kind }]) => [name, kind])),
        type,
      );
      assert.equal(credentials.key?.type, 'text', `${type}: the key can be shown again in the callback URL`);
      assert.equal(credentials.key?.value, undefined, `${type}: no default key`);
    }
  });

  it('gives a receiver added from the palette a random key of its own: 32 URL-safe characters, never the same twice', function () {
    const keys = new Set<string>();
    for (const type of RECEIVERS) {
      for (let i = 0; i < 250; i++) {
        const node: EditorNode = {};
        definitions[type]!.onadd!.call(node);
        const key = node.credentials?.key;
        assert.match(String(key), /^[A-Za-z0-9_-]{32}$/, `${type}: ${key}`);
        keys.add(String(key));
      }
    }
    assert.equal(keys.size, RECEIVERS.length * 250, 'every key differs');
  });

  it('gives a pasted or imported receiver no key of its own: it keeps what it came with, or none', function () {
    for (const type of RECEIVERS) {
      // Node-RED's import (a paste is one) sets _config on every node it creates; a copy of a deployed receiver carries no credentials
      const pasted: EditorNode = { _config: { path: '"/lezhi"' } };
      definitions[type]!.onadd!.call(pasted);
      assert.equal(pasted.credentials, undefined, `${type}: a pasted receiver`);
      // an imported flow that does carry credentials (a hand-written one) keeps its key
      const imported: EditorNode = { _config: {}, credentials: { key: 'the-vendor-s-key' } };
      definitions[type]!.onadd!.call(imported);
      assert.deepEqual(imported.credentials, { key: 'the-vendor-s-key' }, `${type}: an imported receiver with its key`);
    }
  });

  it('builds the callback URL from the editor\'s address, httpNodeRoot, the path and the key', function () {
    const editor = receiverEditor();
    assert.equal(editor.callbackUrl('lezhi'), 'http://127.0.0.1:1880/api/lezhi');
    assert.equal(editor.callbackUrl('/lezhi', ''), 'http://127.0.0.1:1880/api/lezhi');
    assert.equal(editor.callbackUrl('/lezhi', 'AbC-12_x'), 'http://127.0.0.1:1880/api/lezhi?key=AbC-12_x');
    // a key the user typed may hold anything: it is encoded as the receiver will decode it
    const typed = 'a b&c=d/é?';
    const url = new URL(String(editor.callbackUrl('/lezhi', typed)));
    assert.equal(url.searchParams.get('key'), typed);
    assert.equal(editor.callbackUrl('', 'AbC'), '', 'no address without a path');
  });

  for (const [name, values] of Object.entries(CASES)) {
    it(`the editor refuses exactly the ${name} values the runtime refuses`, function () {
      const disagreements = RECEIVERS.flatMap((type) =>
        values
          .map((value) => ({ type, value, editor: editorAccepts(definitions[type]!, name, value), runtime: runtimeAccepts(name, value) }))
          .filter((result) => result.editor !== result.runtime),
      );
      assert.deepEqual(disagreements, []);
      // the list holds values each side refuses, or it proves nothing
      assert.ok(values.some((value) => !runtimeAccepts(name, value)), `some ${name} value is refused`);
    });
  }
});
