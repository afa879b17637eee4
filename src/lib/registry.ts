import type { PushProtocol } from './receiver/protocol';
import type { FormatNodeType } from './formats';
import { expeedProtocol } from './vendors/expeed/push';
import { lezhiProtocol } from './vendors/lezhi';
import { PUSH_VENDORS, VENDORS, vendorOfReceiver, type Vendor, type VendorEntry } from './vendors/manifest';
import { sinocareProtocol } from './vendors/sinocare';
import { viatomProtocol } from './vendors/viatom/push';

/**
 * What the package is made of, typed, in one place: its node types (NODE_TYPES) and its push
 * vendors (VENDOR_REGISTRY, over the vendor list in ./vendors/manifest.ts). Tests, the benchmark,
 * the sandbox and the build take their lists from here, and whatever keeps something per vendor or
 * per node type keys it `Record<Vendor, …>` or `Record<NodeType, …>`: a new entry here makes the
 * compiler name each of those places that lacks it, and test/completeness.test.ts names the files
 * no compiler sees (editor, help, labels, icon, example flow, benchmark push).
 *
 * package.json's `node-red.nodes` (which Node-RED reads) must say the same as NODE_TYPES:
 * test/completeness.test.ts compares the two. Plain TypeScript, no Node-RED import.
 */

