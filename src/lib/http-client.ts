import { request } from 'undici';

/**
 * Outbound JSON calls to the vendors' APIs, on undici. One deadline covers connect, headers and
 * body. Errors name the endpoint by origin and path only: query strings (Expeed's token URL
 * carries `secret_key`) and header values (Viatom's `secret`, `access-token`) never reach a
 * message, a log line or a node status.
 */

export type ApiErrorKind = 'timeout' | 'network' | 'http' | 'not-json';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface JsonRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs: number;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** The endpoint as it may be shown: no query, no credentials. */
export function endpointName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Sends one request and parses the answer as JSON, whatever its status; never retries. */
export async function requestJson(call: JsonRequest): Promise<JsonResponse> {
  const endpoint = `${call.method} ${endpointName(call.url)}`;
  const signal = AbortSignal.timeout(call.timeoutMs);
  let status: number;
  let text: string;
  try {
    const response = await request(call.url, {
      method: call.method,
      headers: {
        accept: 'application/json',
        ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...call.headers,
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal,
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    if (signal.aborted) {
      throw new ApiError(`${endpoint}: no answer within ${call.timeoutMs / 1000} s`, 'timeout');
    }
    const code = (error as { code?: string }).code;
    throw new ApiError(`${endpoint}: ${code ?? (error as Error).name ?? 'request failed'}`, 'network');
  }
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ApiError(`${endpoint}: answer is not JSON (HTTP ${status})`, 'not-json', status);
  }
}
