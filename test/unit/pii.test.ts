import assert from 'node:assert/strict';
import { piiTransform } from '../../src/lib/pii';

describe('pii transform', function () {
  it('keeps a "__proto__" key of a body as a field of the copy, without touching any prototype', function () {
    const body = JSON.parse('{"__proto__": {"polluted": true}, "data": {"name": "张三", "__proto__": {"x": 1}}}');
    for (const mode of ['mask', 'pseudonymize', 'drop'] as const) {
      const copy = piiTransform(mode, 'k')(body) as Record<string, any>;
      assert.equal(Object.getPrototypeOf(copy), Object.prototype, mode);
      assert.equal(copy.polluted, undefined, mode);
      assert.deepEqual(Object.keys(copy), ['__proto__', 'data'], mode);
      assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true }, mode);
      assert.equal(Object.getOwnPropertyDescriptor(copy.data, '__proto__')?.value.x, 1, mode);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });
});