/** The languages of every user-visible string: each node has help and labels in each. */
export const LANGUAGES = ['en-US', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/**
 * What a node is for:
 *   receiver  answers a vendor cloud's pushes on an HTTP path (one per vendor)
 *   action    calls a vendor's API when a message arrives (a token, a query, a setting, an authorization)
 *   format    turns readings into what a hospital system reads (FHIR, HL7 v2)
 *   config    holds settings other nodes share (an account, an MLLP connection); not in the palette
 *   flow      the rest of a reading's way: answering the vendor, the outbox, the patient, sending,
 *             watching for alerts
 */
export type NodeKind = 'receiver' | 'action' | 'format' | 'config' | 'flow';

/** A node's kind and its palette icon (a file in src/nodes/icons/ that its editor file names); a config node has none. */
export type NodeTypeEntry = { kind: 'config'; icon: null } | { kind: Exclude<NodeKind, 'config'>; icon: string };

/** Every node type of the package, in package.json's order. */
export const NODE_TYPES = {
  'lezhi-in': { kind: 'receiver', icon: 'health-bridge-lezhi.svg' },
  'sinocare-in': { kind: 'receiver', icon: 'health-bridge-sinocare.svg' },
  'viatom-in': { kind: 'receiver', icon: 'health-bridge-viatom.svg' },
  'viatom-account': { kind: 'config', icon: null },
  'viatom-auth': { kind: 'action', icon: 'health-bridge-viatom.svg' },
  'expeed-in': { kind: 'receiver', icon: 'health-bridge-expeed.svg' },
  'expeed-account': { kind: 'config', icon: null },
  'expeed-token': { kind: 'action', icon: 'health-bridge-expeed.svg' },
  'expeed-query': { kind: 'action', icon: 'health-bridge-expeed.svg' },
  'expeed-set': { kind: 'action', icon: 'health-bridge-expeed.svg' },
  'health-ack': { kind: 'flow', icon: 'health-bridge-ack.svg' },
  'health-fhir': { kind: 'format', icon: 'health-bridge-fhir.svg' },
  'health-hl7': { kind: 'format', icon: 'health-bridge-hl7.svg' },
  'hl7-mllp': { kind: 'config', icon: null },
  'hl7-send': { kind: 'flow', icon: 'health-bridge-hl7-send.svg' },
  'health-outbox': { kind: 'flow', icon: 'health-bridge-outbox.svg' },
  'health-patient': { kind: 'flow', icon: 'health-bridge-patient.svg' },
  'health-metrics': { kind: 'flow', icon: 'health-bridge-metrics.svg' },
  'health-watch': { kind: 'flow', icon: 'health-bridge-watch.svg' },
  'health-redis': { kind: 'config', icon: null },
} as const satisfies Record<string, NodeTypeEntry>;

export type NodeType = keyof typeof NODE_TYPES;
/** The node types of one kind: `NodeTypeOf<'receiver'>` is 'lezhi-in' | 'sinocare-in' | …. */
export type NodeTypeOf<K extends NodeKind> = { [T in NodeType]: (typeof NODE_TYPES)[T]['kind'] extends K ? T : never }[NodeType];

export const NODE_TYPE_NAMES = Object.keys(NODE_TYPES) as NodeType[];

/** The files of one node type, relative to the package root. All share the type's name. */
export interface NodeFiles {
  /** The compiled node file: what package.json's `node-red.nodes` names. */
  runtime: string;
  source: string;
  /** The editor file (registerType, form); the build writes it into dist/nodes/. */
  editor: string;
  /** Help text per language (`<script type="text/html" data-help-name="<type>">`). */
  help: Record<Language, string>;
  /** Labels and messages per language (Node-RED's i18n catalog of the node file). */
  labels: Record<Language, string>;
  /** The palette icon; null for a config node. */
  icon: string | null;
}

const perLanguage = (file: (lang: Language) => string): Record<Language, string> =>
  Object.fromEntries(LANGUAGES.map((lang) => [lang, file(lang)])) as Record<Language, string>;

export function nodeFiles(type: NodeType): NodeFiles {
  const { icon } = NODE_TYPES[type] as NodeTypeEntry;
  return {
    runtime: `dist/nodes/${type}.js`,
    source: `src/nodes/${type}.ts`,
    editor: `src/nodes/${type}.html`,
    help: perLanguage((lang) => `src/nodes/locales/${lang}/${type}.html`),
    labels: perLanguage((lang) => `src/nodes/locales/${lang}/${type}.json`),
    icon: icon === null ? null : `src/nodes/icons/${icon}`,
  };
}

/** package.json's `node-red.nodes` as NODE_TYPES says it must be. */
export function nodeRedNodes(): Record<NodeType, string> {
  return Object.fromEntries(NODE_TYPE_NAMES.map((type) => [type, nodeFiles(type).runtime])) as Record<NodeType, string>;
}

export interface VendorRegistryEntry extends VendorEntry {
  /**
   * Its push protocol, as a receiver without settings uses it: what it accepts, what it answers.
   * The benchmark's expected answer comes from here, never from a copy; the receiver tests keep
   * the vendor document's own (test/harness/vendor-cases.ts), to check this one against.
   */
  protocol(): PushProtocol<any>;
}

/** Every push vendor, with what a receiver, the tests and the benchmark need of it. */
export const VENDOR_REGISTRY: Record<Vendor, VendorRegistryEntry> = {
  sinocare: { ...PUSH_VENDORS.sinocare, protocol: () => sinocareProtocol },
  lezhi: { ...PUSH_VENDORS.lezhi, protocol: () => lezhiProtocol },
  viatom: { ...PUSH_VENDORS.viatom, protocol: () => viatomProtocol },
  expeed: { ...PUSH_VENDORS.expeed, protocol: () => expeedProtocol() },
};

/** Every vendor's receiver, in the manifest's order. */
export const RECEIVER_TYPES: Array<NodeTypeOf<'receiver'>> = VENDORS.map((vendor) => VENDOR_REGISTRY[vendor].receiver);

export { VENDORS, vendorOfReceiver, type Vendor };

/**
 * The hospital formats (FORMATS in ./formats/index.ts, each naming its node type) are exactly the
 * node types of kind 'format' here: a format without its node type, or a node type of kind
 * 'format' without its module, does not compile.
 */
type Assert<T extends true> = T;
type NoneOf<Missing, Message extends string> = [Missing] extends [never] ? true : `${Message}: ${Missing & string}`;
export type FormatsHaveNodeTypes = Assert<NoneOf<Exclude<FormatNodeType, NodeTypeOf<'format'>>, "a format of FORMATS whose node type NODE_TYPES lacks (add it there with kind 'format')">>;
export type FormatNodeTypesHaveFormats = Assert<NoneOf<Exclude<NodeTypeOf<'format'>, FormatNodeType>, "a node type of kind 'format' with no module in FORMATS (src/lib/formats/index.ts)">>;
