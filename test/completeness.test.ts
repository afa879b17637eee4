import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  LANGUAGES,
  NODE_TYPE_NAMES,
  NODE_TYPES,
  nodeFiles,
  nodeRedNodes,
  RECEIVER_TYPES,
  VENDOR_REGISTRY,
  VENDORS,
  vendorOfReceiver,
  type Language,
  type NodeType,
  type Vendor,
} from '../src/lib/registry';
import { trafficOf } from '../src/sandbox/traffic';
import { ROOT } from './harness/node-red';
import { builtEditor, editorIcon, isConfigNode, packageJson } from './harness/package';
import { VENDORS as VENDOR_CASES } from './harness/vendor-cases';

/**
 * The registry (src/lib/registry.ts) lists every node type and push vendor; whatever keeps
 * something per vendor in TypeScript keys it `Record<Vendor, …>`, so the compiler names those
 * places. This test names the rest, the pieces found by a file's name that no compiler sees: a node
 * type's editor, help, labels, icon and example flow, a vendor's benchmark push, and package.json's
 * `node-red.nodes`, which Node-RED reads and which must say what the registry says. Most of them
 * would fail silently otherwise: Node-RED shows a node without help, the benchmark leaves a vendor
 * out. Each line says what is missing and where it goes. Reads files only: the build
 * (`npm run build`) must have run.
 */

const at = (...parts: string[]): string => path.join(ROOT, ...parts);
const read = (file: string): string | undefined => (fs.existsSync(at(file)) ? fs.readFileSync(at(file), 'utf8') : undefined);

const examples = fs
  .readdirSync(at('examples'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, types: new Set((JSON.parse(fs.readFileSync(at('examples', file), 'utf8')) as Array<{ type: string }>).map((node) => node.type)) }));
const readme = read('README.md') ?? '';

/** Every key of a labels catalog, dotted ("label.path"). */
function keysOf(catalog: unknown, prefix = ''): string[] {
  if (typeof catalog !== 'object' || catalog === null || Array.isArray(catalog)) return [prefix];
  return Object.entries(catalog).flatMap(([key, value]) => keysOf(value, `${prefix}${prefix ? '.' : ''}${key}`));
}

/** The built labels of `type` in `lang` (shared receiver strings merged in), undefined if absent. */
function builtLabels(type: NodeType, lang: string): unknown {
  const text = read(path.join('dist', 'nodes', 'locales', lang, `${type}.json`));
  return text === undefined ? undefined : JSON.parse(text);
}

/** Where the labels of `type` in `lang` are written: its own file, and the shared catalogs it includes. */
function labelSources(type: NodeType, lang: Language): string {
  const own = nodeFiles(type).labels[lang];
  const includes = ((JSON.parse(read(own) ?? '{}') as { '@include'?: string[] })['@include'] ?? []).map((name) => `src/nodes/shared/locales/${lang}/${name}.json`);
  return [own, ...includes].join(' or ');
}

