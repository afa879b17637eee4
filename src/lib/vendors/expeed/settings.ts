import type { SettingResult } from './push';

/**
 * The results of device settings, matched by `message_id` (docs/nodes/expeed-set.md): an expeed-set
 * waits here for the `msg_type 3` push that an expeed-in of the same account hands over. A result
 * that arrives before anyone waits (the platform can push it before its answer to the POST is
 * read) is kept for a while, so the wait that starts just after still finds it.
 */

/** How long a result is kept for a wait that has not started yet (in Redis too, with `state`). */
export const KEEP_MS = 10 * 60_000;
const KEEP_MAX = 1000;

interface Waiter {
  resolve(result: SettingResult): void;
  reject(error: unknown): void;
}

/** A wait for one setting's result: its promise, and how to end it early. */
export interface SettingWait {
  result: Promise<SettingResult>;
  cancel(error: unknown): void;
}

/**
 * Where the results of settings meet the expeed-set nodes waiting for them: this instance's memory
 * (SettingResults), or Redis too when the account has `state` (RedisSettingResults, redis-state.ts),
 * so that a result pushed to one instance completes a wait on another.
 */
export interface SettingWaits {
  /** A result an expeed-in of the account received. */
  deliver(result: SettingResult): void;
  /** The result for `messageId`; rejects with `onTimeout()` after `timeoutMs`. */
  wait(messageId: string, timeoutMs: number, onTimeout: () => unknown): SettingWait;
  /** The account is being stopped. */
  close(): void;
}

export class SettingResults implements SettingWaits {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly early = new Map<string, { result: SettingResult; at: number }>();

  deliver(result: SettingResult): void {
    const waiters = this.waiting.get(result.messageId);
    if (waiters?.size) {
      this.waiting.delete(result.messageId);
      for (const waiter of waiters) waiter.resolve(result);
      return;
    }
    this.early.delete(result.messageId);
    this.early.set(result.messageId, { result, at: Date.now() });
    for (const [id, entry] of this.early) {
      if (this.early.size <= KEEP_MAX && Date.now() - entry.at < KEEP_MS) break;
      this.early.delete(id);
    }
  }

  /** The result for `messageId`; rejects with `onTimeout()` after `timeoutMs`. */
  wait(messageId: string, timeoutMs: number, onTimeout: () => unknown): SettingWait {
    const kept = this.early.get(messageId);
    if (kept && Date.now() - kept.at < KEEP_MS) {
      this.early.delete(messageId);
      return { result: Promise.resolve(kept.result), cancel: () => undefined };
    }
    let waiter!: Waiter;
    const result = new Promise<SettingResult>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(onTimeout())), timeoutMs);
      const settle = (finish: () => void): void => {
        clearTimeout(timer);
        const set = this.waiting.get(messageId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiting.delete(messageId);
        finish();
      };
      waiter = {
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
      };
    });
    const set = this.waiting.get(messageId) ?? new Set<Waiter>();
    set.add(waiter);
    this.waiting.set(messageId, set);
    return { result, cancel: (error) => waiter.reject(error) };
  }

  /** Ends every wait (the account is being stopped). */
  close(): void {
    this.early.clear();
  }
}
