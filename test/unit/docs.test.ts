import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VERSION } from '../../src/lib/config-version';
import { errorCodesOf } from '../../src/lib/error-codes';
import { NODE_TYPES as REGISTRY, NODE_TYPE_NAMES } from '../../src/lib/registry';

/**
 * The documentation stands on its own: a reference page per node type that lists exactly the
 * node's error codes, a README short enough to read and linking every page, links between the pages
 * that lead somewhere (file and heading), and no citation of a contract file the repository does
 * not hold. Reads files only.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const at = (...parts: string[]): string => path.join(ROOT, ...parts);
const read = (file: string): string => fs.readFileSync(file, 'utf8');
const NODE_TYPES = Object.keys(JSON.parse(read(at('package.json')))['node-red'].nodes as object);

function markdownFiles(): string[] {
  const files = [at('README.md'), at('CONTRIBUTING.md')];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.md')) files.push(full);
    }
  };
  walk(at('docs'));
  return files;
}

/** The text outside fenced code blocks, where links and headings are. */
const prose = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '');

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of prose(read(file)).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(match[1]!);
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n += 1) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** The section of a page under `## <title>`, up to the next heading of that level. */
const section = (text: string, title: string): string | undefined =>
  new RegExp(`^## ${title}\\n([\\s\\S]*?)(?=^## |$(?![\\s\\S]))`, 'm').exec(text)?.[1];

describe('the documentation', function () {
  for (const type of NODE_TYPES) {
    it(`${type}: a page docs/nodes/${type}.md whose error codes are exactly the node's, linked from the README and the node index`, function () {
      const page = at('docs', 'nodes', `${type}.md`);
      assert.ok(fs.existsSync(page), `docs/nodes/${type}.md exists`);
      const codes = section(read(page), 'Error codes');
      assert.ok(codes !== undefined, `docs/nodes/${type}.md has a section "## Error codes"`);
      const listed = [...codes.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
      assert.deepEqual(listed, [...errorCodesOf(type)], `docs/nodes/${type}.md lists the codes of src/lib/error-codes.ts, in order`);
      assert.ok(read(at('README.md')).includes(`(docs/nodes/${type}.md)`), `README.md links docs/nodes/${type}.md`);
      assert.ok(read(at('docs', 'nodes', 'README.md')).includes(`(${type}.md)`), `docs/nodes/README.md links ${type}.md`);
    });
  }

  it('the README is at most 300 lines and its first screen shows the two commands', function () {
    const lines = read(at('README.md')).split('\n');
    assert.ok(lines.length <= 300, `README.md has ${lines.length} lines`);
    const first = lines.slice(0, 25).join('\n');
    assert.match(first, /^npm start\b/m);
    assert.match(first, /^npm test\b/m);
  });

  it('every relative link of README.md, CONTRIBUTING.md and docs/ leads to a file, and its #anchor to a heading there', function () {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      for (const match of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [where, anchor] = target.split('#') as [string, string | undefined];
        const resolved = where ? path.resolve(path.dirname(file), where) : file;
        const name = `${path.relative(ROOT, file)} → ${target}`;
        if (!fs.existsSync(resolved)) broken.push(`${name}: no such file`);
        else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${name}: no such heading`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the nodes index gives each node type its kind as the registry does (src/lib/registry.ts)', function () {
    const index = read(at('docs', 'nodes', 'README.md'));
    for (const type of NODE_TYPE_NAMES) {
      const row = index.split('\n').find((line) => line.startsWith(`| [\`${type}\`]`));
      assert.ok(row, `docs/nodes/README.md has no row for ${type}`);
      assert.equal(row.split('|')[2]?.trim(), REGISTRY[type].kind, `docs/nodes/README.md: the kind of ${type}`);
    }
  });

  it('gives the configuration version a hand-written flow must carry, as the code has it', function () {
    const index = read(at('docs', 'nodes', 'README.md'));
    assert.ok(index.includes(`\`version: ${CONFIG_VERSION}\``) && index.includes(`\`configVersion: ${CONFIG_VERSION}\``), 'docs/nodes/README.md');
    assert.ok(read(at('docs', 'nodes', 'health-fhir.md')).includes(`\`version: ${CONFIG_VERSION}\``), 'docs/nodes/health-fhir.md');
    assert.ok(read(at('docs', 'nodes', 'health-hl7.md')).includes(`\`configVersion: ${CONFIG_VERSION}\``), 'docs/nodes/health-hl7.md');
  });

  it('cites no "SPEC §", in the docs or anywhere in the code: the repository says what it does in its own words', function () {
    // every file git keeps but this one (which names the phrase to look for it)
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    const self = path.join('test', 'unit', 'docs.test.ts');
    const citing = tracked.filter((file) => file !== self && fs.existsSync(at(file)) && /SPEC ?§/.test(read(at(file))));
    assert.deepEqual(citing, []);
  });
});
