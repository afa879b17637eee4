import type { z } from 'zod';
import { fhirNodeOptions } from '../formats/fhir/options';
import { hl7NodeOptions } from '../formats/hl7v2/options';
import { mllpPropertiesSchema } from '../formats/hl7v2/properties';
import { metricsPropertiesSchema } from '../metrics/properties';
import { outboxPropertiesSchema } from '../outbox/properties';
import { patientPropertiesSchema } from '../patients/properties';
import { receiverConfigSchema } from '../receiver/config';
import { redisPropertiesSchema } from '../redis/properties';
import type { NodeType } from '../registry';
import { accountConfigSchema, queryConfigSchema, setConfigSchema } from '../vendors/expeed/config';
import { viatomAccountSchema } from '../vendors/viatom/account';
import { viatomAuthOptionsSchema } from '../vendors/viatom/auth-options';
import { rulesSchema, watchFieldsSchema } from '../watch/rules';
import { editorProperty, shapeOf, type EditorRule } from './rules';

/**
 * Each node's options schema, as the build writes its editor defaults from it, with what a zod
 * schema cannot say: the named check standing for a refinement, the text shown for a refused
 * value, which properties take a ${ENV} reference, and the credentials (declared apart by the
 * editor file). Every node type has an entry, those with no options of their own too (a name and
 * at most a config node): the editor's whole `defaults` object comes from here.
 */

/** i18n key of the text the editor shows for a refused value; a param {t: key} is translated too. */
export type EditorMessage = string | { key: string; params: Record<string, string | { t: string }> };

export interface EditorOptions {
  /** none for a node whose only properties are its name and a config node */
  schema?: z.ZodType;
  /** config nodes it uses: property → config node type (required) */
  configs?: Readonly<Record<string, string>>;
  /** config nodes it may use: property → config node type (blank: none) */
  optionalConfigs?: Readonly<Record<string, string>>;
  /** a config node: its inputs are node-config-input-<property> */
  config?: true;
  /** the property that holds the configuration version: `version`, unless that name is taken */
  versionProperty?: string;
  credentials?: readonly string[];
  checks?: Readonly<Record<string, string>>;
  messages?: Readonly<Record<string, EditorMessage>>;
  /** properties where ${NAME} is accepted as it is: Node-RED fills it in when the flow starts */
  env?: readonly string[];
  /** a number that must not be below another property's (read from the open dialog) */
  notBelow?: Readonly<Record<string, string>>;
  /**
   * Where the editor asks more than the runtime, and why: the test leaves these values out. Kept
   * from the hand-written editors, whose users are used to the mark on the field.
   */
  required?: Readonly<Record<string, string>>;
  /**
   * Properties edited as a table of rows (an editableList) rather than a field: the schema of the
   * whole table (its default is the editor's) and the named check of resources/editor-rules.js
   * that stands for the row schema.
   */
  tables?: Readonly<Record<string, { schema: z.ZodType; check: string }>>;
}

const receiver = {
  schema: receiverConfigSchema,
  // blank: this instance's own dedup (memory or a context store), as before
  optionalConfigs: { state: 'health-redis' },
  credentials: ['key', 'piiKey'],
  checks: { allow: 'allowList', tz: 'timeZone' },
  messages: {
    path: 'health-bridge-receiver.validation.path',
    ackTimeout: 'health-bridge-receiver.validation.positive',
    maxBytes: 'health-bridge-receiver.validation.positive-integer',
    dedupHours: 'health-bridge-receiver.validation.non-negative',
    allow: 'health-bridge-receiver.validation.allow',
    tz: 'health-bridge-receiver.validation.tz',
  },
} as const satisfies EditorOptions;

/** expeed-query and expeed-set: the account, and the device (its id, its key a credential). */
const expeedDevice = { configs: { account: 'expeed-account' }, credentials: ['deviceKey'], env: ['deviceId'] } as const;

const outboxMessage = (property: string, rule: string): EditorMessage => ({
  key: 'health-outbox.errors.invalid',
  params: { property, rule: { t: `health-outbox.rule.${rule}` } },
});

