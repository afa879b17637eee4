import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MllpDecoder, frame, parseAcknowledgment, controlIdOf, escapeHl7, unescapeHl7 } from '../../src/lib/formats/hl7v2';

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('hl7-send framing: MLLP frames and ACKs', function () {
  it('frames a message as 0x0B … 0x1C 0x0D', function () {
    assert.deepEqual([...frame(utf8('MSH|x'))], [0x0b, ...utf8('MSH|x'), 0x1c, 0x0d]);
  });

  it('decodes frames however TCP splits or joins them, even between 0x1C and 0x0D', function () {
    const messages = ['MSH|^~\\&|A\rMSA|AA|1', 'MSH|^~\\&|B\rMSA|AE|2|张三的错误', 'MSH|^~\\&|C\rMSA|AA|3'];
    const stream = Buffer.concat([utf8('\r\n'), ...messages.map((m) => frame(utf8(m))), utf8('\n')]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const decoder = new MllpDecoder();
        const bounds = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const out: string[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          out.push(...decoder.push(stream.subarray(bounds[i], bounds[i + 1])).map((b) => b.toString('utf8')));
        }
        assert.deepEqual(out, messages);
      }),
      { numRuns: 300 },
    );
    const decoder = new MllpDecoder();
    assert.deepEqual(decoder.push(Buffer.from([0x0b, 0x41, 0x1c])), []);
    assert.deepEqual(decoder.push(Buffer.from([0x0d])).map(String), ['A']);
  });

  it('a 0x1C not followed by 0x0D stays in the message; a frame larger than the limit is an error', function () {
    const decoder = new MllpDecoder();
    assert.deepEqual(decoder.push(Buffer.from([0x0b, 0x41, 0x1c, 0x42, 0x1c, 0x0d])), [Buffer.from([0x41, 0x1c, 0x42])]);
    const small = new MllpDecoder(8);
    assert.throws(() => small.push(Buffer.concat([Buffer.of(0x0b), Buffer.alloc(20, 0x41)])), /larger than 8 bytes/);
    assert.deepEqual(small.push(frame(utf8('ok'))).map(String), ['ok'], 'the decoder starts over after the error');
  });

  it('reads an ACK: MSA-1, MSA-2, MSA-3 and the ERR text of v2.5 and v2.3.1', function () {
    assert.deepEqual(parseAcknowledgment('MSH|^~\\&|LIS|H|HB|W|20261201||ACK^R01^ACK|9|P|2.5.1\rMSA|AA|CTRL1'), {
      code: 'AA', controlId: 'CTRL1', text: '', errorText: '',
    });
    const v25 = parseAcknowledgment('MSH|^~\\&|||||||ACK|9|P|2.5.1\rMSA|AE|CTRL2|Unknown patient \\F\\ 12\rERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Patient not on file');
    assert.deepEqual(v25, { code: 'AE', controlId: 'CTRL2', text: 'Unknown patient | 12', errorText: 'Patient not on file' });
    const v231 = parseAcknowledgment('MSH|^~\\&|||||||ACK|9|P|2.3.1\nMSA|AR|CTRL3\nERR|OBX^1^3^103&Table value not found&HL70357');
    assert.deepEqual(v231, { code: 'AR', controlId: 'CTRL3', text: '', errorText: 'Table value not found' });
    assert.equal(parseAcknowledgment('MSH|^~\\&|||||||ACK|9|P|2.5.1\rMSA|CA|X\rERR||||E|||||\rERR|||207^Application internal error^HL70357').errorText, 'Application internal error');
    assert.throws(() => parseAcknowledgment('PID|1'), /not an HL7 v2 message/);
    assert.throws(() => parseAcknowledgment('MSH|^~\\&|\rPID|1'), /no MSA/);
    assert.throws(() => parseAcknowledgment('MSH|^~\\&|\rMSA|OK|1'), /not an acknowledgment code/);
  });

  it('finds the control id (MSH-10) of a message to send', function () {
    assert.equal(controlIdOf('MSH|^~\\&|A|B|C|D|20261201||ORU^R01^ORU_R01|ABC123|P|2.5.1\rPID|1'), 'ABC123');
    assert.equal(controlIdOf('MSH|^~\\&|A|B|C|D|20261201||ORU^R01'), undefined);
    assert.equal(controlIdOf('PID|1'), undefined);
  });

  it('escaping and unescaping are inverse for any text', function () {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '|', '^', '~', '\\', '&', '\r', '\n', '张', 'X', '0') }), (text) => {
      const escaped = escapeHl7(text);
      assert.ok(!/[|^~&\r\n]/.test(escaped));
      assert.equal(unescapeHl7(escaped), text);
    }), { numRuns: 300 });
    assert.equal(unescapeHl7('a\\.br\\b\\H\\c\\N\\'), 'a\nbc');
  });
});
