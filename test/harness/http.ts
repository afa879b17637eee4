import http from 'node:http';

/**
 * A plain HTTP client for the tests, on node:http so a test controls what fetch would not: the
 * source address (allow lists), raw bytes and content types, and malformed bodies.
 */

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Source address of the connection, e.g. 127.0.0.2 to come from outside an allow list. */
  localAddress?: string;
  /** Send the body chunked, without a content-length the server could check up front. */
  chunked?: boolean;
}

export function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const { body } = options;
  const bytes =
    body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string> = {
    ...(body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? (bytes ? 'POST' : 'GET'),
        headers: bytes && !options.chunked ? { 'content-length': String(bytes.length), ...headers } : headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (bytes && options.chunked) {
      // Several writes, so the server sees the body arrive in pieces.
      for (let offset = 0; offset < bytes.length; offset += 65_536) req.write(bytes.subarray(offset, offset + 65_536));
      req.end();
    } else {
      req.end(bytes);
    }
  });
}

export function postJson(url: string, body: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<HttpResponse> {
  return request(url, { ...options, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...options.headers } });
}
