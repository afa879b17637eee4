import { z } from 'zod';
import { errorCode } from '../coded-error';
import { runningNode } from '../operations/running';
import type { OutboxControl, Selection } from '../outbox/control';

/**
 * The admin API's outbox routes as plain functions from what a request carries to the answer's
 * status and body (the plugin, src/plugins/health-bridge.ts, only mounts them behind Node-RED's
 * permissions). An answer never holds a message's content: the entries are what
 * src/lib/outbox/entries.ts shows of them, and errors are a sentence and a code.
 */

export interface AdminRequest {
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
  body?: unknown;
  /** Node-RED's user under adminAuth; none without it. */
  user?: { username?: unknown } | undefined;
}

export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** A page holds at most this many entries. */
export const PAGE_LIMIT = 500;
export const PAGE_DEFAULT = 50;

const entryId = z.string().regex(/^\d{1,15}$/, 'an entry id is a whole number as the listing gives it');

const pageQuery = z.object({
  limit: z.preprocess(
    (value) => (value === undefined || value === '' ? undefined : Number(value)),
    z.number().int('limit must be a whole number').min(1, 'limit must be at least 1').max(PAGE_LIMIT, `limit must be at most ${PAGE_LIMIT}`).default(PAGE_DEFAULT),
  ),
  after: z.preprocess((value) => (value === '' ? undefined : value), entryId.optional()),
});

const selectionBody = z.union([
  z.object({ entries: z.array(entryId).min(1, 'entries must name at least one entry').max(10_000, 'at most 10000 entries at a time') }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
const SELECTION_HELP = 'the body must be {"entries": ["<entry id>", …]} or {"all": true}';

export function listQueue(request: AdminRequest): Promise<AdminAnswer> {
  return listing(request, (control, page) => control.queue(page));
}

export function listDeadLetters(request: AdminRequest): Promise<AdminAnswer> {
  return listing(request, (control, page) => control.deadLetters(page));
}

export function retryDeadLetters(request: AdminRequest): Promise<AdminAnswer> {
  return operation(request, (control, selection, user) => control.retry(selection, user).then((retried) => ({ retried })));
}

export function discardDeadLetters(request: AdminRequest): Promise<AdminAnswer> {
  return operation(request, (control, selection, user) => control.discard(selection, user).then((discarded) => ({ discarded })));
}

/** Who asked, for the log line: the adminAuth user's name, `anonymous` without adminAuth. */
export function userOf(request: AdminRequest): string {
  const name = request.user?.username;
  return typeof name === 'string' && name !== '' ? name : 'anonymous';
}

async function listing(
  request: AdminRequest,
  list: (control: OutboxControl, page: { after?: number; limit: number }) => Promise<unknown>,
): Promise<AdminAnswer> {
  const found = outboxOf(request);
  if ('status' in found) return found;
  const query = pageQuery.safeParse(request.query);
  if (!query.success) return badRequest(query.error);
  const { limit, after } = query.data;
  return run(() => list(found.control, { limit, ...(after !== undefined && { after: Number(after) }) }));
}

async function operation(
  request: AdminRequest,
  act: (control: OutboxControl, selection: Selection, user: string) => Promise<unknown>,
): Promise<AdminAnswer> {
  const found = outboxOf(request);
  if ('status' in found) return found;
  const body = selectionBody.safeParse(request.body);
  if (!body.success) return { status: 400, body: { error: SELECTION_HELP } };
  const selection: Selection = 'all' in body.data ? { all: true } : { entries: body.data.entries.map(Number) };
  return run(() => act(found.control, selection, userOf(request)));
}

function outboxOf(request: AdminRequest): { control: OutboxControl } | AdminAnswer {
  const id = request.params.id ?? '';
  const node = runningNode(id);
  if (!node || node.kind !== 'outbox' || !node.control) return { status: 404, body: { error: `no running health-outbox with id ${JSON.stringify(id.slice(0, 64))}` } };
  return { control: node.control };
}

async function run(work: () => Promise<unknown>): Promise<AdminAnswer> {
  try {
    return { status: 200, body: await work() };
  } catch (error) {
    // the outbox could not open its storage, has no key, or a disk refused: its code, never a text
    // that could quote a record
    return { status: 503, body: { error: 'the outbox cannot do this now', code: errorCode(error) } };
  }
}

function badRequest(error: z.ZodError): AdminAnswer {
  return { status: 400, body: { error: error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`).join('; ') } };
}
