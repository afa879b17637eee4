/**
 * A failure named by a code and its parameters instead of a sentence. The text a user reads is in
 * the locale files of the node that reports it (`errors.<code>`, in the user's language); the
 * message here is only the code and the parameters, for a log or a test outside Node-RED, so no
 * English text is kept beside the translations. Parameters never hold a secret.
 */
export class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    readonly params: Readonly<Record<string, string | number>> = {},
  ) {
    const detail = Object.entries(params).map(([name, value]) => `${name}: ${value}`).join(', ');
    super(detail ? `${code} (${detail})` : code);
    this.name = 'CodedError';
  }
}

/**
 * An error told by its code (`EIO`, `ENOSPC`, a CodedError's code) or else its name, never its
 * text: a system error's or a parser's text may quote the data it was reading.
 */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'error';
}
