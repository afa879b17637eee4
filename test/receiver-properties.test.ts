import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bodyFixture, receiverFlow } from './harness/flows';
import { request, postJson, type HttpResponse } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';
import { isAcceptance, VENDORS, type VendorCase } from './harness/vendor-cases';

/**
 * Property: whatever a cloud (or anyone) sends, a receiver answers 200 or 4xx in the vendor's own
 * envelope, never 5xx and never not at all; every answer is accounted for in the flow (a 200
 * emits on output 1 or 2, a refusal reaches the Catch node), Node-RED stays up, and a valid push
 * afterwards is still emitted. The bodies are the vendors' documented pushes, mutated: type swaps,
 * nulls, removed fields, deep nesting, long strings, odd unicode, `__proto__` keys, truncation and
 * random bytes.
 *
 * The seed is fixed so that CI is deterministic; HB_FC_SEED=<n> or HB_FC_SEED=random explores
 * further, HB_FC_RUNS sets the number of bodies per receiver. A failure prints the seed and the
 * smallest body that shows it.
 */

const RUNS = Number(process.env.HB_FC_RUNS ?? 150);
const SEED = process.env.HB_FC_SEED === 'random' ? Date.now() : Number(process.env.HB_FC_SEED ?? 20261201);
const ANSWER_TIMEOUT_MS = 10_000;
/** How long an accepted or refused push may take to show in the flow on a busy machine. */
const ACCOUNTED_TIMEOUT_MS = 10_000;

type Path = Array<string | number>;

/** Every place in a JSON value, the root included. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(...value.map((item, index) => pathsOf(item, [...prefix, index])));
  if (value && typeof value === 'object') {
    return here.concat(...Object.entries(value).map(([key, item]) => pathsOf(item, [...prefix, key])));
  }
  return here;
}

function valueAt(root: unknown, path: Path): unknown {
  return path.reduce<any>((node, key) => (node == null ? undefined : node[key]), root);
}

/** `root` with the value at `path` replaced by `make(old)`, or removed when `make` gives undefined. */
function changed(root: unknown, path: Path, make: (old: unknown) => unknown): unknown {
  if (path.length === 0) return make(root);
  const copy = structuredClone(root) as any;
  const parent: any = valueAt(copy, path.slice(0, -1));
  const key = path[path.length - 1] as string | number;
  if (parent === null || typeof parent !== 'object') return copy;
  const next = make(parent[key]);
  if (next === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else {
    parent[key] = next;
  }
  return copy;
}

const nested = (depth: number): unknown => Array.from({ length: depth }).reduce<unknown>((inner) => [inner], 1);

/** What a field may become. */
const replacement: fc.Arbitrary<(old: unknown) => unknown> = fc.oneof(
  fc.constant(() => undefined),
  fc.constant(() => null),
  fc.constant((old: unknown) => (typeof old === 'number' ? String(old) : typeof old === 'string' ? Number(old) : old)),
  fc.constant((old: unknown) => [old]),
  fc.constant((old: unknown) => ({ value: old, unit: '' })),
  fc.constantFrom('HI', 'LO', '>22.2', '', ' ', '-', 'NaN', 'Infinity', '1e999', '0x1F', '张三').map((text) => () => text),
  fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(Number.MAX_SAFE_INTEGER + 2)).map((value) => () => value),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => () => text),
  fc.integer({ min: 1, max: 200_000 }).map((length) => () => 'x'.repeat(length)),
  fc.integer({ min: 60, max: 70 }).map((depth) => () => nested(depth)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => () => value),
);

