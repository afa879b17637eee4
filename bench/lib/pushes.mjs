// One valid push per receiver type, as the vendor's cloud sends it, and what the benchmark needs
// around it. Each vendor's is its own file, pushes/<vendor>.mjs (found by the vendor's name in the
// manifest, src/lib/vendors/manifest.ts, built into dist/), whose default export holds:
//   body          the push (a duplicate-heavy load sends exactly this every time)
//   unique(n)     the n-th distinct reading: the same push with the vendor's dedup key changed
//                 and the same length in bytes as `body`, so every load carries bodies of one size
//   accepted      what the receiver answers a valid push (checked before loading)
//   manual        the body of a `function` node written the way an integrator would handle this
//                 vendor without our nodes: check the fields the vendor documents as required,
//                 drop what a context Set has seen by the vendor's key, answer in the vendor's
//                 envelope on output 1 (to `http response`), a new reading on output 2
//   describe      what the push is, for RESULTS.md
//   readings      readings one push carries (1 unless said; an Expeed data push carries 2)
//   properties    receiver properties beyond the editor's defaults (expeed-in: its account)
//   configNodes   config nodes the receiver needs in the flow (expeed-in: an expeed-account)
// PUSHES is keyed by receiver type and adds `vendor`, from the manifest.
//
// A receiver type in package.json without a push file is skipped with a line in RESULTS.md.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { PUSH_VENDORS } = createRequire(import.meta.url)(path.join(here, '..', '..', 'dist', 'lib', 'vendors', 'manifest.js'));

export const PUSHES = {};
for (const [vendor, { receiver }] of Object.entries(PUSH_VENDORS)) {
  const file = path.join(here, 'pushes', `${vendor}.mjs`);
  if (!fs.existsSync(file)) continue;
  PUSHES[receiver] = { vendor, ...(await import(pathToFileURL(file).href)).default };
}

for (const [type, push] of Object.entries(PUSHES)) {
  const length = Buffer.byteLength(push.body);
  for (const n of [0, 1, 99_999_999]) {
    if (Buffer.byteLength(push.unique(n)) !== length) throw new Error(`${type}: unique(${n}) is not ${length} bytes long`);
  }
}
