import type { Alert } from './engine';

/**
 * health-watch's logic (no Node-RED): rules and properties (./rules.ts), units (./units.ts), the
 * engine of episodes and silences (./engine.ts), what is kept sealed over a restart (./store.ts,
 * ./snapshot.ts), or shared by several instances on Redis (./shared.ts, ./several.ts), and the
 * running watch that ties them to one timer (./watch.ts).
 */
export { WatchEngine, type Alert, type AlertPayload, type AlertState } from './engine';
export { compileRules, DEFAULT_RULES, ruleRowSchema, SILENT_RULE, WATCH_DEFAULTS, watchFieldsSchema, watchPropertiesSchema, type RuleRow, type WatchProperties } from './rules';
export { flowSharesState } from './several';
export { RedisWatchState, type RedisWatchClient, type SharedWatchState } from './shared';
export { WatchStore } from './store';
export { Watch } from './watch';

/** The Node-RED message of an alert: `health-watch/<rule>`, the payload, and the reading (none for a silence). */
export function alertMessage(alert: Alert): { topic: string; payload: Alert['payload']; reading?: Alert['reading'] } {
  return { topic: `health-watch/${alert.payload.rule}`, payload: alert.payload, ...(alert.reading && { reading: alert.reading }) };
}
