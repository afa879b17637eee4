import iconv from 'iconv-lite';

/**
 * The character sets a message travels in (`hl7-mllp`'s `charset`), their MSH-18 names (HL7 table
 * 0211 as of v2.5) and their encoders. Node has no GB18030 encoder, so iconv-lite does both ways.
 */

export const CHARSETS = ['utf-8', 'gb18030'] as const;
export type Charset = (typeof CHARSETS)[number];

/** MSH-18 per HL7 table 0211 (v2.5; v2.3.1's table has neither name and is used the same). */
export const MSH18: Record<Charset, string> = {
  'utf-8': 'UNICODE UTF-8',
  gb18030: 'GB 18030-2000',
};

export function isCharset(value: unknown): value is Charset {
  return (CHARSETS as readonly unknown[]).includes(value);
}

export function encodeText(text: string, charset: Charset): Buffer {
  return charset === 'utf-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'gb18030');
}

export function decodeText(bytes: Buffer, charset: Charset): string {
  return charset === 'utf-8' ? bytes.toString('utf8') : iconv.decode(bytes, 'gb18030');
}

const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/**
 * `message` with MSH-18 naming `charset` when the message is not plain ASCII (docs/hospital.md#hl7-v2), so that
 * the name always matches the bytes sent: the node that builds a message does not know the
 * connection's charset. An ASCII message is left as it is. MSH-18 is the 17th `|` after `MSH`.
 */
export function withCharset(message: string, charset: Charset): string {
  if (isAscii(message) || !message.startsWith('MSH')) return message;
  const end = message.indexOf('\r');
  const header = end === -1 ? message : message.slice(0, end);
  const rest = end === -1 ? '' : message.slice(end);
  const separator = header.charAt(3);
  const fields = header.split(separator);
  // fields[0] is "MSH", fields[1] MSH-2; MSH-n is fields[n - 1]
  while (fields.length < 18) fields.push('');
  fields[17] = MSH18[charset];
  return fields.join(separator) + rest;
}