/** What node type `type` lacks, each line "node type `…` has no …: add …". */
function missingNodePieces(type: NodeType): string[] {
  const entry = NODE_TYPES[type];
  const files = nodeFiles(type);
  const missing: string[] = [];
  const lacks = (what: string, fix: string): void => void missing.push(`node type \`${type}\` has no ${what}: ${fix}`);

  if (read(files.source) === undefined) lacks('node file', `create ${files.source} (it registers the type with RED.nodes.registerType)`);
  else if (read(files.runtime) === undefined) lacks(`runtime file ${files.runtime}`, `${files.source} did not compile into it (run npm run build)`);

  const editorSource = read(files.editor);
  const editor = builtEditor(type);
  if (editorSource === undefined) lacks('editor file', `create ${files.editor}`);
  else if (!editor?.match(new RegExp(`registerType\\(\\s*['"]${type}['"]`))) lacks('editor registration', `RED.nodes.registerType('${type}', …) in ${files.editor}`);

  for (const lang of LANGUAGES) {
    const help = read(files.help[lang]);
    if (help === undefined) lacks(`${lang} help`, `create ${files.help[lang]}`);
    else if (!help.includes(`data-help-name="${type}"`)) lacks(`${lang} help under its name`, `data-help-name="${type}" in ${files.help[lang]}`);
    if (read(files.labels[lang]) === undefined) lacks(`${lang} labels`, `create ${files.labels[lang]}`);
  }
  // Every string a user sees is in both languages: the built catalogs have the same keys.
  const [first, ...others] = LANGUAGES;
  const firstKeys = builtLabels(type, first) === undefined ? undefined : keysOf(builtLabels(type, first));
  for (const lang of others) {
    const labels = builtLabels(type, lang);
    if (firstKeys === undefined || labels === undefined) continue;
    const keys = keysOf(labels);
    const absent = firstKeys.filter((key) => !keys.includes(key));
    const extra = keys.filter((key) => !firstKeys.includes(key));
    if (absent.length) lacks(`${lang} labels for ${absent.join(', ')}`, `add them to ${labelSources(type, lang)} (${first} has them)`);
    if (extra.length) lacks(`${first} labels for ${extra.join(', ')}`, `add them to ${labelSources(type, first)} (${lang} has them)`);
  }

  // A config node has no icon: it never shows in the palette or on the canvas.
  if (editor !== undefined) {
    const named = editorIcon(type);
    if (entry.kind === 'config') {
      if (!isConfigNode(type)) lacks("category 'config' in its editor", `the registry says kind 'config': set category: 'config' in ${files.editor}, or change its kind in src/lib/registry.ts`);
    } else if (isConfigNode(type)) {
      lacks(`kind 'config' in the registry`, `its editor ${files.editor} says category: 'config'; set kind: 'config', icon: null for it in NODE_TYPES of src/lib/registry.ts`);
    } else if (named !== entry.icon) {
      lacks(`icon ${entry.icon} in its editor`, `${files.editor} names ${named === undefined ? 'none' : named}; make it icon: '${entry.icon}' (or change NODE_TYPES in src/lib/registry.ts)`);
    }
  }
  if (files.icon !== null && read(files.icon) === undefined) lacks('icon file', `add ${files.icon} (NODE_TYPES in src/lib/registry.ts names it)`);

  if (entry.kind === 'receiver') {
    if (!vendorOfReceiver(type)) lacks('vendor', `it is of kind 'receiver': add its vendor to src/lib/vendors/manifest.ts with receiver: '${type}'`);
    if (editorSource !== undefined && !editorSource.includes('@include receiver-node.html')) {
      lacks('shared receiver editor', `${files.editor} should be <!-- @include receiver-node.html type=${type} icon=… --> as the other receivers'`);
    }
  } else if (editorSource?.includes('@include receiver-node.html')) {
    lacks("kind 'receiver' in the registry", `its editor includes the shared receiver editor; set kind: 'receiver' in NODE_TYPES of src/lib/registry.ts`);
  }

  if (!examples.some((example) => example.types.has(type))) lacks('example flow', 'add one to examples/ that uses it');
  if (!readme.includes(`\`${type}\``)) lacks('mention in README.md', `name it there as \`${type}\``);
  if (read(`docs/nodes/${type}.md`) === undefined) lacks('reference page', `write docs/nodes/${type}.md (properties, inputs, outputs, status, error codes) and link it from docs/nodes/README.md`);
  return missing;
}

/** What push vendor `vendor` lacks beyond its receiver's own pieces, each line "vendor `…` has no …: add …". */
function missingVendorPieces(vendor: Vendor): string[] {
  const { receiver, protocol } = VENDOR_REGISTRY[vendor];
  const missing: string[] = [];
  const lacks = (what: string, fix: string): void => void missing.push(`vendor \`${vendor}\` has no ${what}: ${fix}`);

  if (protocol().vendor !== vendor) lacks('protocol of its own', `VENDOR_REGISTRY.${vendor}.protocol in src/lib/registry.ts returns ${protocol().vendor}'s; point it at src/lib/vendors/${vendor}`);
  if (typeof trafficOf(vendor)?.script !== 'function') lacks('sandbox cloud', `write src/sandbox/traffic/${vendor}.ts (export const traffic) and add it to TRAFFIC in src/sandbox/traffic.ts`);
  const testCase = VENDOR_CASES.find((found) => found.vendor === vendor);
  if (typeof testCase?.push !== 'function') lacks('test cases', `add its case to CASES in test/harness/vendor-cases.ts`);
  else if (testCase.type !== receiver) lacks(`test cases for ${receiver}`, `its case in test/harness/vendor-cases.ts is for ${testCase.type}`);
  for (const seed of testCase?.seeds ?? []) {
    const fixture = path.join('test', 'fixtures', 'bodies', vendor, `${seed}.json`);
    if (read(fixture) === undefined) lacks(`fixture ${fixture}`, `its case in test/harness/vendor-cases.ts names the seed '${seed}': add the document's push there`);
  }
  const push = path.join('bench', 'lib', 'pushes', `${vendor}.mjs`);
  const benchPush = read(push);
  if (benchPush === undefined) lacks('bench entry', `write ${push} (bench/lib/pushes.mjs says what its default export holds); without it part 1 of the benchmark does not measure ${receiver}`);
  else if (!/export default\b/.test(benchPush)) lacks('bench push', `${push} has no default export (bench/lib/pushes.mjs says what it holds)`);
  return missing;
}

