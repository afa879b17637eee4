import assert from 'node:assert/strict';
import { canonicalJson, sha256Hex } from '../../src/lib/canonical-json';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    const value = { b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }, 1] } };
    assert.equal(canonicalJson(value), '{"a":{"c":[3,{"e":2,"f":1},1],"d":2},"b":1}');
  });

  it('writes text that reads as a number as that number', () => {
    assert.equal(canonicalJson('23341064'), '23341064');
    assert.equal(canonicalJson('5.60'), '5.6');
    assert.equal(canonicalJson(' 12 '), '12');
    assert.equal(canonicalJson('-0.50'), '-0.5');
    assert.equal(canonicalJson('1e3'), '1000');
    assert.equal(canonicalJson({ glu: '6.80', userId: '23341064' }), '{"glu":6.8,"userId":23341064}');
  });

  it('keeps text that is not a number as text', () => {
    assert.equal(canonicalJson('abc'), '"abc"');
    assert.equal(canonicalJson(''), '""');
    assert.equal(canonicalJson('12a'), '"12a"');
    assert.equal(canonicalJson('0x1F'), '"0x1F"');
    assert.equal(canonicalJson('张三'), '"张三"');
    assert.equal(canonicalJson('say "hi"'), '"say \\"hi\\""');
  });

  it('keeps numeric text longer than a double holds as text, so long ids stay distinct', () => {
    assert.equal(canonicalJson('123456789012345'), '123456789012345');
    assert.equal(canonicalJson('12345678901234567890'), '"12345678901234567890"');
    assert.notEqual(canonicalJson('12345678901234567890'), canonicalJson('12345678901234567891'));
    assert.equal(canonicalJson('0.10000000000000000001'), '"0.10000000000000000001"');
  });

  it('writes null and booleans as JSON does and drops undefined members', () => {
    assert.equal(canonicalJson({ low: null, ok: true, no: false, gone: undefined }), '{"low":null,"no":false,"ok":true}');
    assert.equal(canonicalJson([undefined, null]), '[null,null]');
  });

  it('gives the same text for bodies that differ only in key order and number spelling', () => {
    const sent = JSON.parse('{"userId":23341064,"data":{"glu":5.6,"mealPeriod":0}}');
    const retried = JSON.parse('{"data":{"mealPeriod":"0","glu":"5.60"},"userId":"23341064"}');
    assert.equal(canonicalJson(retried), canonicalJson(sent));
    assert.equal(canonicalJson(sent), '{"data":{"glu":5.6,"mealPeriod":0},"userId":23341064}');
  });
});

describe('sha256Hex', () => {
  it('is the lowercase hex SHA-256 of the UTF-8 text', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // from `printf '张三' | sha256sum`: the text is hashed as UTF-8, not UTF-16
    assert.equal(sha256Hex('张三'), '1d841bc0ee98309cb7916670b7f0fdef5f4c35150711a41405ef3633b56322cf');
  });
});
