import { z } from 'zod';
import { ApiError, endpointName, requestJson } from '../../http-client';
import { looseNumber, looseString } from '../../loose';
import { maskPhone, normalizePhone } from './phone';

/**
 * Viatom's open API client (`createViatomClient`): the authorization page URL and the
 * cancellation, with the headers `secret`, `access-token` and `language` on every call.
 */

/** The host of Viatom's document, which it calls its test host ("测试Host"). */
export const VIATOM_DEFAULT_HOST = 'https://open.viatomtech.com.cn';
const VIATOM_TEST_HOSTNAME = new URL(VIATOM_DEFAULT_HOST).hostname;

/**
 * True when `host` is Viatom's test host (any scheme, port or path): an account that uses it is
 * not ready for production, and Viatom gives the production host on request (docs/nodes/viatom-account.md).
 */
export function isViatomTestHost(host: string): boolean {
  try {
    return new URL(host).hostname.toLowerCase() === VIATOM_TEST_HOSTNAME;
  } catch {
    return false;
  }
}
export const VIATOM_LANGUAGES = ['zh-CN', 'en-US'] as const;
export type ViatomLanguage = (typeof VIATOM_LANGUAGES)[number];

export const VIATOM_PATHS = {
  jumpPath: '/api/v1/open/auth/jump_path',
  cancel: '/api/v1/open/auth/cancel',
} as const;

/** A problem found before or after a call that is not the vendor's answer (`code` names it). */
export class ViatomError extends Error {
  constructor(
    readonly code: 'phone-missing' | 'phone-malformed' | 'credentials-missing' | 'unexpected-answer',
    message: string,
  ) {
    super(message);
    this.name = 'ViatomError';
  }
}

/** Viatom answered with `code != 0`: its `message` and `reason`, with personal data and secrets removed. */
export class ViatomApiError extends Error {
  constructor(
    readonly code: number,
    readonly vendorMessage: string,
    readonly reason: string,
    readonly endpoint: string,
  ) {
    const detail = reason && reason !== vendorMessage ? ` (${reason.length > 200 ? `${reason.slice(0, 200)}…` : reason})` : '';
    super(`${endpoint}: Viatom code ${code}: ${vendorMessage || 'no message'}${detail}`, {
      cause: { code, message: vendorMessage, reason },
    });
    this.name = 'ViatomApiError';
  }
}

/** The envelope of every Viatom API answer. */
const apiReply = z.looseObject({
  code: looseNumber,
  message: looseString.nullish(),
  reason: looseString.nullish(),
  data: z.unknown().optional(),
});
const jumpPathData = z.looseObject({
  jump_path: z.string().refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'not an http(s) URL'),
});

export interface ViatomClientOptions {
  /** `https://open.viatomtech.com.cn` unless Viatom gives another. */
  host?: string;
  language: ViatomLanguage;
  secret: string | undefined;
  accessToken: string | undefined;
  timeoutMs: number;
}

export interface ViatomClient {
  /** The page where a user logs in to ViHealth and authorizes us (`jump_path`). */
  authorizeUrl(): Promise<{ url: string }>;
  /** Cancels a user's authorization; Viatom then pushes a `type 3`. */
  cancelAuthorization(phone: unknown): Promise<{ cancelled: true }>;
}

/** Removes secrets and the phone number from text the vendor wrote, before it reaches an error. */
function scrub(text: string, secrets: Array<string | undefined>, phone?: string): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  if (phone) {
    // the vendor may echo an international number with or without its +
    for (const form of [phone, phone.replace(/^\+/, '')]) out = out.split(form).join(maskPhone(form));
  }
  return out;
}

export function createViatomClient(options: ViatomClientOptions): ViatomClient {
  const host = (options.host || VIATOM_DEFAULT_HOST).replace(/\/+$/, '');
  const secrets = [options.secret, options.accessToken];

  async function call(path: string, body: unknown, phone?: string): Promise<unknown> {
    if (!options.secret || !options.accessToken) {
      throw new ViatomError('credentials-missing', 'the Viatom account has no secret or no access token');
    }
    const url = `${host}${path}`;
    const endpoint = `POST ${endpointName(url)}`;
    // one attempt: a cancellation repeated after a lost answer is not ours to decide
    const response = await requestJson({
      method: 'POST',
      url,
      headers: { secret: options.secret, 'access-token': options.accessToken, language: options.language },
      body,
      timeoutMs: options.timeoutMs,
    });
    const reply = apiReply.safeParse(response.body);
    if (reply.success && reply.data.code !== 0) {
      throw new ViatomApiError(
        reply.data.code,
        scrub(reply.data.message ?? '', secrets, phone),
        scrub(reply.data.reason ?? '', secrets, phone),
        endpoint,
      );
    }
    if (response.status >= 300) {
      throw new ApiError(`${endpoint}: HTTP ${response.status}`, 'http', response.status);
    }
    if (!reply.success) {
      throw new ViatomError('unexpected-answer', `${endpoint}: the answer is not a Viatom reply (no numeric code)`);
    }
    return reply.data.data;
  }

  return {
    async authorizeUrl() {
      const data = await call(VIATOM_PATHS.jumpPath, {});
      const parsed = jumpPathData.safeParse(data);
      if (!parsed.success) {
        throw new ViatomError('unexpected-answer', `POST ${endpointName(`${host}${VIATOM_PATHS.jumpPath}`)}: the answer has no jump_path URL`);
      }
      return { url: parsed.data.jump_path };
    },
    async cancelAuthorization(input) {
      const checked = normalizePhone(input);
      if (!checked.ok) {
        throw new ViatomError(
          checked.problem,
          checked.problem === 'phone-missing'
            ? 'no phone number to cancel'
            : 'the phone number is neither an 11-digit mainland China mobile number nor an international number (+ and 6–15 digits)',
        );
      }
      await call(VIATOM_PATHS.cancel, { phone: checked.phone }, checked.phone);
      return { cancelled: true };
    },
  };
}