import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { codeTableMarkdown } from '../../src/lib/formats/fhir';

describe('the README code table', function () {
  it('is the table the hospital formats send, row for row', function () {
    const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const between = /<!-- codes:start -->\n([\s\S]*?)\n<!-- codes:end -->/.exec(readme)?.[1];
    assert.ok(between, 'README.md has the codes:start/codes:end markers');
    assert.equal(between.trim(), codeTableMarkdown().trim(), 'regenerate it: node -e "console.log(require(\'./dist/lib/formats/fhir\').codeTableMarkdown())"');
  });
});
