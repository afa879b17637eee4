/**
 * Texts of Redis failures for a status or a log line. Apart from connection.ts so that the dedup
 * store can use them without loading the Redis client (a receiver without `state` never does).
 */

/**
 * How long a command may take before it fails (connection.ts sets it on the client). A server that
 * stopped answering without closing the connection (frozen, a network that drops packets) would
 * otherwise leave every command waiting for ever, and a receiver's vendor without an answer: after
 * this it gets the 503 it retries, well inside the seconds a vendor waits (Sinocare: 5). Blocking
 * reads are not cut (node-redis leaves commands that block on the server alone once sent).
 */
export const COMMAND_TIMEOUT_MS = 2_000;

/** An error's text without what a URL may carry before its host (a user name and password). */
export function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\b(rediss?:\/\/)[^@\s/]*@/g, '$1');
}

/**
 * What a failed command means, in words an operator reads: the client's own texts ("The client is
 * offline", "…waiting for a reply; it may have been executed") say neither that Redis is the
 * problem nor what became of the push. Told apart by the client's error classes' names.
 */
export function redisFailureText(error: unknown): string {
  const kind = error instanceof Error ? error.constructor.name : '';
  if (kind === 'ClientOfflineError' || kind === 'ClientClosedError') return 'Redis unreachable';
  if (kind === 'TimeoutReadError' || kind === 'TimeoutError') return `Redis did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`;
  return `Redis: ${safeMessage(error)}`;
}
