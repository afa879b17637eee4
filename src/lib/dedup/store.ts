/**
 * Where a receiver keeps the dedup keys of the pushes it has handed to the flow, so that a
 * vendor's retry or double push is answered without being emitted twice. One store per receiver
 * (memory, a Node-RED context store) or one shared by several Node-RED instances (Redis).
 *
 * A key goes through three steps:
 * - `claim`: atomic. Of all callers for a key, concurrent or later, exactly one gets `claimed`
 *   and may emit the push; the others learn `seen` (confirmed within the window) or `pending`
 *   (claimed, its outcome not known yet).
 * - `confirm`: the emitted push was stored (or, `ack: auto`, handed to the flow): the key is kept
 *   for the window, and every later claim of it is `seen`.
 * - `release`: the emitted push failed (`ack: flow` with a failing flow, or no answer in time):
 *   the key is free again, so the vendor's retry is emitted again.
 * A claimer always confirms or releases. A store that can outlive its claimer (shared by several
 * instances) gives a claim an expiry of its own, so that one left by a crashed instance frees itself.
 *
 * Failure policy (the receiver core carries it out, src/lib/receiver/core.ts):
 * - `claim` rejects: the push is not emitted (nothing goes out without dedup), keys this push had
 *   already claimed are released, and the vendor gets its failure envelope with 503, which it
 *   retries. The node's status says so. Nothing is latched: the next push claims again, so the
 *   receiver recovers by itself when the store does.
 * - `confirm` rejects after the flow stored the push: the push is answered with its outcome all
 *   the same (its data is stored; a failure would make the vendor send it again) and the error is
 *   reported. At worst a later copy is emitted once more.
 * - `release` rejects: reported; the push's answer (a failure) stands.
 * - A copy handled by the same receiver while its original is claimed waits for the original and
 *   gets the original's answer (the core tracks that itself, without asking the store). A copy
 *   that finds the key `pending` in the store (claimed by another receiver or instance) asks again
 *   until it is `seen` (answered as a duplicate), free (claimed and emitted by this copy) or the
 *   push's ackTimeout has passed (503, the vendor retries).
 */
export interface DedupStore {
  claim(key: string): Promise<ClaimResult>;
  confirm(key: string): Promise<void>;
  release(key: string): Promise<void>;
  /** Writes what is pending and frees what the store holds; claims after it need not work. */
  close(): Promise<void>;
}

export type ClaimResult = 'claimed' | 'seen' | 'pending';
