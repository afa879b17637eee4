import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { errorCodeTableMarkdown, errorCodesOf, NODE_ERROR_CODES } from '../../src/lib/error-codes';
import { codeTableMarkdown } from '../../src/lib/formats/fhir';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const README = (): string => fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const between = (text: string, name: string): string | undefined =>
  new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(text)?.[1];
const NODE_TYPES = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))['node-red'].nodes as object);
const LANGS = ['en-US', 'zh-CN'];
const built = (lang: string, file: string): string => fs.readFileSync(path.join(ROOT, 'dist', 'nodes', 'locales', lang, file), 'utf8');

describe('the README code table', function () {
  it('is the table the hospital formats send, row for row', function () {
    const table = between(README(), 'codes');
    assert.ok(table, 'README.md has the codes:start/codes:end markers');
    assert.equal(table.trim(), codeTableMarkdown().trim(), 'regenerate it: node -e "console.log(require(\'./dist/lib/formats/fhir\').codeTableMarkdown())"');
  });
});

describe('error codes: one list per node (src/lib/error-codes.ts), the help and the README list exactly those', function () {
  it('every node type of package.json has its list, and the list names no other type', function () {
    assert.deepEqual(Object.keys(NODE_ERROR_CODES).sort(), [...NODE_TYPES].sort());
  });

  it('the README table is the lists, node for node', function () {
    const table = between(README(), 'error-codes');
    assert.ok(table, 'README.md has the error-codes:start/error-codes:end markers');
    assert.equal(table.trim(), errorCodeTableMarkdown().trim(), 'regenerate it: node -e "console.log(require(\'./dist/lib/error-codes\').errorCodeTableMarkdown())"');
  });

  for (const type of NODE_TYPES) {
    it(`${type}: its help (en-US, zh-CN) lists exactly its codes, each has its text in both languages, and its catalog has no other`, function () {
      const codes = errorCodesOf(type);
      for (const lang of LANGS) {
        const help = built(lang, `${type}.html`);
        const listed = /<span class="health-bridge-errors">([\s\S]*?)<\/span>/.exec(help)?.[1];
        assert.ok(listed !== undefined, `${lang}/${type}.html lists its error codes`);
        assert.deepEqual([...listed.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]), [...codes], `${lang}/${type}.html`);

        const catalog = JSON.parse(built(lang, `${type}.json`)) as Record<string, { errors?: Record<string, string> }>;
        const texts = Object.values(catalog).flatMap((namespace) => Object.keys(namespace?.errors ?? {}));
        for (const code of codes) assert.ok(texts.includes(code), `${lang}/${type}.json has a text for ${code}`);
        const own = Object.keys(catalog[type]?.errors ?? {});
        assert.deepEqual(own.filter((code) => !codes.includes(code)), [], `${lang}/${type}.json: codes its list does not name`);
      }
    });
  }
});
