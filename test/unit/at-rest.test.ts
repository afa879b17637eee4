import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CodedError } from '../../src/lib/coded-error';
import { KEY_ENV, KEY_FILE_ENV, Sealer, loadAtRestKey, newAtRestKeyText } from '../../src/lib/at-rest';

describe('the at-rest key and sealing', () => {
  const keyText = newAtRestKeyText();
  const master = Buffer.from(keyText, 'hex');

  it('reads the key as hex or base64 from HEALTH_BRIDGE_KEY, or from the file HEALTH_BRIDGE_KEY_FILE', () => {
    assert.deepEqual(loadAtRestKey({ [KEY_ENV]: keyText }), master);
    assert.deepEqual(loadAtRestKey({ [KEY_ENV]: master.toString('base64') }), master);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-key-'));
    const file = path.join(dir, 'key');
    fs.writeFileSync(file, `${keyText}\n`);
    assert.deepEqual(loadAtRestKey({ [KEY_FILE_ENV]: file }), master);
    fs.rmSync(dir, { recursive: true });
  });

  it('names what is missing or wrong without repeating the value', () => {
    const none = loadAtRestKey({});
    assert.ok(none instanceof CodedError && none.code === 'no-key');
    const short = loadAtRestKey({ [KEY_ENV]: 'secret-but-short' });
    assert.ok(short instanceof CodedError && short.code === 'bad-key');
    assert.ok(!short.message.includes('secret-but-short'));
    const missing = loadAtRestKey({ [KEY_FILE_ENV]: '/nonexistent/key' });
    assert.ok(missing instanceof CodedError && missing.code === 'bad-key' && missing.message.includes('ENOENT'));
  });

  it('seals so that the bytes hold nothing of the text, and opens them again', () => {
    const sealer = new Sealer(master, 'outbox:test');
    const text = '{"name":"张三","idCard":"430424199001011234"}';
    const sealed = sealer.seal(Buffer.from(text));
    assert.ok(!sealed.includes(Buffer.from('张三')) && !sealed.includes(Buffer.from('430424')));
    assert.equal(sealer.open(sealed).toString(), text);
    assert.equal(sealer.openText(sealer.sealText(text)), text);
    // a fresh nonce each time: equal texts do not give equal bytes
    assert.notDeepEqual(sealer.seal(Buffer.from(text)), sealed);
  });

  it('refuses another purpose, another key and a changed byte, saying why', () => {
    const sealed = new Sealer(master, 'outbox:a').seal(Buffer.from('reading'));
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof CodedError && error.code === 'undecryptable' ? error.params.reason : 'other';
      }
      return 'opened';
    };
    assert.equal(reason(() => new Sealer(master, 'outbox:b').open(sealed)), 'tag');
    assert.equal(reason(() => new Sealer(Buffer.from(newAtRestKeyText(), 'hex'), 'outbox:a').open(sealed)), 'tag');
    const changed = Buffer.from(sealed);
    changed[20] = (changed[20] as number) ^ 1;
    assert.equal(reason(() => new Sealer(master, 'outbox:a').open(changed)), 'tag');
    assert.equal(reason(() => new Sealer(master, 'outbox:a').open(sealed.subarray(0, 10))), 'short');
    assert.equal(reason(() => new Sealer(master, 'outbox:a').open(Buffer.concat([Buffer.of(9), sealed.subarray(1)]))), 'format');
  });

  it('gives keyed ids that are stable per key and purpose and tell nothing without the key', () => {
    const a = new Sealer(master, 'outbox:a');
    assert.equal(a.keyedId('sinocare/12'), new Sealer(master, 'outbox:a').keyedId('sinocare/12'));
    assert.notEqual(a.keyedId('sinocare/12'), new Sealer(master, 'patients').keyedId('sinocare/12'));
    assert.notEqual(a.keyedId('sinocare/12'), a.keyedId('sinocare/13'));
  });
});
