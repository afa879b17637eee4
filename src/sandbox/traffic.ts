import { VENDORS, type Vendor } from '../lib/vendors/manifest';
import { traffic as expeed } from './traffic/expeed';
import { traffic as lezhi } from './traffic/lezhi';
import type { VendorTraffic } from './traffic/script';
import { traffic as sinocare } from './traffic/sinocare';
import { traffic as viatom } from './traffic/viatom';

export { random, round, type PlannedPush, type VendorScript, type VendorTraffic } from './traffic/script';

/**
 * What the clouds push in a day, compressed: one script per vendor decides what its next push is
 * (a CGM sensor warming up then uploading, a morning weigh-in, blood pressure with an occasional
 * irregular heartbeat, a Viatom user authorizing then measuring, Expeed devices going online and
 * sending data). The scripts are deterministic, so a test knows what should arrive.
 *
 * Each vendor's traffic is its own module, traffic/<vendor>.ts, keyed below by the vendor list of
 * src/lib/vendors/manifest.ts: a vendor added there without traffic here fails to compile.
 */

/** Every vendor's traffic; `Record<Vendor, …>`, so the compiler names a vendor that has none. */
const TRAFFIC: Record<Vendor, VendorTraffic> = { sinocare, lezhi, viatom, expeed };

/** The traffic of `vendor`. */
export function trafficOf(vendor: Vendor): VendorTraffic {
  return TRAFFIC[vendor];
}

/** The vendors the sandbox can push for: every vendor of the manifest, in its order. */
export const SANDBOX_VENDORS: readonly Vendor[] = VENDORS;
