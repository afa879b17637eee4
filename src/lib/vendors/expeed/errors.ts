import { CodedError } from '../../coded-error';

/**
 * Every failure an Expeed call or node can report, as a code (the locale key under
 * `health-bridge-expeed.errors` in src/nodes/shared/locales/<lang>/expeed.json, the only place its
 * text is written) with its parameters. Parameters never hold a secret: no key, no token, no URL query.
 */
export const EXPEED_ERROR_CODES = [
  'no-credentials',
  'no-device-id',
  'no-device-key',
  'bad-input',
  'settings-not-object',
  'token-cap',
  'token-rejected',
  'token-failed',
  'token-expired',
  'device-not-found',
  'invalid-query',
  'url-invalid',
  'body-invalid',
  'vendor',
  'api',
  'bad-answer',
  'setting-failed',
  'setting-timeout',
  'state-unavailable',
  'token-wait',
] as const;
export type ExpeedErrorCode = (typeof EXPEED_ERROR_CODES)[number];

export class ExpeedError extends CodedError<ExpeedErrorCode> {
  constructor(code: ExpeedErrorCode, params: Record<string, string | number> = {}) {
    super(code, params);
    this.name = 'ExpeedError';
  }
}

/** The code of each documented API `result_code` (docs/nodes/expeed-account.md). */
export function vendorCodeError(code: number, message: string): ExpeedError {
  const codes: Record<number, ExpeedErrorCode> = {
    1: 'token-expired',
    2: 'device-not-found',
    3: 'invalid-query',
    4: 'url-invalid',
    5: 'body-invalid',
  };
  return new ExpeedError(codes[code] ?? 'vendor', { code, message });
}
