import type { DeadLetter, Selection } from './dead-letters';
import { deadView, queuedView, type EntryView } from './entries';
import type { OutboxStatus, QueuedEntry } from './queue';
import type { StoredMsg } from './storage';

/**
 * What an operator can do with a running outbox, without Node-RED: look at what waits and what
 * died a page at a time, send dead letters again, throw them away. The outbox node registers one
 * in the running nodes' table (src/lib/operations/running.ts), where the admin API finds it by
 * the node's id (src/lib/admin/outboxes.ts).
 */

export interface PageRequest {
  /** Entries after this entry id (the `next` of the previous page); from the start if absent. */
  after?: number;
  limit: number;
}

export interface EntryPage {
  entries: EntryView[];
  /** The entry id to ask `after` for the next page; null on the last page. */
  next: string | null;
  /** Everything waiting (queue) or kept (dead letters), all pages together. */
  total: number;
}

export type { Selection } from './dead-letters';

export interface OutboxControl {
  queue(page: PageRequest): Promise<EntryPage>;
  deadLetters(page: PageRequest): Promise<EntryPage>;
  /**
   * The selected dead letters back into the queue, with their tries counted afresh and a new
   * max age, in the order the outbox first accepted them (each patient's order); `user` is who
   * asked (logged with the count). Resolves with how many went back.
   */
  retry(selection: Selection, user: string): Promise<number>;
  /** The selected dead letters are gone; resolves with how many. */
  discard(selection: Selection, user: string): Promise<number>;
}

/**
 * What the control needs of a queue: the file queue (queue.ts) or the one shared in Redis
 * (redis/queue.ts). A page may carry the total of the whole queue (Redis: read with the page).
 */
export interface ControlledQueue {
  enqueue(msg: StoredMsg, key?: number): Promise<unknown>;
  page(after: number, limit: number): Promise<{ entries: QueuedEntry[]; more: boolean; total?: number }>;
  status(): OutboxStatus;
}

/** What the control needs of the dead letters: the file store (dead-letters.ts) or Redis's (redis/dead-letters.ts). */
export interface ControlledDeadLetters {
  count(): number;
  page(after: number, limit: number): Promise<{ letters: DeadLetter[]; more: boolean; total?: number }>;
  retry(selection: Selection, requeue: (letters: DeadLetter[]) => Promise<void>): Promise<number>;
  discard(selection: Selection): Promise<number>;
}

export interface OutboxParts {
  queue: ControlledQueue;
  deadLetters: ControlledDeadLetters;
}

/**
 * The control of an outbox whose storage opens in the background: every operation waits for
 * `opened` (and fails as it does). `done` is told each retry and discard once, with the count.
 */
export function outboxControl(opened: Promise<OutboxParts>, done: (action: 'retried' | 'discarded', user: string, count: number) => void): OutboxControl {
  return {
    async queue({ after = 0, limit }) {
      const { queue } = await opened;
      const { entries, more, total } = await queue.page(after, limit);
      return page(entries.map(queuedView), more, total ?? queue.status().queued);
    },
    async deadLetters({ after = 0, limit }) {
      const { deadLetters } = await opened;
      const { letters, more, total } = await deadLetters.page(after, limit);
      return page(letters.map(deadView), more, total ?? deadLetters.count());
    },
    async retry(selection, user) {
      const { queue, deadLetters } = await opened;
      let queued = 0;
      const requeue = async (letters: DeadLetter[]): Promise<void> => {
        // all appended together (one write on disk), in this order: their seqs follow it
        await Promise.all(letters.map((letter) => queue.enqueue(letter.msg!, letter.key)));
        queued += letters.length;
      };
      try {
        await deadLetters.retry(selection, requeue);
      } catch (error) {
        // a retry that failed half-way (a full disk) still logs what went back before it
        if (queued > 0) done('retried', user, queued);
        throw error;
      }
      done('retried', user, queued);
      return queued;
    },
    async discard(selection, user) {
      const { deadLetters } = await opened;
      const count = await deadLetters.discard(selection);
      done('discarded', user, count);
      return count;
    },
  };
}

function page(entries: EntryView[], more: boolean, total: number): EntryPage {
  return { entries, next: more && entries.length ? entries[entries.length - 1].entry : null, total };
}
