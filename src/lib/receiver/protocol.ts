import type { z } from 'zod';
import type { NormalizeContext, PushItem, Vendor } from '../reading';

/** Why a vendor's GET check of the callback URL was refused (answered 403). */
export type HandshakeRefusal = 'handshake-signature' | 'handshake-unconfigured';

/** The answer to a vendor's GET check of the callback URL: 200 with `body` (text/plain), or 403. */
export type HandshakeResult = { ok: true; body: string } | { ok: false; code: HandshakeRefusal };

/**
 * Everything the shared receiver needs to know about one vendor's push protocol. A vendor module
 * exports one of these (or a function that builds one from a node's settings); the receiver core
 * does the HTTP, limits, auth, dedup, ack and PII work.
 */
export interface PushProtocol<Body> {
  vendor: Vendor;
  /** The push body as the vendor sends it; its failures become 400 answers. */
  schema: z.ZodType<Body>;
  /** Turns a validated body into the messages the receiver emits, each with its dedup key. */
  normalize(body: Body, context: NormalizeContext): PushItem[];
  /** The body that tells the vendor a push was accepted (HTTP 200). */
  acceptedBody: unknown;
  /** The vendor's envelope for a refusal, with a non-success code and a reason. */
  rejectedBody(status: number, reason: string): unknown;
  /** Removes what must never reach the flow from the raw body (e.g. an Expeed `device_key`). */
  redactRaw?(body: unknown): unknown;
  /**
   * True for a body in an encrypted delivery mode we do not support (`parsed` is undefined when
   * the text is not JSON): refused with 400 and a reason that tells the user to switch to plaintext.
   */
  isEncrypted?(text: string, parsed: unknown): boolean;
  /**
   * A vendor that checks the callback URL with a GET on the same path before it pushes: answers it
   * from the query. Without it the receiver listens for POST only.
   */
  handshake?(query: URLSearchParams): HandshakeResult;
  /** Told of the items just handed to the flow (after dedup), e.g. to complete a waiting request. */
  emitted?(items: PushItem[]): void;
}
