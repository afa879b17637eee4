/**
 * Every node's saved properties carry `version`, so that a flow saved by an earlier release loads
 * unchanged in every later one. The editor writes CONFIG_VERSION into each new node (the build
 * puts it into every editor file's defaults); the runtime brings older properties up to date with
 * `migrateConfig` before it validates them. Release 0.1.0 saved no version: that is version 0.
 *
 * A step turns a version-n configuration into version n+1 and must be pure and idempotent (the
 * editor may have added a default of a newer version to an old node already). Add a step, raise
 * CONFIG_VERSION, and add its case to test/unit/config-version.test.ts.
 */

export type SavedConfig = Record<string, unknown>;

type Step = (type: string, config: SavedConfig) => SavedConfig;

const STEPS: Step[] = [
  // 0 → 1, "Going live": the Expeed status query got its own online value (the document's two
  // halves disagree). 0.1.0 read a queried `device_status` of 1 as online: say so explicitly.
  (type, config) => (type === 'expeed-account' && isBlank(config.queryOnlineValue) ? { ...config, queryOnlineValue: '1' } : config),
];

export const CONFIG_VERSION = STEPS.length;

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The version a node was saved with: 0 when it has none (0.1.0) or one we cannot read. */
export function versionOf(config: SavedConfig): number {
  const version = Number(config.version);
  return Number.isInteger(version) && version >= 0 ? version : 0;
}

/**
 * The properties as the current release reads them. A version newer than ours (a flow from a later
 * release) is passed on as it is: its properties are checked like any others.
 */
export function migrateConfig<T extends SavedConfig>(type: string, config: T): T & { version: number } {
  let migrated: SavedConfig = config;
  for (let version = versionOf(config); version < CONFIG_VERSION; version++) {
    migrated = (STEPS[version] as Step)(type, migrated);
  }
  return { ...migrated, version: Math.max(versionOf(config), CONFIG_VERSION) } as T & { version: number };
}
