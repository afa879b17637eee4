/**
 * Turning a push's bytes into JSON the way the clouds mean them (docs/receivers.md#what-happens-to-a-push):
 * - text is decoded by the `charset` of the Content-Type; Chinese clouds send GBK or GB18030 as
 *   well as UTF-8, and bytes without a charset that are not valid UTF-8 are read as GB18030
 *   (a superset of GBK and GB2312);
 * - integers beyond 2^53 (Java `Long` ids) are kept exactly as decimal strings: `JSON.parse` would
 *   round a 19-digit `userId` to another patient's;
 * - a body nested deeper than MAX_DEPTH is refused before anything walks it recursively (the PII
 *   policy, zod, structuredClone), where it would overflow the stack and look like our fault.
 */

import { TextDecoder } from 'node:util';

export const MAX_DEPTH = 64;

export type ParsedJson = { ok: true; value: unknown } | { ok: false; reason: 'not-json' | 'too-deep' };

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const GB18030 = new TextDecoder('gb18030');
const decoders = new Map<string, TextDecoder>();

function decoderFor(label: string): TextDecoder | undefined {
  let decoder = decoders.get(label);
  if (!decoder) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      return undefined; // a charset the WHATWG Encoding standard does not know
    }
    decoders.set(label, decoder);
  }
  return decoder;
}

/** The `charset` parameter of a Content-Type header, lower case; undefined without one. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1]?.toLowerCase();
}

/** The text of a body: by its declared charset, else UTF-8, else GB18030. No BOM. */
export function decodeBody(bytes: Uint8Array, contentType: string | undefined): string {
  const charset = charsetOf(contentType);
  const declared = charset === undefined ? undefined : decoderFor(charset);
  let text: string;
  if (declared && declared.encoding !== 'utf-8') {
    text = declared.decode(bytes);
  } else {
    try {
      text = UTF8.decode(bytes);
    } catch {
      // Declared UTF-8 but is not: a cloud that mislabels GBK is far likelier than mojibake on purpose.
      text = GB18030.decode(bytes);
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/**
 * One pass over the text outside strings: counts the nesting depth and quotes integer literals
 * too large for a double. The pass only needs to be right for valid JSON; JSON.parse judges the rest.
 */
function prepare(text: string): { text: string } | { tooDeep: true } {
  let depth = 0;
  let out: string[] | undefined;
  let copiedUpTo = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const inner = text.charCodeAt(i);
        if (inner === 92 /* \ */) i++;
        else if (inner === 34) break;
      }
    } else if (code === 123 /* { */ || code === 91 /* [ */) {
      if (++depth > MAX_DEPTH) return { tooDeep: true };
    } else if (code === 125 /* } */ || code === 93 /* ] */) {
      depth--;
    } else if (code === 45 /* - */ || isDigit(code)) {
      const start = i;
      if (code === 45) i++;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      const next = text.charCodeAt(i);
      const integer = next !== 46 /* . */ && next !== 101 /* e */ && next !== 69; /* E */
      const literal = text.slice(start, i);
      if (integer && literal.length >= 16 && !Number.isSafeInteger(Number(literal))) {
        out ??= [];
        out.push(text.slice(copiedUpTo, start), '"', literal, '"');
        copiedUpTo = i;
      }
      i--; // the loop's i++ moves to the character after the literal
    }
  }
  if (!out) return { text };
  out.push(text.slice(copiedUpTo));
  return { text: out.join('') };
}

/** JSON.parse with Long ids kept exact and a depth limit. */
export function parseJson(text: string): ParsedJson {
  const prepared = prepare(text);
  if ('tooDeep' in prepared) return { ok: false, reason: 'too-deep' };
  try {
    return { ok: true, value: JSON.parse(prepared.text) };
  } catch {
    return { ok: false, reason: 'not-json' };
  }
}
