import { PATIENT_FIELD_AUTO, PATIENT_LEGACY } from './formats/patient';

/**
 * Every node's saved properties carry `version`, so that a flow saved by an earlier release loads
 * unchanged in every later one. The editor writes CONFIG_VERSION into each new node (the build
 * puts it into every editor file's defaults); the runtime brings older properties up to date with
 * `migrateConfig` before it validates them. Release 0.1.0 saved no version: that is version 0.
 *
 * A step turns a version-n configuration into version n+1 and must be pure and idempotent (the
 * editor may have added a default of a newer version to an old node already). Add a step (which
 * raises CONFIG_VERSION) and add its case to test/unit/config-version.test.ts.
 */

export type SavedConfig = Record<string, unknown>;

/**
 * One change of a step: for nodes of `types`, `property` becomes `value` where the saved value is
 * blank, or one of `replaces`. Steps are data, not code, so that the editor runs the very same
 * steps on a node it opens (the build writes them into the editor files as JSON: an old node shows
 * its migrated values in its dialog).
 */
export interface Change {
  types: readonly string[];
  property: string;
  value: string | boolean;
  /**
   * Saved values that are replaced too, besides a blank one; `'any'`: whatever was saved. A
   * property a version did not have can only hold what the editor filled in from a newer
   * release's defaults when it imported the node (Node-RED fills every missing default on an
   * import), so such a value is replaced as if it were blank.
   */
  replaces?: readonly unknown[] | 'any';
}

/** The changes from version n to n+1 are STEPS[n]. */
export const STEPS: readonly (readonly Change[])[] = [
  // 0 → 1, "Going live": the Expeed status query got its own online value (the document's two
  // halves disagree). 0.1.0 read a queried `device_status` of 1 as online: say so explicitly.
  [{ types: ['expeed-account'], property: 'queryOnlineValue', value: '1' }],
  // 1 → 2, "every reading to its patient": health-fhir and health-hl7 read the patient by
  // `patientField: auto` and refuse a reading of no patient (`requirePatient`). Nodes saved before
  // read `subject.patientId` and sent a reading without one as a resource or message of no
  // patient: they keep doing so. `auto` did not exist then, so an `auto` there is an imported
  // default; requirePatient did not exist at all.
  [
    { types: ['health-fhir', 'health-hl7'], property: 'patientField', value: PATIENT_LEGACY.patientField, replaces: [PATIENT_FIELD_AUTO] },
    { types: ['health-fhir', 'health-hl7'], property: 'requirePatient', value: PATIENT_LEGACY.requirePatient, replaces: 'any' },
  ],
];

function applyChange(change: Change, type: string, config: SavedConfig): SavedConfig {
  if (!change.types.includes(type)) return config;
  const saved = config[change.property];
  const replace = isBlank(saved) || change.replaces === 'any' || (change.replaces ?? []).includes(saved);
  return replace && saved !== change.value ? { ...config, [change.property]: change.value } : config;
}

export const CONFIG_VERSION = STEPS.length;

/**
 * The property that holds the configuration version: `version`, except where the documented
 * properties give `version` another meaning (health-hl7's HL7 version, docs/nodes/health-hl7.md: a flow written with those names
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
    for (const change of STEPS[version] as readonly Change[]) migrated = applyChange(change, type, migrated);
  }
  return { ...migrated, [versionPropertyOf(type)]: Math.max(saved, CONFIG_VERSION) } as T;
}
