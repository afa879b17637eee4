import type { IncomingMessage, ServerResponse } from 'node:http';
import { ZodError } from 'zod';
import { openPush, type Outcome, type OpenPush } from '../ack-registry';
import type { ClaimResult, DedupStore } from '../dedup';
import { piiTransform, type PiiTransform } from '../pii';
import type { PushItem, Vendor } from '../reading';
import { readBody } from './body';
import { keyChecker, queryOf } from './key';
import { decodeBody, MAX_DEPTH, parseJson } from './json-text';
import type { ReceiverSettings } from './config';
import type { PushOutcome, ReceiverMetrics } from '../metrics';
import { describeIssues } from '../zod-helpers';
import type { PushProtocol } from './protocol';

/**
 * The one receiver every `*-in` node uses: size limit, allow list, key, JSON, schema, PII policy,
 * dedup and the flow's outcome, in that order, answering the vendor in its own envelope.
 * It knows nothing of Node-RED: the node file hands it requests and turns its callbacks into
 * `send`, `error` and `status`.
 */

/** Why a push was refused; `code` names the locale string and the counter. */
export type RejectionCode =
  | 'too-large'
  | 'forbidden'
  | 'unauthorized'
  | 'not-json'
  | 'too-deep'
  | 'encrypted'
  | 'schema'
  | 'handshake-signature'
  | 'handshake-unconfigured'
  | 'pii-key-missing'
  | 'flow-failed'
  | 'ack-timeout'
  | 'dedup-store'
  | 'internal';

export interface Rejection {
  code: RejectionCode;
  status: number;
  /** Values for the locale string; never personal data. */
  params: Record<string, string | number>;
  /** The body as far as it could be read, after the PII policy; absent when too large. */
  raw?: unknown;
}

/** What the receiver hands the flow: one Node-RED message per push item. */
export type ReceiverMessage = {
  topic: string;
  payload: unknown;
  raw: unknown;
  vendor: Vendor;
  _ack?: string;
};

export interface ReceiverCounts {
  received: number;
  duplicates: number;
  /** Pushes refused: too large, not allowed, not JSON, not the vendor's format… */
  rejected: number;
  /**
   * Pushes the receiver took but the flow failed to store (a hospital that refused, `msg.error`
   * at health-ack): the push was fine, the vendor pushes it again.
   */
  failed: number;
  /** Pushes nothing acknowledged within ackTimeout. */
  timedOut: number;
}

/** The rejection codes that are the flow's failure, not a refused push. */
export const FLOW_FAILURES: ReadonlySet<RejectionCode> = new Set(['flow-failed', 'ack-timeout']);

export interface ReceiverHooks {
  emit(readings: ReceiverMessage[], events: ReceiverMessage[]): void;
  rejected(rejection: Rejection, counts: ReceiverCounts): void;
  accepted(counts: ReceiverCounts): void;
  /** A vendor's GET check of the callback URL was answered with success. */
  verified?(): void;
  /**
   * The dedup store failed to confirm or release a key after the push was emitted; the push was
   * answered with its outcome all the same (a failing claim is a rejection instead).
   */
  storeFailed?(error: unknown): void;
}

/** The vendor-facing reason: short, and no detail that helps an attacker. */
const VENDOR_REASONS: Record<RejectionCode, string> = {
  'too-large': 'payload too large',
  forbidden: 'forbidden',
  unauthorized: 'unauthorized',
  'not-json': 'body is not JSON',
  'too-deep': 'body nested too deeply',
  encrypted: 'encrypted push not supported: choose plaintext delivery',
  schema: 'invalid body',
  'handshake-signature': 'forbidden',
  'handshake-unconfigured': 'forbidden',
  'pii-key-missing': 'temporarily unavailable',
  'flow-failed': 'receiver failed to store the data',
  'ack-timeout': 'receiver timed out storing the data',
  'dedup-store': 'temporarily unavailable',
  internal: 'internal error',
};

type HttpRequest = IncomingMessage & { ip?: string };

export class PushReceiver<Body> {
  private readonly counts: ReceiverCounts = { received: 0, duplicates: 0, rejected: 0, failed: 0, timedOut: 0 };
  /**
   * Dedup keys of the pushes this receiver is claiming or has emitted and not answered yet, with
   * the outcome a copy of them gets.
   */
  private readonly inFlight = new Map<string, Promise<DeliveryOutcome>>();
  /** What the dedup store said when a claim last failed (shown in the rejection). */
  private storeFailure = '';
  private readonly openPushes = new Set<OpenPush>();
  private readonly pii: PiiTransform | undefined;
  private readonly keyMatches: (req: IncomingMessage) => boolean;

