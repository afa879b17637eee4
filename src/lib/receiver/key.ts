import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The `key` credential as the receivers and the health-metrics node check it: in the
 * `X-Health-Bridge-Key` header or the `key` query parameter, compared in constant time (both sides
 * hashed first, so that the comparison does not tell the key's length either).
 */
export function keyChecker(key: string | undefined): (req: IncomingMessage) => boolean {
  if (key === undefined) return () => true;
  const expected = digest(key);
  return (req) => {
    const header = req.headers['x-health-bridge-key'];
    const presented = (Array.isArray(header) ? header[0] : header) ?? queryOf(req).get('key') ?? undefined;
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

/**
 * The query of a request, where a second `?` starts a parameter too: a vendor that appends its own
 * parameters to a registered URL that already has `?key=…` may do it with `?` (Expeed, docs/nodes/expeed-in.md#the-url-check).
 */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const start = url.indexOf('?');
  return new URLSearchParams(start < 0 ? '' : url.slice(start + 1).replace(/\?/g, '&'));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
