/**
 * The push vendors: the one list a new vendor is added to, beside package.json's
 * `node-red.nodes` (which Node-RED reads). The order is the sandbox's: its default `--vendors`.
 *
 * Everything else a vendor brings is found by its name, as Node-RED finds a node's help and
 * labels by the node file's name, so that no second list has to be kept in step with this one:
 *   src/lib/vendors/<vendor>.ts or <vendor>/   its protocol (the receiver node file imports it)
 *   src/sandbox/traffic/<vendor>.ts            what its cloud pushes in the sandbox
 *   bench/lib/pushes/<vendor>.mjs              its push in the benchmark
 *   test/harness/vendor-cases.ts               its case for the tests every receiver must pass
 * and, per node type in package.json: the editor file, help and labels in en-US and zh-CN, an
 * icon, an example flow that uses it. test/completeness.test.ts names whatever is missing.
 */

export interface VendorEntry {
  /** The vendor's name in prose: "the Lezhi, Sinocare, … clouds". */
  name: string;
  /** Its receiver's node type (SPEC §2). */
  receiver: string;
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

export function isVendor(name: string): name is Vendor {
  return Object.prototype.hasOwnProperty.call(PUSH_VENDORS, name);
}

/** The vendor whose receiver is `type`, if it is one. */
export function vendorOfReceiver(type: string): Vendor | undefined {
  return VENDORS.find((vendor) => PUSH_VENDORS[vendor].receiver === type);
}
