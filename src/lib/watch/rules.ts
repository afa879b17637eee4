import { z } from 'zod';
import { blankIsDefault, numberProperty } from '../zod-helpers';

/**
 * health-watch's rules and properties. A rule table row is `{name, kind, value, below, above,
 * severity}`: rows with the same name are one rule, which fires when any of its rows does. A row
 * fires when the reading's `values[value]` (in the unit of ./units.ts) is below `below` (strict)
 * or at or above `above` (inclusive). The defaults and where each threshold comes from are listed
 * in docs/nodes/health-watch.md; test/unit/watch.test.ts keeps the two equal.
 */

export const SEVERITIES = ['info', 'warning', 'urgent'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The rule a device's silence fires: no row of the table may take its name. */
export const SILENT_RULE = 'silent';
export const SILENT_SEVERITY: Severity = 'warning';

/** A threshold cell: a number (text from the editor too), or none when blank. */
const threshold = z.preprocess(
  (value) => blankIsDefault(typeof value === 'string' && value.trim() === '' ? '' : value),
  z.coerce.number().finite().optional(),
);

const cell = z.preprocess((value) => (value === null || value === undefined ? '' : value), z.string().trim());

export const ruleRowSchema = z
  .object({
    name: cell.pipe(z.string().min(1, 'a rule needs a name').max(64).regex(/^[\w.-]+$/, 'letters, digits and - _ . only')),
    kind: cell.pipe(z.string().min(1, 'a kind such as glucose')),
    value: cell.pipe(z.string().min(1, 'a value name such as glucose')),
    below: threshold,
    above: threshold,
    severity: z.preprocess((value) => blankIsDefault(value) ?? 'warning', z.enum(SEVERITIES)),
  })
  .refine((row) => row.below !== undefined || row.above !== undefined, { message: 'below or above (or both)' })
  .refine((row) => row.name !== SILENT_RULE, { message: `"${SILENT_RULE}" is the rule of a device's silence` });

export type RuleRow = z.infer<typeof ruleRowSchema>;

/** The default rules (docs/nodes/health-watch.md gives the source of each threshold). */
export const DEFAULT_RULES: readonly RuleRow[] = [
  { name: 'glucose-urgent-low', kind: 'glucose', value: 'glucose', below: 3.0, severity: 'urgent' },
  { name: 'glucose-low', kind: 'glucose', value: 'glucose', below: 3.9, severity: 'warning' },
  { name: 'glucose-high', kind: 'glucose', value: 'glucose', above: 13.9, severity: 'warning' },
  { name: 'spo2-low', kind: 'spo2', value: 'spo2', below: 92, severity: 'warning' },
  { name: 'bp-high', kind: 'blood_pressure', value: 'systolic', above: 180, severity: 'urgent' },
  { name: 'bp-high', kind: 'blood_pressure', value: 'diastolic', above: 110, severity: 'urgent' },
  { name: 'fever', kind: 'temperature', value: 'temperature', above: 38.0, severity: 'warning' },
];

/** What a property is when it is blank or missing (the editor shows the same). */
export const WATCH_DEFAULTS = {
  margin: 2,
  silenceMinutes: 15,
  forgetHours: 24,
  repeatMinutes: 0,
} as const;

const positive = (fallback: number) => numberProperty(fallback).pipe(z.number().positive());
const nonNegative = (fallback: number) => numberProperty(fallback).pipe(z.number().min(0));

/** The properties the editor shows as fields (the rule table is its own list). */
export const watchFieldsSchema = z.object({
  /** % of a threshold a value must be back past before a firing rule resolves */
  margin: nonNegative(WATCH_DEFAULTS.margin).pipe(z.number().max(50)),
  silenceMinutes: positive(WATCH_DEFAULTS.silenceMinutes),
  forgetHours: positive(WATCH_DEFAULTS.forgetHours),
  repeatMinutes: nonNegative(WATCH_DEFAULTS.repeatMinutes),
  state: z.preprocess((value) => (value === null || value === undefined ? '' : value), z.string().trim()),
});

/** The rule table as saved: missing means the defaults (a flow written by hand); [] means none. */
export const rulesSchema = z.preprocess(
  (value) => (value === undefined || value === null || value === '' ? DEFAULT_RULES.map((row) => ({ ...row })) : value),
  z.array(ruleRowSchema).max(200),
);

export const watchPropertiesSchema = watchFieldsSchema.extend({ rules: rulesSchema });
export type WatchProperties = z.infer<typeof watchPropertiesSchema>;

/** One row as the engine reads it. */
export interface CompiledRow {
  value: string;
  below?: number;
  above?: number;
}

/** One rule (its rows of one kind), in the table's order. */
export interface CompiledRule {
  name: string;
  severity: Severity;
  /** index of the rule among all rules, for compact episode records */
  index: number;
  rows: CompiledRow[];
}

export interface CompiledRules {
  /** every rule name in the table's order, each once */
  names: string[];
  severities: Severity[];
  /** the rules that read a kind, each with its rows of that kind */
  byKind: Map<string, CompiledRule[]>;
}

/**
 * Groups rows into rules. A rule's severity is its first row's (rows of one name that disagree are
 * one rule all the same: the first says how urgent it is).
 */
export function compileRules(rows: readonly RuleRow[]): CompiledRules {
  const names: string[] = [];
  const severities: Severity[] = [];
  const byKind = new Map<string, CompiledRule[]>();
  for (const row of rows) {
    let index = names.indexOf(row.name);
    if (index === -1) {
      index = names.push(row.name) - 1;
      severities.push(row.severity);
    }
    const rules = byKind.get(row.kind) ?? [];
    byKind.set(row.kind, rules);
    let rule = rules.find((found) => found.index === index);
    if (!rule) {
      rule = { name: row.name, severity: severities[index]!, index, rows: [] };
      rules.push(rule);
    }
    rule.rows.push({ value: row.value, ...(row.below !== undefined && { below: row.below }), ...(row.above !== undefined && { above: row.above }) });
  }
  for (const rules of byKind.values()) rules.sort((a, b) => a.index - b.index);
  return { names, severities, byKind };
}
