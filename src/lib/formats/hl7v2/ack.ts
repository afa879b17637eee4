import { unescapeHl7 } from './escape';

/**
 * The HL7 v2 application acknowledgment (an ACK message, its MSA segment) as hl7-send reads it:
 * MSA-1 the acknowledgment code, MSA-2 the control id of the message it answers, MSA-3 the text,
 * and the text of any ERR segments. Named "acknowledgment" in the code, apart from the vendor's
 * answer to a push and from an outbox delivery's settlement.
 */

export const ACKNOWLEDGMENT_CODES = ['AA', 'AE', 'AR', 'CA', 'CE', 'CR'] as const;
export type AcknowledgmentCode = (typeof ACKNOWLEDGMENT_CODES)[number];
/** Original mode AA, enhanced mode CA: accepted. Every other code is an error. */
export const SUCCESS_CODES: ReadonlySet<string> = new Set(['AA', 'CA']);

export interface Hl7Acknowledgment {
  code: AcknowledgmentCode;
  controlId: string;
  /** MSA-3, unescaped; '' when there is none. */
  text: string;
  /** What the ERR segments say, unescaped, joined by '; ' ('' when there are none). */
  errorText: string;
}

export class AcknowledgmentParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AcknowledgmentParseError';
  }
}

function split(text: string, separator: string): string[] {
  return separator ? text.split(separator) : [text];
}

/**
 * The text of one ERR segment: ERR-8 user message, ERR-7 diagnostic information, ERR-3 the
 * error code's text or code (v2.5), else ERR-1's code text (v2.3.1 ELD, 4th component, a CE in
 * subcomponents).
 */
function errText(fields: string[], component: string, subcomponent: string): string {
  const field = (n: number) => fields[n] ?? '';
  const first = (value: string, index: number) => split(value, component)[index] ?? '';
  const candidates = [
    field(8),
    field(7),
    first(field(3), 1),
    first(field(3), 0),
    split(first(split(field(1), '~')[0] ?? '', 3), subcomponent)[1] ?? '',
    split(first(split(field(1), '~')[0] ?? '', 3), subcomponent)[0] ?? '',
  ];
  return unescapeHl7(candidates.find((text) => text !== '') ?? '');
}

export function parseAcknowledgment(message: string): Hl7Acknowledgment {
  const segments = message.split(/\r\n|\r|\n/).filter((s) => s !== '');
  const msh = segments[0];
  if (!msh || !msh.startsWith('MSH') || msh.length < 8) throw new AcknowledgmentParseError('the answer is not an HL7 v2 message (no MSH)');
  const field = msh.charAt(3);
  const component = msh.charAt(4);
  const subcomponent = msh.charAt(7);
  const msaSegment = segments.find((s) => s.startsWith(`MSA${field}`));
  if (!msaSegment) throw new AcknowledgmentParseError('the answer has no MSA segment');
  const msa = msaSegment.split(field);
  const code = (msa[1] ?? '').trim().toUpperCase();
  if (!(ACKNOWLEDGMENT_CODES as readonly string[]).includes(code)) throw new AcknowledgmentParseError(`the answer's MSA-1 is not an acknowledgment code`);
  const controlId = unescapeHl7(msa[2] ?? '');
  const errorText = segments
    .filter((s) => s.startsWith(`ERR${field}`))
    .map((s) => errText(s.split(field), component, subcomponent))
    .filter((t) => t !== '')
    .join('; ');
  return { code: code as AcknowledgmentCode, controlId, text: unescapeHl7(msa[3] ?? ''), errorText };
}

/** MSH-10 of a message, or undefined when it has none. */
export function controlIdOf(message: string): string | undefined {
  if (!message.startsWith('MSH') || message.length < 8) return undefined;
  const end = message.search(/\r|\n/);
  const fields = (end === -1 ? message : message.slice(0, end)).split(message.charAt(3));
  const id = fields[9];
  return id ? unescapeHl7(id) : undefined;
}
