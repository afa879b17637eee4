// One valid push per receiver type, as the vendor's cloud sends it, and what the benchmark needs
// around it. The receivers are the registry's (src/lib/registry.ts, built into dist/): each
// vendor's receiver type, and what the receiver answers an accepted push, its protocol's own
// `acceptedBody`, so that an answer changed in the protocol changes the expected answer here too.
// Each vendor's push is its own file, pushes/<vendor>.mjs (test/completeness.test.ts names a
// vendor without one), whose default export holds:
//   body          the push (a duplicate-heavy load sends exactly this every time)
//   unique(n)     the n-th distinct reading: the same push with the vendor's dedup key changed
//                 and the same length in bytes as `body`, so every load carries bodies of one size
//   manual(accepted)  the body of a `function` node written the way an integrator would handle
//                 this vendor without our nodes: check the fields the vendor documents as required,
//                 drop what a context Set has seen by the vendor's key, answer `accepted` (the
//                 vendor's envelope) on output 1 (to `http response`), a new reading on output 2
//   describe      what the push is, for RESULTS.md
//   readings      readings one push carries (1 unless said; an Expeed data push carries 2)
//   properties    receiver properties beyond the editor's defaults (expeed-in: its account)
//   configNodes   config nodes the receiver needs in the flow (expeed-in: an expeed-account)
//
// RECEIVERS lists every vendor's receiver, in the registry's order, with `vendor`, `runtime` (its
// compiled node file, relative to the package) and `file` (its push file).
// PUSHES is keyed by receiver type, for the vendors with a push file: the push with `vendor`,
// `accepted` ({ status, body }) and `manual` (the function's text, answering `accepted`).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { nodeFiles, VENDOR_REGISTRY, VENDORS } = createRequire(import.meta.url)(path.join(here, '..', '..', 'dist', 'lib', 'registry.js'));

export const RECEIVERS = VENDORS.map((vendor) => {
  const type = VENDOR_REGISTRY[vendor].receiver;
  return { type, vendor, runtime: nodeFiles(type).runtime, file: path.join(here, 'pushes', `${vendor}.mjs`) };
});

export const PUSHES = {};
for (const { type, vendor, file } of RECEIVERS) {
  if (!fs.existsSync(file)) continue;
  const push = (await import(pathToFileURL(file).href)).default;
  const accepted = { status: 200, body: VENDOR_REGISTRY[vendor].protocol().acceptedBody };
  PUSHES[type] = { ...push, vendor, accepted, manual: push.manual(accepted.body) };
}

for (const [type, push] of Object.entries(PUSHES)) {
  const length = Buffer.byteLength(push.body);
  for (const n of [0, 1, 99_999_999]) {
    if (Buffer.byteLength(push.unique(n)) !== length) throw new Error(`${type}: unique(${n}) is not ${length} bytes long`);
  }
}