  constructor(
    private readonly protocol: PushProtocol<Body>,
    private readonly settings: ReceiverSettings,
    private readonly dedup: DedupStore,
    private readonly hooks: ReceiverHooks,
    /** Where the push figures go (src/lib/metrics); none in the unit tests that need none. */
    private readonly metrics?: ReceiverMetrics,
  ) {
    this.pii = settings.pii === 'pseudonymize' && !settings.piiKey ? undefined : piiTransform(settings.pii, settings.piiKey);
    this.keyMatches = keyChecker(settings.key);
  }

  /** False when the PII policy cannot run (pseudonymize without piiKey): every push gets 503. */
  get ready(): boolean {
    return this.pii !== undefined;
  }

  async handle(req: HttpRequest, res: ServerResponse): Promise<void> {
    const start = performance.now();
    let outcome: PushOutcome;
    try {
      outcome = await this.process(req, res);
    } catch (error) {
      outcome = this.refuse(res, { code: 'internal', status: 500, params: { message: (error as Error).message } });
    }
    this.metrics?.push(outcome, (performance.now() - start) / 1000);
  }

  /**
   * A GET on the receiver's path: a vendor's check of the callback URL (PushProtocol.handshake),
   * behind the same allow list and key as a push, or a plain probe answered 200.
   */
  handleGet(req: HttpRequest, res: ServerResponse): void {
    try {
      if (!this.settings.allowList.allows(req.ip ?? req.socket.remoteAddress)) {
        return void this.refuse(res, { code: 'forbidden', status: 403, params: {} });
      }
      const query = queryOf(req);
      query.delete('key');
      const handshake = this.protocol.handshake;
      // A GET without parameters is someone checking that the URL answers (a vendor console, a
      // load balancer, the user's browser): not a push, not a failed handshake, nothing to report.
      if (!handshake || query.size === 0) return answer(res, 200, 'ok');
      if (!this.keyMatches(req)) return void this.refuse(res, { code: 'unauthorized', status: 401, params: {} });
      const result = handshake(query);
      if (!result.ok) return void this.refuse(res, { code: result.code, status: 403, params: {} });
      this.hooks.verified?.();
      answer(res, 200, result.body);
    } catch (error) {
      this.refuse(res, { code: 'internal', status: 500, params: { message: (error as Error).message } });
    }
  }

  /** Answers every push still waiting for health-ack with 503, so the vendor retries. */
  async close(): Promise<void> {
    for (const push of this.openPushes) push.cancel();
    await this.dedup.close();
  }

  private async process(req: HttpRequest, res: ServerResponse): Promise<PushOutcome> {
    const body = await readBody(req, this.settings.maxBytes);
    if (body.tooLarge) {
      res.setHeader('Connection', 'close');
      return this.refuse(res, { code: 'too-large', status: 413, params: { max: this.settings.maxBytes } });
    }
    const text = decodeBody(body.bytes, req.headers['content-type']);
    if (!this.settings.allowList.allows(req.ip ?? req.socket.remoteAddress)) {
      return this.refuse(res, { code: 'forbidden', status: 403, params: {}, raw: this.rawForRejection(text) });
    }
    if (!this.keyMatches(req)) {
      return this.refuse(res, { code: 'unauthorized', status: 401, params: {}, raw: this.rawForRejection(text) });
    }
    const pii = this.pii;
    if (!pii) return this.refuse(res, { code: 'pii-key-missing', status: 503, params: {} });

    const json = parseJson(text);
    if (!json.ok && json.reason === 'too-deep') {
      return this.refuse(res, { code: 'too-deep', status: 400, params: { max: MAX_DEPTH }, raw: text });
    }
    if (!json.ok) {
      if (this.protocol.isEncrypted?.(text, undefined)) {
        return this.refuse(res, { code: 'encrypted', status: 400, params: { vendor: this.protocol.vendor }, raw: text });
      }
      return this.refuse(res, { code: 'not-json', status: 400, params: {}, raw: text });
    }
    const parsed = json.value;
    if (this.protocol.isEncrypted?.(text, parsed)) {
      return this.refuse(res, {
        code: 'encrypted', status: 400, params: { vendor: this.protocol.vendor }, raw: pii(this.protocol.redactRaw ? this.protocol.redactRaw(parsed) : parsed),
      });
    }
    const raw = pii(this.protocol.redactRaw ? this.protocol.redactRaw(parsed) : parsed);
    let items: PushItem[];
    try {
      const valid = this.protocol.schema.parse(parsed);
      items = this.protocol.normalize(valid, { tz: this.settings.tz, receivedAt: new Date().toISOString() });
    } catch (error) {
      if (!(error instanceof ZodError)) throw error;
      return this.refuse(res, {
        code: 'schema', status: 400, params: { vendor: this.protocol.vendor, issues: describeIssues(error) }, raw,
      });
    }
    this.counts.received++;
    const duplicates = { seen: false };
    const outcome = await this.deliver(items, raw, pii, duplicates);
    if (outcome === 'success') {
      this.hooks.accepted(this.counts);
      answer(res, 200, this.protocol.acceptedBody);
      return duplicates.seen ? 'duplicate' : 'accepted';
    }
    if (outcome === 'failure') {
      return this.refuse(res, { code: 'flow-failed', status: 500, params: {}, raw });
    }
    if (outcome === 'unavailable') {
      return this.refuse(res, { code: 'dedup-store', status: 503, params: { message: this.storeFailure }, raw });
    }
    return this.refuse(res, {
      code: 'ack-timeout', status: 503, params: { seconds: this.settings.ackTimeoutMs / 1000 }, raw,
    });
  }

