import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PUSH_VENDORS, vendorOfReceiver, VENDORS } from '../src/lib/vendors/manifest';
import { trafficOf } from '../src/sandbox/traffic';
import { ROOT } from './harness/node-red';
import { builtEditor, editorIcon, isConfigNode, nodeTypes, packageJson } from './harness/package';
import { VENDORS as VENDOR_CASES } from './harness/vendor-cases';

/**
 * A node type or vendor added to the two lists (package.json's node-red.nodes, the vendor manifest
 * src/lib/vendors/manifest.ts) brings every piece the rest of the package finds by its name, or
 * this test names the pieces it lacks. Most of them would fail silently otherwise: Node-RED shows
 * a node without help, the sandbox and the benchmark leave a vendor out, the shared receiver tests
 * skip a vendor without a case. Reads files only: the build (`npm run build`) must have run.
 */

const LANGUAGES = ['en-US', 'zh-CN'];
const at = (...parts: string[]): string => path.join(ROOT, ...parts);
const read = (file: string): string | undefined => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

const examples = fs
  .readdirSync(at('examples'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, types: new Set((JSON.parse(fs.readFileSync(at('examples', file), 'utf8')) as Array<{ type: string }>).map((node) => node.type)) }));
const readme = read(at('README.md')) ?? '';

/** What a node type lacks, each piece named by where it belongs. */
function missingPieces(type: string, base: string): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(at('src', 'nodes', `${base}.ts`))) missing.push(`its node file src/nodes/${base}.ts`);
  const editorSource = read(at('src', 'nodes', `${base}.html`));
  const editor = builtEditor(base);
  if (editorSource === undefined) missing.push(`its editor file src/nodes/${base}.html`);
  else if (!editor?.match(new RegExp(`registerType\\(\\s*['"]${type}['"]`))) missing.push(`RED.nodes.registerType('${type}', …) in src/nodes/${base}.html`);
  for (const lang of LANGUAGES) {
    const help = read(at('src', 'nodes', 'locales', lang, `${base}.html`));
    if (help === undefined) missing.push(`its ${lang} help src/nodes/locales/${lang}/${base}.html`);
    else if (!help.includes(`data-help-name="${type}"`)) missing.push(`data-help-name="${type}" in src/nodes/locales/${lang}/${base}.html`);
    if (!fs.existsSync(at('src', 'nodes', 'locales', lang, `${base}.json`))) missing.push(`its ${lang} labels src/nodes/locales/${lang}/${base}.json`);
  }
  // A config node has no icon: it never shows in the palette or on the canvas.
  if (editor !== undefined && !isConfigNode(base)) {
    const icon = editorIcon(base);
    if (!icon) missing.push(`an icon (icon: '…' in src/nodes/${base}.html)`);
    else if (!fs.existsSync(at('src', 'nodes', 'icons', icon))) missing.push(`its icon src/nodes/icons/${icon}`);
  }
  if (!examples.some((example) => example.types.has(type))) missing.push('an example flow in examples/ that uses it');
  if (!readme.includes(`\`${type}\``)) missing.push(`a word in README.md (\`${type}\`)`);
  // A receiver is whatever includes the shared receiver editor; its vendor must be in the manifest.
  if (editorSource?.includes('@include receiver-node.html') && !vendorOfReceiver(type)) {
    missing.push('its vendor in src/lib/vendors/manifest.ts (it is a receiver)');
  }
  return missing;
}

/** What a push vendor of the manifest lacks beyond its receiver's own pieces. */
function missingVendorPieces(vendor: keyof typeof PUSH_VENDORS): string[] {
  const missing: string[] = [];
  const { receiver } = PUSH_VENDORS[vendor];
  if (!(receiver in packageJson()['node-red'].nodes)) missing.push(`its receiver ${receiver} in package.json's node-red.nodes`);
  if (!fs.existsSync(at('src', 'lib', 'vendors', `${vendor}.ts`)) && !fs.existsSync(at('src', 'lib', 'vendors', vendor, 'index.ts'))) {
    missing.push(`its protocol src/lib/vendors/${vendor}.ts (or ${vendor}/index.ts)`);
  }
  if (typeof trafficOf(vendor)?.script !== 'function') missing.push(`its sandbox traffic src/sandbox/traffic/${vendor}.ts (export const traffic)`);
  if (!VENDOR_CASES.some((found) => found.vendor === vendor)) missing.push(`its case for the shared receiver tests in test/harness/vendor-cases.ts`);
  if (!fs.existsSync(at('bench', 'lib', 'pushes', `${vendor}.mjs`))) missing.push(`its benchmark push bench/lib/pushes/${vendor}.mjs`);
  return missing;
}

describe('every node type and vendor has all its pieces', function () {
  for (const { type, base } of nodeTypes()) {
    it(`${type}: node and editor file, help and labels in ${LANGUAGES.join(' and ')}, an icon, an example flow, the README`, function () {
      const missing = missingPieces(type, base);
      if (missing.length) assert.fail(`${type} lacks:\n  ${missing.join('\n  ')}`);
    });
  }

  for (const vendor of VENDORS) {
    it(`${vendor}: its receiver in package.json, a protocol, sandbox traffic, a case for the receiver tests, a benchmark push`, function () {
      const missing = missingVendorPieces(vendor);
      if (missing.length) assert.fail(`${vendor} lacks:\n  ${missing.join('\n  ')}`);
    });
  }

  it('package.json declares a file for every node type, and the lists name the same receivers', function () {
    for (const [type, file] of Object.entries(packageJson()['node-red'].nodes)) {
      assert.equal(file, `dist/nodes/${type}.js`, `${type}: its files share the type's name`);
    }
    const receivers = VENDORS.map((vendor) => PUSH_VENDORS[vendor].receiver);
    assert.equal(new Set(receivers).size, receivers.length, 'one receiver per vendor');
  });
});