/** The text of a mutated documented push; sometimes cut short, or with prototype keys added. */
function bodies(vendor: VendorCase): fc.Arbitrary<Buffer> {
  const mutated = fc
    // the documented pushes of the vendor (its case's seeds)
    .constantFrom(...vendor.seeds.map((name) => bodyFixture(vendor.vendor, name)))
    .chain((seed) =>
      fc.array(fc.tuple(fc.constantFrom(...pathsOf(seed)), replacement), { minLength: 1, maxLength: 4 }).map((changes) =>
        JSON.stringify(changes.reduce<unknown>((body, [path, make]) => changed(body, path, make), seed)) ?? 'null',
      ),
    );
  const text = fc.oneof(
    { weight: 6, arbitrary: mutated },
    {
      weight: 1,
      arbitrary: mutated.map((body) =>
        body.replace('{', '{"__proto__":{"polluted":true,"code":1},"constructor":{"prototype":{"polluted":true}},'),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(mutated, fc.nat()).map(([body, cut]) => body.slice(0, cut % Math.max(body.length, 1))) },
    {
      // Nesting far past the limit, written as text: a value wrapped in thousands of arrays.
      weight: 1,
      arbitrary: fc.tuple(mutated, fc.integer({ min: 1_000, max: 20_000 })).map(([body, depth]) =>
        body.replace(/:(\d+)/, (_, digits: string) => `:${'['.repeat(depth)}${digits}${']'.repeat(depth)}`),
      ),
    },
  );
  return fc.oneof(
    { weight: 8, arbitrary: text.map((body) => Buffer.from(body)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)) },
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('every receiver under mutated vendor bodies (fast-check)', function () {
  let nodeRed: NodeRed;
  this.timeout(10 * 60_000);

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
    // dedupHours 0: every accepted push must show in the flow, so none can hide behind dedup.
    await nodeRed.deploy(
      VENDORS.flatMap((vendor) =>
        receiverFlow({ type: vendor.type, id: `rx-${vendor.vendor}`, path: `/p/${vendor.vendor}`, properties: { dedupHours: 0 } }),
      ),
    );
  });
  after(async function () {
    await nodeRed?.stop();
  });

  const countAt = (sinks: string[]): number => nodeRed.messages.filter((m: SinkMessage) => sinks.includes(m.sink)).length;
  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + ACCOUNTED_TIMEOUT_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`not seen in the flow: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  for (const vendor of VENDORS) {
    it(`${vendor.type} answers every mutated body with 200 or 4xx in the ${vendor.vendor} envelope, and the flow hears of each`, async function () {
      const url = `${nodeRed.url}/p/${vendor.vendor}`;
      const emitted = [`rx-${vendor.vendor}/readings`, `rx-${vendor.vendor}/events`];
      const caught = [`rx-${vendor.vendor}/errors`];
      const statuses: number[] = [];
      await fc.assert(
        fc.asyncProperty(bodies(vendor), async (bytes) => {
          const emittedBefore = countAt(emitted);
          const caughtBefore = countAt(caught);
          const response: HttpResponse = await withTimeout(
            request(url, { method: 'POST', body: bytes, headers: { 'content-type': 'application/json' } }),
            ANSWER_TIMEOUT_MS,
            bytes.subarray(0, 200).toString(),
          );
          statuses.push(response.status);
          assert.ok(response.status === 200 || (response.status >= 400 && response.status < 500), `HTTP ${response.status}: ${response.text}`);
          if (response.status === 200) {
            assert.ok(isAcceptance(vendor, response.json), `200 without the success envelope: ${response.text}`);
            await until(() => countAt(emitted) > emittedBefore, 'the accepted push on output 1 or 2');
          } else {
            assert.ok(vendor.isRefusal(response.json), `${response.status} without the refusal envelope: ${response.text}`);
            await until(() => countAt(caught) > caughtBefore, 'the refused push at the Catch node');
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Both answers were exercised: the mutations are neither all harmless nor all fatal.
      assert.ok(statuses.includes(200) && statuses.some((status) => status >= 400), `statuses seen: ${[...new Set(statuses)]}`);

      const valid = vendor.push(987_654);
      const readingsBefore = countAt([`rx-${vendor.vendor}/readings`]);
      const after = await postJson(url, valid);
      assert.equal(after.status, 200, after.text);
      const readings = await nodeRed.waitForMessages(readingsBefore + 1, `rx-${vendor.vendor}/readings`);
      const last = readings[readings.length - 1];
      assert.deepEqual(last?.msg.raw, valid);
      assert.equal(last?.msg.payload.polluted, undefined);
    });
  }
});
