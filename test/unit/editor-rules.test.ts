import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import { EDITOR_OPTIONS } from '../../src/lib/editor/nodes';
import { shapeOf } from '../../src/lib/editor/rules';
import { NODE_TYPE_NAMES, type NodeType } from '../../src/lib/registry';
import { editorDefinition, editorRefuses, type EditorDefinition } from './editor-page';

/**
 * Every node type of the registry (src/lib/registry.ts; EDITOR_OPTIONS is typed by it, so a type
 * without an entry does not compile): its editor as the build writes it (dist/nodes/<type>.html), against the node's options
 * schema (src/lib/editor/nodes.ts): for each property, generated values a user or a flow written
 * by hand may hold (any text, numbers, the schema's members, blanks) — the editor finds the node
 * valid exactly when the runtime's schema accepts it, and a new node starts with the value the
 * runtime gives a blank property.
 */

const options = (type: string) => EDITOR_OPTIONS[type as NodeType];

/** The properties the editor declares from the schema (credentials are declared apart). */
function editorProperties(type: string): Record<string, z.ZodType> {
  const { schema, credentials = [] } = options(type);
  if (!schema) return {};
  return Object.fromEntries(Object.entries(shapeOf(schema)).filter(([name]) => !credentials.includes(name)));
}

/** A node the schema accepts: the editor's defaults, and a value for each that has none. */
function validNode(type: string, definition: EditorDefinition): Record<string, unknown> {
  const node = Object.fromEntries(Object.entries(definition.defaults).map(([name, { value }]) => [name, value]));
  const fills: Record<string, unknown> = { path: '/receiver', host: 'his.example.local', port: '2575', platformKey: 'platform' };
  // a config node the node uses: its id (the editor's own check, not an option of the schema)
  for (const name of Object.keys(options(type).configs ?? {})) node[name] = 'a1b2c3';
  for (const name of Object.keys(editorProperties(type))) {
    if (name in fills && (!options(type).schema!.safeParse(node).success || definition.defaults[name]?.required)) node[name] = fills[name];
  }
  if (options(type).schema) assert.ok(options(type).schema!.safeParse(node).success, `${type}: a valid node to start from`);
  assert.deepEqual(editorRefuses(definition, node), [], `${type}: the editor takes the node it starts from`);
  return node;
}

/** Values for one property: what inputs, selects and checkboxes store, and what a hand-written flow may hold. */
function valuesFor(definition: EditorDefinition, name: string): fc.Arbitrary<unknown> {
  const rule = (definition.defaults[name]?.validate as unknown as { rule?: Record<string, unknown> } | undefined)?.rule;
  const blanks = fc.constantFrom<unknown>('', ' ', '  \t', undefined, null);
  const value = definition.defaults[name]!.value;
  if (typeof value === 'boolean') return fc.oneof(fc.boolean(), fc.constantFrom<unknown>('true', 'false'), blanks);
  const members = rule && Array.isArray(rule.values) ? (rule.values as unknown[]) : [];
  const numbers = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double({ noNaN: false }), fc.constantFrom(0, 1, 0.5, 6000, 6001, 65535, 65536, -1));
  return fc.oneof(
    blanks,
    fc.string(),
    numbers,
    numbers.map((n) => String(n)),
    numbers.map((n) => ` ${n} `),
    fc.constantFrom<unknown>(value, ...members, ...members.map((member) => ` ${member} `), ...members.map((member) => String(member).toUpperCase())),
    fc.constantFrom<unknown>('Asia/Shanghai', 'UTC', 'Mars/Base', '10.0.0.0/8', '::1', '10.0.0.0/33', 'https://example.org', 'http://example.org/x', 'HTTP://[::1]:8080/', 'https://', 'ftp://x', '/lezhi', 'a b', '/a/:id'),
  );
}

describe('every node editor against its options schema', function () {
  this.timeout(120_000);
  for (const type of NODE_TYPE_NAMES) {
    describe(type, function () {
      const definition = editorDefinition(type);
      const properties = editorProperties(type);

      it('declares every option of its schema, each with the value the runtime gives a blank one', function () {
        for (const [name, schema] of Object.entries(properties)) {
          const property = definition.defaults[name];
          assert.ok(property, `${type}: ${name} in the editor's defaults`);
          assert.ok(property.validate, `${type}: ${name} has a validator`);
          const blank = schema.safeParse(undefined);
          if (blank.success && ['string', 'number', 'boolean'].includes(typeof blank.data)) {
            assert.deepEqual(schema.parse(property.value), blank.data, `${type}: a new node's ${name} means what a blank one does`);
          }
        }
      });

      for (const name of Object.keys(properties)) {
        it(`finds ${name} valid exactly when the schema does`, function () {
          const start = validNode(type, definition);
          const stricter = options(type).required?.[name] !== undefined;
          const env = options(type).env?.includes(name) ?? false;
          fc.assert(
            fc.property(valuesFor(definition, name), (value) => {
              // ${NAME}: Node-RED puts the variable in when the flow starts, so the schema sees another value
              // (Node-RED's editor takes it in any property; our env inputs also with spaces around)
              fc.pre(!(typeof value === 'string' && /^\$\{\S+\}$/.test(env ? value.trim() : value)));
              // where the editor asks for more than the runtime, blanks are left out
              fc.pre(!(stricter && (value === '' || (typeof value === 'string' && value.trim() === '') || value == null)));
              const node = { ...start, [name]: value };
              if (value === undefined) delete node[name];
              const editor = editorRefuses(definition, node).length === 0;
              const runtime = options(type).schema!.safeParse(node).success;
              return editor === runtime;
            }),
            { numRuns: 300 },
          );
        });
      }
    });
  }
});