  /**
   * Emits the items not seen before and settles when the push may be answered. A copy of a push
   * this receiver is still claiming or waiting on gets that push's outcome without being emitted:
   * its keys enter `inFlight` before the first await. Each new key is claimed in the dedup store,
   * confirmed once the flow has it (`ack: auto`) or has stored it (`ack: flow`), and released
   * when the flow failed, so that the vendor's retry is emitted again.
   */
  private async deliver(items: PushItem[], raw: unknown, pii: PiiTransform, duplicates: { seen: boolean }): Promise<DeliveryOutcome> {
    const candidates: PushItem[] = [];
    const keys = new Set<string>();
    const waits: Promise<DeliveryOutcome>[] = [];
    for (const item of items) {
      const key = item.dedupKey;
      if (key !== undefined) {
        if (keys.has(key)) continue;
        const running = this.inFlight.get(key);
        if (running) {
          waits.push(running);
          continue;
        }
        keys.add(key);
      }
      candidates.push(item);
    }
    if (candidates.length === 0) {
      this.counts.duplicates++;
      duplicates.seen = true;
      return worstOf(await Promise.all(waits));
    }

    let settle!: (outcome: DeliveryOutcome) => void;
    const own = new Promise<DeliveryOutcome>((resolve) => (settle = resolve));
    for (const key of keys) this.inFlight.set(key, own);
    let outcome: DeliveryOutcome = 'failure';
    try {
      outcome = await this.claimAndEmit(candidates, keys, raw, pii, duplicates);
    } finally {
      for (const key of keys) this.inFlight.delete(key);
      settle(outcome);
    }
    return worstOf([outcome, ...(await Promise.all(waits))]);
  }

  private async claimAndEmit(
    candidates: PushItem[], keys: Set<string>, raw: unknown, pii: PiiTransform, duplicates: { seen: boolean },
  ): Promise<DeliveryOutcome> {
    // One deadline for the whole push: the time its claims took is taken from the flow's ackTimeout.
    const deadline = Date.now() + this.settings.ackTimeoutMs;
    const claims = await this.claimAll([...keys], deadline);
    if (!claims) return 'unavailable';
    const fresh = candidates.filter((item) => item.dedupKey === undefined || claims.claimed.has(item.dedupKey));
    const others: Outcome = claims.timedOut ? 'timeout' : 'success';
    if (fresh.length === 0) {
      this.counts.duplicates++;
      duplicates.seen = true;
      return others;
    }
    let own: Outcome | undefined;
    try {
      if (this.settings.ack === 'auto') {
        this.emit(fresh, raw, pii);
        own = 'success';
      } else {
        const push = openPush(fresh.length, Math.max(1, deadline - Date.now()));
        this.openPushes.add(push);
        try {
          this.emit(fresh, raw, pii, push.ackIds);
          own = await push.outcome;
        } finally {
          this.openPushes.delete(push);
        }
      }
    } finally {
      await this.settleClaims(claims.claimed, own === 'success');
    }
    return worstOf([own, others]);
  }

