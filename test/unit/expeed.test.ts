import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { PushItem } from '../../src/lib/reading';
import { createHash } from 'node:crypto';
import { datapointElement, EXPEED_ERROR_CODES, expeedProtocol, handshakeSignature, historyQueryOf, idsOf, looksEncrypted, queryConfigSchema, queryTime, type SettingResult } from '../../src/lib/vendors/expeed';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies', 'expeed');
const SHARED_LOCALES = path.resolve(__dirname, '..', '..', '..', 'src', 'nodes', 'shared', 'locales');
const RECEIVED_AT = '2026-11-22T10:00:00.123Z';
const fixture = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));

function normalize(body: unknown, options: Parameters<typeof expeedProtocol>[0] = {}, tz = 'Asia/Shanghai'): PushItem[] {
  const protocol = expeedProtocol(options);
  return protocol.normalize(protocol.schema.parse(body), { tz, receivedAt: RECEIVED_AT });
}

function issuePaths(body: unknown): string[] {
  const result = expeedProtocol().schema.safeParse(body);
  assert.equal(result.success, false, 'the body should fail the schema');
  return result.error!.issues.map((issue) => issue.path.join('.'));
}

describe('expeed push protocol', function () {
  describe('msg_type 1, online/offline', function () {
    it('reads device_status 0 as online and 1 as offline, as the push document says', function () {
      const [online] = normalize(fixture('status-online'));
      assert.equal(online?.topic, 'expeed/online');
      assert.deepEqual(online?.payload, {
        vendor: 'expeed', event: 'online', device: { id: 'dev-001', sn: 'SN0001' }, data: { device_status: 0, online: true },
      });
      assert.equal(online?.dedupKey, undefined, 'status pushes are not deduplicated');
      const [offline] = normalize({ ...fixture('status-online'), device_status: 1 });
      assert.equal(offline?.topic, 'expeed/offline');
    });

    it('follows the account onlineValue when a platform sends 1 for online, with msg_type as a number', function () {
      const [item] = normalize({ ...fixture('status-online'), msg_type: 1, device_status: '1' }, { onlineValue: 1 });
      assert.equal(item?.topic, 'expeed/online');
      const [other] = normalize({ ...fixture('status-online'), device_status: 0 }, { onlineValue: 1 });
      assert.equal(other?.topic, 'expeed/offline');
    });

    it('passes a device_status it cannot place on as unrecognized', function () {
      const [item] = normalize({ ...fixture('status-online'), device_status: 7 });
      assert.equal(item?.topic, 'expeed/unrecognized');
    });
  });

  describe('msg_type 2, data', function () {
    it('makes one datapoint reading per element, in tz, keeping the device names with unit ""', function () {
      const items = normalize(fixture('data'));
      assert.equal(items.length, 2);
      const [first, second] = items.map((item) => item.payload as any);
      assert.equal(items[0]?.topic, 'expeed/datapoint');
      assert.equal(first.time, '2017-02-13T12:00:00+08:00');
      assert.deepEqual(first.values, { value1: { value: 12, unit: '' }, value2: { value: 3.5, unit: '' } });
      assert.deepEqual(first.device, { id: 'dev-001' });
      assert.equal(first.kind, 'datapoint');
      assert.deepEqual(second.values, { value1: { value: 13, unit: '' } });
      assert.deepEqual(second.context, { other: { mode: 'auto' } });
    });

    it('gives two elements with one timestamp different dedup keys and ids, and a retry the same', function () {
      const [a, b] = normalize(fixture('data'));
      assert.notEqual(a?.dedupKey, b?.dedupKey);
      assert.notEqual((a?.payload as any).id, (b?.payload as any).id);
      const again = normalize(fixture('data'));
      assert.deepEqual(again.map((i) => i.dedupKey), [a?.dedupKey, b?.dedupKey]);
      assert.match(String(a?.dedupKey), /^dev-001\n2017-02-13T12-00-00-000\n[0-9a-f]{64}$/);
    });

    it('trims the timestamp before reading or hashing it, so " 2017-…" and "2017-…" are one point', function () {
      const spaced = { msg_type: '2', device_id: 'dev-001', data: [{ timestamp: ' 2017-02-13T12-00-00-000 ', xxx: 0, yyy: 2 }] };
      const plain = { msg_type: '2', device_id: 'dev-001', data: [{ timestamp: '2017-02-13T12-00-00-000', xxx: 0, yyy: 2 }] };
      const [a] = normalize(spaced);
      const [b] = normalize(plain);
      assert.equal(a?.dedupKey, b?.dedupKey);
      assert.equal((a?.payload as any).id, (b?.payload as any).id);
      assert.equal((a?.payload as any).time, '2017-02-13T12:00:00+08:00');
      assert.equal(datapointElement.parse({ timestamp: ' 2017-02-13T12-00-00-000' }).timestamp, '2017-02-13T12-00-00-000');
    });

    it('keeps a value the device could not measure out of values, with its text, never refusing the push', function () {
      const body = { msg_type: '2', device_id: 'dev-001', data: [
        { timestamp: '2017-02-13T12-00-00-000', glu: 'HI' },
        { timestamp: '2017-02-13T12-00-00-000', glu: '<1.1', temp: 36.5 },
        { timestamp: '2017-02-13T12-00-00-000', value1: '', value2: null, mode: 'auto' },
      ] };
      const [high, low, blank] = normalize(body).map((item) => item.payload as any);
      assert.deepEqual(high.values, {});
      assert.deepEqual(high.context, { resultText: 'HI', outOfRange: 'high', other: { glu: 'HI' } });
      assert.deepEqual(low.values, { temp: { value: 36.5, unit: '' } });
      assert.deepEqual(low.context, { resultText: '<1.1', outOfRange: 'low', unmeasured: ['glu'], other: { glu: '<1.1' } });
      assert.deepEqual(blank.values, {});
      assert.deepEqual(blank.context, { resultText: '', unmeasured: ['value1', 'value2'], other: { value1: '', value2: null, mode: 'auto' } });
    });

    it('reads timestamps in the receiver tz', function () {
      const [item] = normalize(fixture('data'), {}, 'UTC');
      assert.equal((item?.payload as any).time, '2017-02-13T12:00:00+00:00');
    });

    it('refuses an element without a valid timestamp, naming the path from the body root', function () {
      assert.deepEqual(issuePaths({ msg_type: '2', device_id: 'd', data: [{ timestamp: '2017-02-13T12-00-00-000' }, { value1: 1 }] }), ['data.1.timestamp']);
      assert.deepEqual(issuePaths({ msg_type: '2', device_id: 'd', data: [{ timestamp: 'yesterday' }] }), ['data.0.timestamp']);
      assert.deepEqual(issuePaths({ msg_type: '2', data: [] }), ['device_id']);
    });
  });

  describe('msg_type 3, setting result', function () {
    it('becomes an expeed/setting-result event keyed by message_id, and is handed to the account', function () {
      const heard: SettingResult[] = [];
      const protocol = expeedProtocol({ onSettingResult: (result) => heard.push(result) });
      const items = protocol.normalize(protocol.schema.parse(fixture('setting-result')), { tz: 'UTC', receivedAt: RECEIVED_AT });
      assert.equal(items[0]?.topic, 'expeed/setting-result');
      assert.deepEqual((items[0]?.payload as any).data, { messageId: 'm-42', success: true, setResult: 0 });
      assert.equal(items[0]?.dedupKey, 'message_id\nm-42');
      protocol.emitted?.(items);
      assert.deepEqual(heard, [{ messageId: 'm-42', success: true, setResult: 0, deviceId: 'dev-001' }]);
    });

    it('reads set_result "1" as a failure', function () {
      const [item] = normalize({ ...fixture('setting-result'), set_result: '1' });
      assert.equal((item?.payload as any).data.success, false);
    });
  });

  it('passes an unknown msg_type on as unrecognized, without the device_key', function () {
    const [item] = normalize(fixture('unknown-type'));
    assert.equal(item?.topic, 'expeed/unrecognized');
    assert.doesNotMatch(JSON.stringify(item?.payload), /k-dev-001-secret/);
  });

  it('removes device_key from the raw body', function () {
    const raw = expeedProtocol().redactRaw!(fixture('data'));
    assert.doesNotMatch(JSON.stringify(raw), /device_key|k-dev-001-secret/);
    assert.equal((raw as any).device_id, 'dev-001');
  });

  describe('handshake', function () {
    it('signs with md5 of the sha1 hex, as a fixed vector computed by hand', function () {
      // printf '%s' 'hb-token-2024nonce123451700000000' | sha1sum  → d8138b69d3bc082eb7273c6c9bd301fc73f8144d
      // printf '%s' d8138b69d3bc082eb7273c6c9bd301fc73f8144d | md5sum → f7a3499e140b29441846cb69660adbc1
      assert.equal(handshakeSignature('hb-token-2024', 'nonce12345', '1700000000'), 'f7a3499e140b29441846cb69660adbc1');
    });

    it('answers the nonce to a good signature and refuses a wrong one or a missing token', function () {
      const protocol = expeedProtocol({ handshakeToken: 'hb-token-2024' });
      const query = (signature: string): URLSearchParams => new URLSearchParams({ signature, nonce: 'nonce12345', timestamp: '1700000000' });
      assert.deepEqual(protocol.handshake!(query('f7a3499e140b29441846cb69660adbc1')), { ok: true, body: 'nonce12345' });
      assert.deepEqual(protocol.handshake!(query('F7A3499E140B29441846CB69660ADBC1')), { ok: true, body: 'nonce12345' });
      assert.deepEqual(protocol.handshake!(query('f7a3499e140b29441846cb69660adbc2')), { ok: false, code: 'handshake-signature' });
      assert.deepEqual(protocol.handshake!(new URLSearchParams({ nonce: 'n', timestamp: '1' })), { ok: false, code: 'handshake-signature' });
      assert.deepEqual(expeedProtocol().handshake!(query('f7a3499e140b29441846cb69660adbc1')), { ok: false, code: 'handshake-unconfigured' });
    });
  });

  describe('handshake encodings', function () {
    const token = 'hb-token-2024';
    const nonce = 'nonce12345';
    const timestamp = '1700000000';
    const sha1 = createHash('sha1').update(token + nonce + timestamp).digest();
    const md5 = (input: Buffer | string): string => createHash('md5').update(input).digest('hex');
    const protocol = expeedProtocol({ handshakeToken: token });
    const check = (signature: string) => protocol.handshake!(new URLSearchParams({ signature, nonce, timestamp }));

    it('accepts MD5 of the SHA-1 as lowercase hex, uppercase hex or raw bytes, in either case', function () {
      for (const signature of [md5(sha1.toString('hex')), md5(sha1.toString('hex').toUpperCase()), md5(sha1)]) {
        assert.deepEqual(check(signature), { ok: true, body: nonce }, signature);
        assert.deepEqual(check(signature.toUpperCase()), { ok: true, body: nonce }, signature);
      }
    });

    it('refuses the SHA-1 alone, an MD5 of other text and an empty signature', function () {
      for (const signature of [sha1.toString('hex'), md5(token + nonce + timestamp), md5(sha1.toString('base64')), '']) {
        assert.deepEqual(check(signature), { ok: false, code: 'handshake-signature' }, signature);
      }
    });
  });

  it('answers with result_message and result_msg, on success and on refusal', function () {
    const protocol = expeedProtocol();
    assert.deepEqual(protocol.acceptedBody, { result_code: 0, result_message: 'ok', result_msg: 'ok' });
    assert.deepEqual(protocol.rejectedBody(400, 'body is not JSON'), { result_code: 400, result_message: 'body is not JSON', result_msg: 'body is not JSON' });
  });

  describe('ciphertext (密文) mode', function () {
    it('recognizes an opaque body as encrypted and a malformed plaintext body as not', function () {
      assert.equal(looksEncrypted('U2FsdGVkX1+vupppZksvRf5pq5g5XjFRIipRkwB0K1Y=', undefined), true);
      assert.equal(looksEncrypted('"U2FsdGVkX1+vupppZksvRf5pq5g5XjFRIipRkwB0K1Y="', 'U2FsdGVkX1+vupppZksvRf5pq5g5XjFRIipRkwB0K1Y='), true);
      assert.equal(looksEncrypted('', { encrypt: 'abc' }), true);
      assert.equal(looksEncrypted('', { msg_type: '2', device_id: 'd', data: 'U2FsdGVkX1+vupppZksvRf5pq5g5' }), true);
      assert.equal(looksEncrypted('{"msg_type": "2", "data": {', undefined), false);
      assert.equal(looksEncrypted('not json', undefined), false);
      assert.equal(looksEncrypted('', fixture('data')), false);
    });
  });
});

