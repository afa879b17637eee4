/**
 * How the sandbox's hospital fails, the same way at every door (FHIR, MLLP): every n-th reading is
 * refused the first time it arrives and accepted when it comes again, and one answer in n is slow.
 *
 * Refusals count readings (by their identifier), not calls: counting calls would let a retry fall
 * on the next n-th call as well, now and then, depending on how the traffic interleaves. A reading
 * seen before (a retry, a duplicate) is never refused.
 */

export interface FaultOptions {
  /** Every n-th new reading is refused once; 0 never. */
  failEvery?: number;
  /** Every n-th answer is delayed by `slowMs`; 0 never. */
  slowEvery?: number;
  slowMs?: number;
}

export const DEFAULT_SLOW_MS = 3000;

export class HospitalFaults {
  private readonly seen = new Set<string>();
  private readings = 0;
  private answers = 0;
  private readonly failEvery: number;
  private readonly slowEvery: number;
  private readonly slowMs: number;

  constructor(options: FaultOptions = {}) {
    this.failEvery = options.failEvery ?? 0;
    this.slowEvery = options.slowEvery ?? 0;
    this.slowMs = options.slowMs ?? DEFAULT_SLOW_MS;
  }

  /** Whether the reading with this key is refused now (only ever on its first arrival). */
  refuse(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.readings++;
    return this.failEvery > 0 && this.readings % this.failEvery === 0;
  }

  /** How long to hold the next answer back: `slowMs` for every n-th answer, else 0. */
  delay(): number {
    this.answers++;
    return this.slowEvery > 0 && this.answers % this.slowEvery === 0 ? this.slowMs : 0;
  }
}

/** A timer that does not keep the process alive (a stopped sandbox does not wait for it). */
export const hold = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve();
