import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { RECEIVER_DEFAULTS, receiverConfigSchema } from '../../src/lib/receiver/config';

/**
 * The receiver editor as the build writes it (dist/nodes/<type>.html) against the runtime's schema
 * (src/lib/receiver/config.ts): a user sees the defaults the runtime uses, and the editor refuses
 * exactly what the runtime refuses.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RECEIVERS = ['lezhi-in', 'sinocare-in', 'viatom-in', 'expeed-in'];

type Validator = (this: unknown, value: unknown, opt?: unknown) => unknown;
interface EditorDefinition {
  defaults: Record<string, { value: unknown; validate?: Validator }>;
}

const editorFile = (type: string): string => fs.readFileSync(path.join(ROOT, 'dist', 'nodes', `${type}.html`), 'utf8');

/** Runs the editor file's own scripts as the browser would, with just enough of Node-RED around them. */
function editorDefinition(type: string): EditorDefinition {
  const registered: Record<string, EditorDefinition> = {};
  const context: Record<string, unknown> = {
    RED: { nodes: { registerType: (name: string, definition: EditorDefinition) => (registered[name] = definition) } },
  };
  context.window = context;
  context.URL = URL; // a browser global the allow validator uses
  context.healthBridge = { receiverEditor: { watchAck() {} } };
  vm.createContext(context);
  for (const [, code] of editorFile(type).matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
    vm.runInContext(code as string, context);
  }
  assert.ok(registered[type], `${type}.html registers ${type}`);
  return registered[type];
}

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
