import type { Vendor } from '../../lib/vendors/manifest';

/** What a vendor's traffic module (traffic/<vendor>.ts) exports, and the helpers its script uses. */

export interface PlannedPush {
  vendor: Vendor;
  body: unknown;
  /** The body the vendor sends when it pushes this again (a retry, an exact duplicate). */
  retryBody: unknown;
  /** One line for the console, with no personal data: "glucose 6.4 mmol/L, sensor warming up". */
  summary: string;
  /** What a receiver does with it: emits readings or an event. */
  outcome: 'readings' | 'event';
  /** The reading kind or the event name. */
  kind: string;
  /** Readings in the push (an Expeed data push carries several). */
  readings: number;
}

export interface VendorScript {
  next(now: number): PlannedPush;
}

/** What traffic/<vendor>.ts exports as `traffic`. */
export interface VendorTraffic {
  /** A new script, from the first push of the day. */
  script(): VendorScript;
  /**
   * True when the body of a 2xx answer is the receiver's success, as this cloud reads it (anything
   * else it pushes again). Without it, as for a cloud that documents no answer, any 2xx is success.
   */
  isSuccess?(body: any): boolean;
}

/** A small deterministic generator (mulberry32), so every run of the sandbox is the same story. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const round = (value: number, digits: number): number => Number(value.toFixed(digits));
