import { ACKNOWLEDGMENT_CODES, SUCCESS_CODES } from './formats/hl7v2/ack';
import { formatNodeCodes } from './formats/contract';
import { FORMATS, type FormatNodeType } from './formats';
import type { NodeType } from './registry';
import type { RejectionCode } from './receiver/core';
import { EXPEED_ERROR_CODES } from './vendors/expeed/errors';

/**
 * The error codes each node reports (`msg.error.code` at a Catch node, or the code of a log
 * line), one list per node, kept here once. The build writes each node's list into its help
 * (`{{errors.<type>}}` in src/nodes/locales/<lang>/<type>.html), the README's table is
 * `errorCodeTableMarkdown()`, and test/unit/readme-codes.test.ts checks that every code has its
 * text in both languages and that the help and the README list exactly these.
 *
 * Where a lib module keeps the codes it throws, its list is used here (the formats, Expeed);
 * the receivers' refusals are a type in receiver/core.ts, and the list below is checked against
 * it by the compiler.
 */

/** The shared runner of the action nodes (src/nodes/action.ts): no config node, stopped. */
const ACTION = ['no-config', 'closed'] as const;

/** Every refusal of a push (RejectionCode) a receiver of any vendor can make. */
const REFUSALS = [
  'too-large', 'forbidden', 'unauthorized', 'not-json', 'too-deep', 'schema', 'pii-key-missing', 'flow-failed', 'ack-timeout', 'internal',
] as const satisfies readonly RejectionCode[];
/** The refusals only Expeed's receiver makes (its handshake, its unsupported ciphertext mode). */
const EXPEED_REFUSALS = ['encrypted', 'handshake-signature', 'handshake-unconfigured'] as const satisfies readonly RejectionCode[];
/**
 * What a receiver reports when it starts (its properties, its route, its dedup store, HTTP off).
 * A dedup store that fails while claiming a push's keys is also a refusal (503).
 */
const RECEIVER_START = ['invalid-config', 'route-taken', 'dedup-store', 'http-disabled'] as const;
// every RejectionCode is in one of the lists (a new one fails to compile until it is listed)
type Unlisted = Exclude<RejectionCode, (typeof REFUSALS)[number] | (typeof EXPEED_REFUSALS)[number] | (typeof RECEIVER_START)[number]>;
const everyRefusalListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyRefusalListed;
const RECEIVER = [...REFUSALS, ...RECEIVER_START];

/**
 * The Expeed client's failures, and its account's own warnings (properties, the token file; with
 * `state`: a shared token it cannot read, a setting result it cannot share).
 */
const EXPEED = [...EXPEED_ERROR_CODES, 'invalid-config', 'state-file', 'state-unreadable', 'setting-relay'];

/** Each format's node: the codes its module throws, and the runner's own (src/lib/formats/contract.ts). */
const FORMAT_CODES = Object.fromEntries(Object.values(FORMATS).map((format) => [format.nodeType, formatNodeCodes(format)])) as Record<FormatNodeType, readonly string[]>;

/** One list per node type of src/lib/registry.ts: a node type without its list does not compile. */
export const NODE_ERROR_CODES = {
  'lezhi-in': RECEIVER,
  'sinocare-in': RECEIVER,
  'viatom-in': RECEIVER,
  'expeed-in': [...RECEIVER, ...EXPEED_REFUSALS],
  'expeed-account': EXPEED,
  'expeed-token': [...EXPEED, ...ACTION],
  'expeed-query': [...EXPEED, ...ACTION],
  'expeed-set': [...EXPEED, ...ACTION],
  'viatom-account': ['invalid-config'],
  'viatom-auth': ['operation', 'phone-missing', 'phone-malformed', 'credentials-missing', ...ACTION],
  'health-ack': [],
  ...FORMAT_CODES,
  'hl7-mllp': ['invalid-config'],
  'hl7-send': [
    // the hospital's refusals (the ACK codes that are not a success), then our own
    ...ACKNOWLEDGMENT_CODES.filter((code) => !SUCCESS_CODES.has(code)),
    'timeout', 'deadline', 'connection-lost', 'closed', 'invalid-message', 'duplicate-control-id', 'no-config',
  ],
  'health-outbox': ['properties', 'storage', 'invalid', 'no-answer', 'no-key', 'bad-key'],
  'health-metrics': ['invalid-config', 'route-taken', 'http-disabled', 'internal'],
  // its properties; a server that may evict keys (a warning); a connection lost (a warning: the nodes using it fail their own way)
  'health-redis': ['invalid-config', 'eviction', 'connection'],
  // state: its health-redis or the at-rest key unusable; redis: the shared rows not reachable
  'health-patient': ['properties', 'table', 'load', 'no-key', 'no-user-dir', 'unreadable', 'storage', 'invalid-row', 'not-assigned', 'binding', 'rows-unreadable', 'state', 'redis'],
  // state: its health-redis or the at-rest key unusable; redis: Redis not answering (this instance judges alone)
  'health-watch': ['properties', 'not-a-reading', 'load', 'storage', 'state', 'redis'],
} as const satisfies Record<NodeType, readonly string[]>;

export type NodeWithCodes = keyof typeof NODE_ERROR_CODES;

/** The error codes of a node type (none for a type not listed). */
export function errorCodesOf(type: string): readonly string[] {
  return (NODE_ERROR_CODES as Record<string, readonly string[]>)[type] ?? [];
}

/** The list as the help shows it: each code in `<code>`, comma-separated; "none" where there is none. */
export function errorCodesHtml(type: string, none: string): string {
  const codes = errorCodesOf(type);
  return codes.length ? codes.map((code) => `<code>${code}</code>`).join(', ') : none;
}

/** The README table: each node with its codes. */
export function errorCodeTableMarkdown(): string {
  const lines = ['| node | error codes (`msg.error.code`) |', '|---|---|'];
  for (const [type, codes] of Object.entries(NODE_ERROR_CODES)) {
    lines.push(`| \`${type}\` | ${codes.length ? codes.map((code) => `\`${code}\``).join(', ') : '—'} |`);
  }
  return lines.join('\n');
}

/**
 * The codes of failures no retry can mend (the same reading never maps): their errors carry
 * `retryable: false`. Node-RED's Catch node copies an error's `message`, `code`, `stack` and
 * `cause` onto `msg.error`, not its other properties, so a node after a Catch (health-ack) that
 * must tell these apart can read `msg.error.code` against this set.
 */
export const NOT_RETRYABLE_CODES: ReadonlySet<string> = new Set(Object.values(FORMATS).flatMap((format) => [...format.notRetryable]));
