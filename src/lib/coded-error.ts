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
