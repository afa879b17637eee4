/**
 * Failures told once a window instead of one by one: the first failure opens a window and is told
 * as usual; `quiet()` is true for the ones inside it, which are counted and told once when it
 * closes (`report`), so a failure lasting minutes is a line a window, not a line a push.
 */
export class FailureWindow {
  private timer: NodeJS.Timeout | undefined;
  private suppressed = 0;

  constructor(
    private readonly windowMs: number,
    private readonly report: (count: number) => void,
  ) {}

  quiet(): boolean {
    if (this.timer) {
      this.suppressed++;
      return true;
    }
    this.timer = setTimeout(() => this.end(), this.windowMs);
    this.timer.unref?.();
    return false;
  }

  private end(): void {
    this.timer = undefined;
    if (this.suppressed > 0) this.report(this.suppressed);
    this.suppressed = 0;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
