// The dedup stores a receiver chooses from (src/nodes/receiver-node.ts), behind one interface.
export type { ClaimResult, DedupStore } from './store';
export { DedupMemory, MemoryDedupStore, digestOf, type DedupMemoryOptions } from './memory';
export { ContextDedupStore, LEGACY_CONTEXT_KEY, type ContextDedupOptions, type KeyValueStore } from './context-store';
export { RedisDedupStore, UnavailableDedupStore, CLAIM_MARGIN_MS, type RedisDedupClient, type RedisDedupOptions } from './redis';