// Record<NodeType, …>: a node type added to the registry (src/lib/registry.ts) without an entry here does not compile.
export const EDITOR_OPTIONS: Readonly<Record<NodeType, EditorOptions>> = {
  'lezhi-in': receiver,
  'sinocare-in': receiver,
  'viatom-in': receiver,
  'expeed-in': { ...receiver, configs: { account: 'expeed-account' } },
  'expeed-token': { configs: { account: 'expeed-account' } },
  'health-ack': {},
  'hl7-send': { configs: { connection: 'hl7-mllp' } },
  'expeed-account': {
    config: true,
    schema: accountConfigSchema,
    // blank: the token and its count in this instance's user directory, as before
    optionalConfigs: { state: 'health-redis' },
    credentials: ['secretKey', 'handshakeToken'],
    checks: { apiBase: 'httpBase', tz: 'timeZone' },
    messages: {
      apiBase: 'expeed-account.validation.apiBase',
      dailyTokenCap: 'expeed-account.validation.cap',
      tz: 'expeed-account.validation.tz',
    },
    env: ['apiBase', 'platformKey'],
    required: { platformKey: 'every call to the platform needs it; the runtime finds out only at the first call' },
  },
  'expeed-query': { ...expeedDevice, schema: queryConfigSchema, messages: { limit: 'expeed-query.validation.limit' } },
  'expeed-set': { ...expeedDevice, schema: setConfigSchema, messages: { waitSeconds: 'expeed-set.validation.waitSeconds' } },
  'viatom-account': {
    config: true,
    schema: viatomAccountSchema,
    checks: { host: 'httpUrl' },
    messages: { host: 'viatom-account.validation.host', timeout: 'viatom-account.validation.timeout' },
    env: ['host'],
  },
  'viatom-auth': { schema: viatomAuthOptionsSchema, configs: { account: 'viatom-account' } },
  'hl7-mllp': {
    config: true,
    schema: mllpPropertiesSchema,
    messages: { host: 'hl7-mllp.validation.host', port: 'hl7-mllp.validation.port', timeout: 'hl7-mllp.validation.timeout' },
    env: ['host', 'port'],
  },
  'health-outbox': {
    schema: outboxPropertiesSchema,
    // blank: the queue in this instance's own directory, as before
    optionalConfigs: { state: 'health-redis' },
    messages: {
      maxAgeHours: outboxMessage('maxAgeHours', 'positive'),
      retryMinSeconds: outboxMessage('retryMinSeconds', 'positive'),
      retryMaxSeconds: outboxMessage('retryMaxSeconds', 'not-below-min'),
      concurrency: outboxMessage('concurrency', 'positive-integer'),
      ackTimeout: outboxMessage('ackTimeout', 'positive'),
      keepDeadLettersDays: outboxMessage('keepDeadLettersDays', 'not-negative'),
    },
    notBelow: { retryMaxSeconds: 'retryMinSeconds' },
  },
  // `state`: a config-node select (blank: the run-time rows in this instance's user directory)
  'health-patient': { schema: patientPropertiesSchema.omit({ state: true }), optionalConfigs: { state: 'health-redis' } },
  'health-metrics': {
    schema: metricsPropertiesSchema,
    credentials: ['key'],
    checks: { allow: 'allowList' },
    messages: { path: 'health-metrics.validation.path', allow: 'health-metrics.validation.allow' },
  },
  'health-watch': {
    // `state` is a config-node select (blank: this instance alone), not a text field
    schema: watchFieldsSchema.omit({ state: true }),
    optionalConfigs: { state: 'health-redis' },
    tables: { rules: { schema: rulesSchema, check: 'watchRules' } },
    messages: { rules: 'health-watch.validation.rules', margin: 'health-watch.validation.margin', silenceMinutes: 'health-watch.validation.positive', forgetHours: 'health-watch.validation.positive', repeatMinutes: 'health-watch.validation.non-negative' },
  },
  'health-redis': {
    config: true,
    schema: redisPropertiesSchema,
    credentials: ['username', 'password'],
    messages: { url: 'health-redis.validation.url', sentinels: 'health-redis.validation.sentinels', sentinelName: 'health-redis.validation.sentinelName' },
    env: ['url', 'ca', 'sentinels', 'sentinelName'],
  },
  'health-fhir': { schema: fhirNodeOptions },
  'health-hl7': { schema: hl7NodeOptions, versionProperty: 'configVersion' },
};

/** A property as the editor file declares it, with everything its validator needs. */
export interface EditorDefault {
  value: string | number | boolean | readonly unknown[];
  required?: true;
  rule: EditorRule & { message?: EditorMessage; env?: true; notBelow?: { property: string; ownDefault: unknown; otherDefault: unknown } };
}

/** The editor defaults of one node type, in the schema's order (credentials left out). */
export function editorDefaults(type: string): Record<string, EditorDefault> {
  const options = EDITOR_OPTIONS[type as NodeType] as EditorOptions | undefined;
  if (!options) throw new Error(`${type}: no entry in EDITOR_OPTIONS (src/lib/editor/nodes.ts)`);
  const result: Record<string, EditorDefault> = {};
  if (!options.schema) return result;
  for (const [name, schema] of Object.entries(shapeOf(options.schema))) {
    if (options.credentials?.includes(name)) continue;
    const check = options.checks?.[name];
    const { value, rule } = editorProperty(schema, `${type}.${name}`, check ? { check } : {});
    const message = options.messages?.[name];
    const notBelow = options.notBelow?.[name];
    result[name] = {
      value,
      // Node-RED marks a required field that is "" before it runs the validator
      ...(!rule.empty || options.required?.[name] ? { required: true as const } : {}),
      rule: {
        ...rule,
        ...(message ? { message } : {}),
        ...(options.env?.includes(name) ? { env: true as const } : {}),
        ...(notBelow ? { notBelow: { property: notBelow, ownDefault: value, otherDefault: editorProperty(shapeOf(options.schema)[notBelow]!, notBelow).value } } : {}),
      },
    };
  }
  for (const [name, table] of Object.entries(options.tables ?? {})) {
    result[name] = {
      value: table.schema.parse(undefined) as unknown[],
      rule: { kind: 'table', empty: false, spaces: false, missing: true, check: table.check, ...(options.messages?.[name] ? { message: options.messages[name] } : {}) },
    };
  }
  return result;
}
