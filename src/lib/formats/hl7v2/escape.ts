/**
 * HL7 v2 escaping (v2.5.1 §2.7.1–2.7.5) for the standard delimiters `|^~\&`, which are the only
 * ones the messages built here use. Text that lands inside a field is escaped once, as a whole:
 * `\F\` field, `\S\` component, `\T\` subcomponent, `\R\` repetition, `\E\` escape; carriage
 * return and line feed (which would end a segment) as hex data `\X0D\` / `\X0A\`.
 */

const ESCAPES: Record<string, string> = {
  '\\': '\\E\\',
  '|': '\\F\\',
  '^': '\\S\\',
  '&': '\\T\\',
  '~': '\\R\\',
  '\r': '\\X0D\\',
  '\n': '\\X0A\\',
};

const SPECIAL = /[\\|^&~\r\n]/g;

/** `text` as it may stand inside an HL7 v2 field, component or subcomponent. */
export function escapeHl7(text: string): string {
  return text.replace(SPECIAL, (ch) => ESCAPES[ch] as string);
}

const SEQUENCE = /\\([^\\]*)\\/g;

/**
 * Undoes escapeHl7 and the other sequences a peer may send in a text (an ACK's MSA-3 or ERR):
 * `\F\ \S\ \T\ \R\ \E\`, `\Xhh…\` (bytes as Latin-1 code points), `\.br\` as a line break.
 * Formatting sequences we do not render (`\H\`, `\N\`, `\.sp\`, …) are removed.
 */
export function unescapeHl7(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(SEQUENCE, (_match, body: string) => {
    switch (body) {
      case 'F': return '|';
      case 'S': return '^';
      case 'T': return '&';
      case 'R': return '~';
      case 'E': return '\\';
      case '.br': return '\n';
    }
    if (/^X(?:[0-9A-Fa-f]{2})+$/.test(body)) {
      return body.slice(1).replace(/../g, (hex) => String.fromCharCode(parseInt(hex, 16)));
    }
    return '';
  });
}
