import type { z } from 'zod';
import type { NormalizeContext, PushItem, Vendor } from '../reading';

/**
 * Everything the shared receiver needs to know about one vendor's push protocol. A vendor module
 * exports one of these; the receiver core does the HTTP, limits, auth, dedup, ack and PII work.
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
}