describe('every node type and vendor of the registry has all its pieces', function () {
  it("package.json's node-red.nodes declares the registry's node types (src/lib/registry.ts), each at its runtime file", function () {
    const declared = packageJson()['node-red'].nodes;
    const expected = nodeRedNodes();
    const problems = [
      ...NODE_TYPE_NAMES.filter((type) => declared[type] === undefined).map((type) => `node type \`${type}\` has no entry in package.json's node-red.nodes: add "${type}": "${expected[type]}"`),
      ...Object.keys(declared)
        .filter((type) => !(type in expected))
        .map((type) => `package.json's node-red.nodes declares \`${type}\`, which the registry lacks: add it to NODE_TYPES in src/lib/registry.ts (or remove it from package.json)`),
      ...NODE_TYPE_NAMES.filter((type) => declared[type] !== undefined && declared[type] !== expected[type]).map(
        (type) => `package.json's node-red.nodes gives \`${type}\` the file ${declared[type]}: make it ${expected[type]}`,
      ),
    ];
    if (problems.length) assert.fail(problems.join('\n'));
  });

  for (const type of NODE_TYPE_NAMES) {
    const icon = NODE_TYPES[type].kind === 'config' ? 'no icon (a config node)' : 'its icon';
    it(`${type} (${NODE_TYPES[type].kind}): node and editor file, help and labels in ${LANGUAGES.join(' and ')}, ${icon}, an example flow, the README and its docs page`, function () {
      const missing = missingNodePieces(type);
      if (missing.length) assert.fail(missing.join('\n'));
    });
  }

  for (const vendor of VENDORS) {
    it(`${vendor}: its own protocol, a sandbox cloud, test cases and their fixtures, a bench entry`, function () {
      const missing = missingVendorPieces(vendor);
      if (missing.length) assert.fail(missing.join('\n'));
    });
  }

  it("the benchmark's part 1 loads a push for every receiver, expecting its protocol's answer", function () {
    // bench/lib/pushes.mjs is an ES module with top-level await: it is loaded as the benchmark loads it, in a node of its own.
    const script = "const { PUSHES } = await import('./bench/lib/pushes.mjs'); console.log(JSON.stringify(Object.fromEntries(Object.entries(PUSHES).map(([type, push]) => [type, push.accepted]))));";
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as Record<string, { status: number; body: unknown }>;
    const problems = RECEIVER_TYPES.flatMap((type) => {
      const vendor = vendorOfReceiver(type)!;
      const expected = VENDOR_REGISTRY[vendor].protocol().acceptedBody;
      if (!loaded[type]) return [`bench part 1 has no push for \`${type}\`: write bench/lib/pushes/${vendor}.mjs`];
      try {
        assert.deepEqual(loaded[type], { status: 200, body: expected });
        return [];
      } catch {
        return [`bench part 1 expects ${JSON.stringify(loaded[type])} from \`${type}\`, its protocol answers ${JSON.stringify(expected)}: see bench/lib/pushes.mjs`];
      }
    });
    if (problems.length) assert.fail(problems.join('\n'));
  });

  it('one receiver per vendor', function () {
    const receivers = VENDORS.map((vendor) => VENDOR_REGISTRY[vendor].receiver);
    assert.equal(new Set(receivers).size, receivers.length, `receivers ${receivers.join(', ')}: two vendors share one`);
  });
});