  /**
   * Claims each key; a key another receiver or instance holds is asked for again, further apart
   * each time, until it is seen or free or ackTimeout has passed. Undefined when the store failed:
   * the keys claimed so far are released again.
   */
  private async claimAll(keys: string[], deadline: number): Promise<{ claimed: Set<string>; timedOut: boolean } | undefined> {
    const claimed = new Set<string>();
    const claimOne = async (key: string): Promise<ClaimResult | 'timeout'> => {
      let result = await this.dedup.claim(key);
      for (let pauseMs = 25; result === 'pending'; pauseMs = Math.min(pauseMs * 2, 1000)) {
        // the last pause ends at the deadline, where the key is asked for one last time
        const waitMs = Math.min(pauseMs, deadline - Date.now());
        if (waitMs <= 0) return 'timeout';
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        result = await this.dedup.claim(key);
      }
      if (result === 'claimed') claimed.add(key);
      return result;
    };
    const results = await Promise.allSettled(keys.map(claimOne));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      this.storeFailure = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
      await this.settleClaims(claimed, false);
      return undefined;
    }
    return { claimed, timedOut: results.some((result) => result.status === 'fulfilled' && result.value === 'timeout') };
  }

  /** Confirms the keys of a push that succeeded, releases those of one that did not. */
  private async settleClaims(keys: Set<string>, success: boolean): Promise<void> {
    const results = await Promise.allSettled([...keys].map((key) => (success ? this.dedup.confirm(key) : this.dedup.release(key))));
    for (const result of results) {
      if (result.status === 'rejected') this.hooks.storeFailed?.(result.reason);
    }
  }

  private emit(items: PushItem[], raw: unknown, pii: PiiTransform, ackIds?: string[]): void {
    const readings: ReceiverMessage[] = [];
    const events: ReceiverMessage[] = [];
    items.forEach((item, index) => {
      const payload =
        item.output === 'reading'
          ? // context.pii: the policy applied here, so that a sink can tell a pseudonym from an id
            { ...item.payload, subject: pii(item.payload.subject), context: { ...item.payload.context, pii: this.settings.pii } }
          : { ...item.payload, subject: pii(item.payload.subject), data: pii(item.payload.data) };
      // A subject the policy emptied (drop) is left out rather than sent as {}.
      if (payload.subject === undefined || Object.keys(payload.subject).length === 0) delete payload.subject;
      const message: ReceiverMessage = {
        topic: item.topic,
        payload,
        // Each message owns its raw body: a sink that changes one must not change the others.
        raw: index === 0 ? raw : structuredClone(raw),
        vendor: this.protocol.vendor,
      };
      if (ackIds) message._ack = ackIds[index];
      (item.output === 'reading' ? readings : events).push(message);
      if (item.output === 'reading') this.metrics?.reading(item.payload.kind);
      else this.metrics?.event(item.payload.event);
    });
    this.hooks.emit(readings, events);
    this.protocol.emitted?.(items);
  }

  /** A refused body as the flow may see it: parsed and PII-filtered where possible. */
  private rawForRejection(text: string): unknown {
    if (!this.pii) return undefined;
    const json = parseJson(text);
    return json.ok ? this.pii(this.protocol.redactRaw ? this.protocol.redactRaw(json.value) : json.value) : text;
  }

  private refuse(res: ServerResponse, rejection: Rejection): PushOutcome {
    if (rejection.code === 'flow-failed') this.counts.failed++;
    else if (rejection.code === 'ack-timeout') this.counts.timedOut++;
    else this.counts.rejected++;
    this.hooks.rejected(rejection, this.counts);
    answer(res, rejection.status, this.protocol.rejectedBody(rejection.status, VENDOR_REASONS[rejection.code]));
    return PUSH_OUTCOME_OF[rejection.code];
  }
}

/**
 * The outcome a refusal counts as: the caller's fault (rejected), a caller not let in
 * (unauthorized), the flow's failure (failed, timeout), or the receiver unable to take pushes
 * for now (unavailable, answered 503 so that the vendor tries again).
 */
const PUSH_OUTCOME_OF: Record<RejectionCode, PushOutcome> = {
  'too-large': 'too_large',
  forbidden: 'unauthorized',
  unauthorized: 'unauthorized',
  'not-json': 'rejected',
  'too-deep': 'rejected',
  encrypted: 'rejected',
  schema: 'rejected',
  'handshake-signature': 'unauthorized',
  'handshake-unconfigured': 'unauthorized',
  'pii-key-missing': 'unavailable',
  'flow-failed': 'failed',
  'ack-timeout': 'timeout',
  'dedup-store': 'unavailable',
  internal: 'failed',
};

/**
 * How a push ends: the flow's outcome, or `unavailable` when the dedup store could not claim its
 * keys (nothing was emitted; answered 503 so that the vendor retries).
 */
type DeliveryOutcome = Outcome | 'unavailable';

function worstOf(outcomes: DeliveryOutcome[]): DeliveryOutcome {
  if (outcomes.includes('failure')) return 'failure';
  if (outcomes.includes('unavailable')) return 'unavailable';
  if (outcomes.includes('timeout')) return 'timeout';
  return 'success';
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
