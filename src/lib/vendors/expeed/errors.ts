/**
 * Every failure an Expeed call or node can report, as a reason (the locale key under
 * `health-bridge-expeed.errors`) with its parameters, and an English message for logs and tests.
 * Parameters never hold a secret: no key, no token, no URL query.
 */

export type ExpeedErrorReason =
  | 'no-account'
  | 'no-credentials'
  | 'no-device-id'
  | 'no-device-key'
  | 'bad-input'
  | 'token-cap'
  | 'token-rejected'
  | 'token-failed'
  | 'token-expired'
  | 'device-not-found'
  | 'invalid-query'
  | 'url-invalid'
  | 'body-invalid'
  | 'vendor'
  | 'api'
  | 'bad-answer'
  | 'setting-failed'
  | 'setting-timeout'
  | 'closed';

const MESSAGES: Record<ExpeedErrorReason, string> = {
  'no-account': 'no expeed-account is selected',
  'no-credentials': 'the expeed-account needs a platform key and a secret key',
  'no-device-id': 'no device id: set it on the node or in msg.deviceId',
  'no-device-key': 'no device key: set it on the node or in msg.deviceKey',
  'bad-input': 'invalid input: __issues__',
  'token-cap': 'token endpoint called __cap__ times today (__day__): the daily cap refuses more calls until midnight',
  'token-rejected': 'Expeed refused the platform key or secret key (result_code 1): __message__',
  'token-failed': 'Expeed gave no token (result_code __code__): __message__',
  'token-expired': 'Expeed still reports the token expired after one refresh (result_code 1): __message__',
  'device-not-found': 'Expeed: the device does not exist (result_code 2): __message__',
  'invalid-query': 'Expeed refused the request (result_code 3: invalid query, unknown device key or device offline): __message__',
  'url-invalid': 'Expeed: a URL parameter is invalid (result_code 4): __message__',
  'body-invalid': 'Expeed: the body is invalid (result_code 5): __message__',
  vendor: 'Expeed answered result_code __code__: __message__',
  api: '__message__',
  'bad-answer': '__endpoint__: the answer does not match the Expeed format: __issues__',
  'setting-failed': 'the device reported that setting __messageId__ failed (set_result __setResult__)',
  'setting-timeout': 'no setting result for __messageId__ within __seconds__ s',
  closed: 'the node was stopped before the answer came',
};

export class ExpeedError extends Error {
  constructor(
    readonly reason: ExpeedErrorReason,
    readonly params: Record<string, string | number> = {},
  ) {
    super(MESSAGES[reason].replace(/__(\w+)__/g, (_, name: string) => String(params[name] ?? '')));
    this.name = 'ExpeedError';
  }
}

/** The reason of each documented API `result_code` (SPEC §5). */
export function vendorCodeError(code: number, message: string): ExpeedError {
  const reasons: Record<number, ExpeedErrorReason> = {
    1: 'token-expired',
    2: 'device-not-found',
    3: 'invalid-query',
    4: 'url-invalid',
    5: 'body-invalid',
  };
  return new ExpeedError(reasons[code] ?? 'vendor', { code, message });
}

/**
 * The text of an error for a node's status and the flow: an ExpeedError in the user's language
 * through `translate` (keys `errors.<reason>`), anything else as its message.
 */
export function errorText(error: unknown, translate: (key: string, params: Record<string, string | number>) => string): string {
  if (error instanceof ExpeedError) {
    const text = translate(`errors.${error.reason}`, error.params);
    // A missing translation comes back as its key: fall back to the English message.
    return text.endsWith(`errors.${error.reason}`) ? error.message : text;
  }
  return error instanceof Error ? error.message : String(error);
}
