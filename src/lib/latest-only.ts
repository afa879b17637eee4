/**
 * Passes on the latest of a stream of values at most once per interval: the first at once, and
 * the last one always, at the end of its interval. A receiver's status shows counts that change
 * on every push; redrawing it thousands of times a second costs 7–12 % of the receiver's CPU under
 * load (bench/) and shows the user nothing more.
 */
export class LatestOnly<T> {
  private timer: NodeJS.Timeout | undefined;
  private pending: { value: T } | undefined;
  private lastShownAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly show: (value: T) => void,
    private readonly intervalMs: number,
  ) {}

  push(value: T): void {
    const wait = this.lastShownAt + this.intervalMs - Date.now();
    if (wait <= 0 && !this.timer) {
      this.lastShownAt = Date.now();
      this.show(value);
      return;
    }
    this.pending = { value };
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const pending = this.pending;
      this.pending = undefined;
      if (pending) {
        this.lastShownAt = Date.now();
        this.show(pending.value);
      }
    }, Math.max(wait, 0));
  }

  /** Drops a value still waiting (something else is shown instead, or the node closes). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
