/**
 * How the sandbox's hospital fails, the same way at every door (FHIR, MLLP): every n-th reading is
 * refused the first time it arrives and accepted when it comes again, and one answer in n is slow.
 * It can also be down for maintenance for a while (`DownWindow`, `scheduleOutage`).
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

/**
 * When the hospital is down for maintenance: windows in milliseconds since the sandbox started.
 * While down, every door is closed the way a stopped server's is: the MLLP listener stops listening
 * (a connect is refused) and drops the connections it had; the FHIR server and the HTTP API, which
 * share the sandbox's port with the Viatom and Expeed clouds (those stay up), answer 503 with
 * Retry-After, as a hospital's gateway does in front of a server in maintenance. At `toMs` every
 * door opens again, the MLLP listener on the port it had.
 */
export interface DownWindow {
  fromMs: number;
  toMs: number;
}

/** Throws when the windows are not in order, or overlap or touch (say `30-120`, not `30-90,90-120`). */
export function checkDownWindows(windows: readonly DownWindow[]): void {
  let end = -1;
  for (const { fromMs, toMs } of windows) {
    const shown = `${fromMs / 1000}-${toMs / 1000}`;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs < 0) throw new Error(`the down window ${shown} must be two non-negative numbers of seconds`);
    if (toMs <= fromMs) throw new Error(`the down window ${shown} must end after it begins`);
    if (fromMs <= end) throw new Error(`the down window ${shown} must begin after the one before it ends`);
    end = toMs;
  }
}

/** `30-90` or `30-90,120-150`: seconds since the sandbox started, from–to → windows in ms. */
export function parseDownWindows(text: string): DownWindow[] {
  const windows = text.split(',').map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) throw new Error(`"${part.trim()}" is not <from>-<to> in seconds since the sandbox started, such as 30-90`);
    return { fromMs: Math.round(Number(match[1]) * 1000), toMs: Math.round(Number(match[2]) * 1000) };
  });
  checkDownWindows(windows);
  return windows;
}

export interface Outage {
  /** The window the hospital is down in now, undefined while up (set once its `change` has run). */
  readonly window: DownWindow | undefined;
  /** Stops the schedule, after a change under way has finished. */
  stop(): Promise<void>;
}

/**
 * Follows the windows from `startedAt`: `change(true, window)` when one begins, `change(false,
 * window)` when it ends, one change at a time, in order. At every boundary the state is set from
 * the clock, so a timer that fires late (a busy machine) or a hair early does no harm. The first
 * step runs before this resolves (a window from 0 is down at once); a change that throws there
 * rejects it, later ones are ignored here (the caller logs them).
 */
export async function scheduleOutage(
  windows: readonly DownWindow[],
  startedAt: number,
  change: (down: boolean, window: DownWindow) => Promise<void> | void,
): Promise<Outage> {
  let current: DownWindow | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let chain = Promise.resolve();

  function follow(): Promise<void> {
    const step = chain.then(async () => {
      if (stopped) return;
      const now = Date.now() - startedAt;
      const window = windows.find((w) => w.fromMs <= now && now < w.toMs);
      try {
        if (window !== current) {
          // leaving a window (late, into the next one) is an up first: each down has its up
          if (current) await change(false, current);
          current = undefined;
          if (window) await change(true, window);
          current = window;
        }
      } finally {
        const next = windows.flatMap((w) => [w.fromMs, w.toMs]).find((at) => at > now);
        const wait = next === undefined ? undefined : Math.max(0, next - (Date.now() - startedAt));
        if (wait !== undefined && !stopped) timer = setTimeout(() => void follow().catch(() => undefined), wait).unref();
      }
    });
    // a change that failed is the caller's to report; the next boundary is followed all the same
    chain = step.catch(() => undefined);
    return step;
  }

  await follow();
  return {
    get window() {
      return current;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
  };
}
