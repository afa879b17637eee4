import type { NodeTypeOf } from '../registry';

/**
 * The push vendors: the one list a new vendor is added to. It has no imports of its own (a vendor
 * module, the patients table and the reading types name a `Vendor` from here), so it can be
 * imported from anywhere in src/lib without a cycle. Everything else about a vendor is keyed by
 * this list with `Record<Vendor, …>`, so that the compiler names each place a new vendor lacks:
 *   src/lib/registry.ts                 its protocol (VENDOR_REGISTRY)
 *   src/sandbox/traffic.ts              what its cloud pushes in the sandbox
 *   test/harness/vendor-cases.ts        its case for the tests every receiver must pass
 * and, where no compiler looks (JavaScript, files found by name), test/completeness.test.ts:
 *   bench/lib/pushes/<vendor>.mjs       its push in the benchmark
 *   its receiver's node files           src/lib/registry.ts NODE_TYPES says which
 * The order is the sandbox's: its default `--vendors`.
 */

export interface VendorEntry {
  /** The vendor's name in prose: "the Lezhi, Sinocare, … clouds". */
  name: string;
  /** Its receiver: a node type of kind 'receiver' in NODE_TYPES (src/lib/registry.ts), or this fails to compile. */
  receiver: NodeTypeOf<'receiver'>;
}

export const PUSH_VENDORS = {
  sinocare: { name: 'Sinocare', receiver: 'sinocare-in' },
  lezhi: { name: 'Lezhi', receiver: 'lezhi-in' },
  viatom: { name: 'Viatom', receiver: 'viatom-in' },
  expeed: { name: 'Expeed', receiver: 'expeed-in' },
} as const satisfies Record<string, VendorEntry>;

export type Vendor = keyof typeof PUSH_VENDORS;

/** Every push vendor, in the manifest's order. */
export const VENDORS = Object.keys(PUSH_VENDORS) as Vendor[];

/** True for a name of the manifest: turns text from outside (a message, a command line) into a `Vendor`. */
export function isVendor(name: string): name is Vendor {
  return Object.prototype.hasOwnProperty.call(PUSH_VENDORS, name);
}

/** The vendor whose receiver is `type`, if it is one. */
export function vendorOfReceiver(type: string): Vendor | undefined {
  return VENDORS.find((vendor) => PUSH_VENDORS[vendor].receiver === type);
}