describe('expeed query times', function () {
  it('sends ISO, epoch ms and the vendor form in the vendor form of the account tz', function () {
    assert.equal(queryTime('2017-02-13T04:00:00Z', 'Asia/Shanghai'), '2017-02-13T12-00-00-000');
    assert.equal(queryTime('2017-02-13T12:00:00+08:00', 'UTC'), '2017-02-13T04-00-00-000');
    // 1486958400000 = 2017-02-13T04:00:00Z (the cursor in the vendor's example)
    assert.equal(queryTime(1486958400000, 'Asia/Shanghai'), '2017-02-13T12-00-00-000');
    assert.equal(queryTime('1486958400000', 'Asia/Shanghai'), '2017-02-13T12-00-00-000');
    assert.equal(queryTime('2017-02-13T12-00-00-000', 'UTC'), '2017-02-13T12-00-00-000');
    assert.equal(queryTime('2017-02-13T12:00:00.250', 'UTC'), '2017-02-13T12-00-00-250');
    assert.equal(queryTime('2017-02-13', 'Asia/Shanghai'), '2017-02-13T00-00-00-000');
    assert.equal(queryTime('last tuesday', 'UTC'), undefined);
  });
});

describe('expeed data point names (ids)', function () {
  it('reads , and the full-width ， with spaces around, and sends them with ,', function () {
    assert.equal(idsOf('temp,value1'), 'temp,value1');
    assert.equal(idsOf('temp ， value1'), 'temp,value1');
    assert.equal(idsOf(' temp，value1 , value2 '), 'temp,value1,value2');
    assert.equal(idsOf(['temp', ' value1 ']), 'temp,value1');
    assert.equal(idsOf('，, '), 'all');
    assert.equal(idsOf(undefined, 'temp，value1'), 'temp,value1');
    assert.equal(idsOf('ALL'), 'all');
  });

  it('applies to a history query from the node or the message', function () {
    const config = queryConfigSchema.parse({ operation: 'history', ids: 'temp ， value1' });
    assert.equal(historyQueryOf(config, {}, 'Asia/Shanghai').ids, 'temp,value1');
    assert.equal(historyQueryOf(config, { ids: 'a，b' }, 'Asia/Shanghai').ids, 'a,b');
  });
});

describe('expeed error texts', function () {
  const errorTexts = (lang: string): Record<string, unknown> =>
    JSON.parse(fs.readFileSync(path.join(SHARED_LOCALES, lang, 'expeed.json'), 'utf8'))['health-bridge-expeed'].errors;
  const placeholders = (text: unknown): string[] => [...String(text).matchAll(/__(\w+)__/g)].map((match) => match[1] as string).sort();

  it('every failure an Expeed node can report reads the same in English and Chinese, with the same details', function () {
    const english = errorTexts('en-US');
    const chinese = errorTexts('zh-CN');
    for (const code of EXPEED_ERROR_CODES) {
      assert.equal(typeof english[code], 'string', `${code}: no en-US text`);
      assert.equal(typeof chinese[code], 'string', `${code}: no zh-CN text`);
      assert.notEqual(english[code], '', `${code}: empty en-US text`);
      assert.notEqual(chinese[code], '', `${code}: empty zh-CN text`);
      assert.deepEqual(placeholders(chinese[code]), placeholders(english[code]), `${code}: the two texts name other details`);
    }
  });
});
