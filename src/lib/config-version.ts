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

/**
 * The property that holds the configuration version: `version`, except where SPEC already gives
 * `version` another meaning (health-hl7's HL7 version, SPEC §7: a flow written with SPEC's names
 * must get the HL7 version it asks for). The editor files use the same name (build-assets.mjs).
 */
export const VERSION_PROPERTY: Readonly<Record<string, string>> = { 'health-hl7': 'configVersion' };

export function versionPropertyOf(type: string): string {
  return VERSION_PROPERTY[type] ?? 'version';
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The version a node was saved with: 0 when it has none (0.1.0) or one we cannot read. */
export function versionOf(config: SavedConfig, type = String(config.type ?? '')): number {
  const version = Number(config[versionPropertyOf(type)]);
  return Number.isInteger(version) && version >= 0 ? version : 0;
}

/**
 * The properties as the current release reads them. A version newer than ours (a flow from a later
 * release) is passed on as it is: its properties are checked like any others.
 */
export function migrateConfig<T extends SavedConfig>(type: string, config: T): T {
  const saved = versionOf(config, type);
  let migrated: SavedConfig = config;
  for (let version = saved; version < CONFIG_VERSION; version++) {
    migrated = (STEPS[version] as Step)(type, migrated);
  }
  return { ...migrated, [versionPropertyOf(type)]: Math.max(saved, CONFIG_VERSION) } as T;
}
