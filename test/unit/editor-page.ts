import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import vm from 'node:vm';

/**
 * A built editor file (dist/nodes/<type>.html) run as a browser would, with just enough of
 * Node-RED and jQuery around it: the shared scripts of resources/ first (as Node-RED loads a
 * relative <script src> before the file's own), then the file's scripts. No dialog is open, so
 * `$(…)` finds nothing.
 */

export const ROOT = path.resolve(__dirname, '..', '..', '..');
const RESOURCES = ['editor-rules.js', 'node-editor.js', 'receiver-editor.js', 'env-input.js', 'config-migrate.js'];

export type Validator = (this: unknown, value: unknown, opt?: unknown) => unknown;
export interface EditorDefinition {
  defaults: Record<string, { value: unknown; required?: boolean; type?: string; validate?: Validator }>;
  credentials?: Record<string, { type: string; value?: unknown }>;
  onadd?: (this: unknown) => void;
  [key: string]: unknown;
}

export const editorFile = (type: string): string => fs.readFileSync(path.join(ROOT, 'dist', 'nodes', `${type}.html`), 'utf8');

/** A page with the shared editor scripts loaded, httpNodeRoot /api, served at http://127.0.0.1:1880/. */
export function page(): vm.Context {
  const nothing = Object.assign(() => ({ length: 0, is: () => false }), {
    extend: (target: object, ...sources: object[]) => Object.assign(target, ...sources),
  });
  const context: Record<string, unknown> = {
    RED: { nodes: {}, view: {}, settings: { httpNodeRoot: '/api' } },
    location: { protocol: 'http:', host: '127.0.0.1:1880' },
    crypto: webcrypto,
    btoa: (text: string) => Buffer.from(text, 'latin1').toString('base64'),
    URL, // a browser global the validators use
    $: nothing,
  };
  context.window = context;
  vm.createContext(context);
  for (const script of RESOURCES) vm.runInContext(fs.readFileSync(path.join(ROOT, 'resources', script), 'utf8'), context);
  return context;
}

/** What the editor file registers for `type`. */
export function editorDefinition(type: string, file = type): EditorDefinition {
  const registered: Record<string, EditorDefinition> = {};
  const context = page();
  (context.RED as any).nodes.registerType = (name: string, definition: EditorDefinition) => (registered[name] = definition);
  for (const [, code] of editorFile(file).matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
    vm.runInContext(code as string, context);
  }
  assert.ok(registered[type], `${file}.html registers ${type}`);
  return registered[type];
}

/**
 * Whether Node-RED's editor finds `node` valid: per property, a ${ENV} reference passes, a
 * required one must not be "", then its validator (true, or the text it shows) — as
 * validateNodeProperty does in Node-RED 4. `this` is the node, with the translator.
 */
export function editorRefuses(definition: EditorDefinition, node: Record<string, unknown>): string[] {
  const self = { ...node, _: (key: string) => key, _def: definition };
  return Object.entries(definition.defaults).flatMap(([name, property]) => {
    const value = node[name];
    if (typeof value === 'string' && /^\$\{[a-zA-Z_][a-zA-Z0-9_]*\}$/.test(value)) return [];
    if (property.required && value === '') return [name];
    if (!property.validate) return [];
    return property.validate.call(self, value, {}) === true ? [] : [name];
  });
}
