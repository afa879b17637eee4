import fs from 'node:fs';
import path from 'node:path';
import { VENDORS, type Vendor } from '../lib/vendors/manifest';

/**
 * What the clouds push in a day, compressed: one script per vendor decides what its next push is
 * (a CGM sensor warming up then uploading, a morning weigh-in, blood pressure with an occasional
 * irregular heartbeat, a Viatom user authorizing then measuring, Expeed devices going online and
 * sending data). The scripts are deterministic, so a test knows what should arrive.
 *
 * Each vendor's traffic is its own module, traffic/<vendor>.ts, found by the vendor's name in the
 * manifest (src/lib/vendors/manifest.ts): a new vendor adds its file and no list here.
 */

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

/** The traffic of `vendor`, or undefined while it has no traffic/<vendor>.ts. */
export function trafficOf(vendor: Vendor): VendorTraffic | undefined {
  const file = path.join(__dirname, 'traffic', `${vendor}.js`);
  if (!fs.existsSync(file)) return undefined;
  // Found by name, not imported: a new vendor adds its file and edits no list.
  return (require(file) as { traffic?: VendorTraffic }).traffic;
}

/** The vendors the sandbox can push for: those of the manifest with traffic, in its order. */
export const SANDBOX_VENDORS: readonly Vendor[] = VENDORS.filter((vendor) => trafficOf(vendor) !== undefined);

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
