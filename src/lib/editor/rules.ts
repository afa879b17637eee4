import { z } from 'zod';

/**
 * What the node editor checks of one property, read off the runtime's zod schema of that property
 * so that the editor refuses what the runtime refuses and nothing else. The build writes one rule
 * per property into each editor file (scripts/build-assets.mjs) and resources/editor-rules.js
 * evaluates it in the browser; test/unit/editor-rules.test.ts runs both over generated values.
 *
 * A rule speaks of values as Node-RED's editor stores them: text from inputs (numbers too), "" for
 * an empty field, a boolean from a checkbox, and anything at all in a flow written by hand.
 */
export interface EditorRule {
  /**
   * text: a string; number: anything Number() reads; choice: one of `values`; flag: a checkbox;
   * table: the rows of an editable list (an array), each row checked by the named `check`
   */
  kind: 'text' | 'number' | 'choice' | 'flag' | 'table';
  /** Whether the runtime takes "", text of spaces only, and a missing property (its default). */
  empty: boolean;
  spaces: boolean;
  missing: boolean;
  /** choice: the members; number: the only numbers allowed (a union of literals) */
  values?: (string | number)[];
  int?: true;
  min?: number;
  minExclusive?: true;
  max?: number;
  maxExclusive?: true;
  /** text: compared after trimming */
  trim?: true;
  minLength?: number;
  maxLength?: number;
  /** regular expressions (source, flags) the text must match */
  patterns?: [string, string][];
  /** A check no rule above can say, named: resources/editor-rules.js holds one function for each. */
  check?: string;
}

/** What a node's build entry may add to a rule: the rules zod cannot carry. */
export interface EditorRuleExtra {
  /** The named check that stands for a refinement or a transform that can refuse. */
  check?: string;
}

type Walked = Partial<EditorRule> & { found: { value?: unknown } };

type Def = {
  type: string;
  in?: z.ZodType;
  out?: z.ZodType;
  innerType?: z.ZodType;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  options?: z.ZodType[];
  coerce?: boolean;
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Whether a zod "overwrite" check (.trim(), .toLowerCase() …) is a trim: the only one the rules know. */
const isTrim = (tx: unknown): boolean => typeof tx === 'function' && tx('  a  ') === 'a';

/**
 * Walks one property's schema. Preprocessing functions are not read (only the values they let
 * through, which `empty`/`spaces`/`missing` take from the whole schema); a refinement or a
 * transform that may refuse must be named by `extra.check`, else the build stops.
 */
function walk(schema: z.ZodType, rule: Walked, where: string, unnamed: string[]): void {
  const def = defOf(schema);
  switch (def.type) {
    case 'pipe':
      // z.preprocess(fn, s) is pipe(transform, s); .transform(fn) is pipe(s, transform)
      if (defOf(def.in!).type !== 'transform') walk(def.in!, rule, where, unnamed);
      if (defOf(def.out!).type !== 'transform') walk(def.out!, rule, where, unnamed);
      return;
    case 'default':
      if (!('value' in rule.found)) rule.found.value = (def as unknown as { defaultValue: unknown }).defaultValue;
      walk(def.innerType!, rule, where, unnamed);
      return;
    case 'optional':
    case 'prefault':
    case 'nullable':
      walk(def.innerType!, rule, where, unnamed);
      return;
    case 'string':
      rule.kind ??= 'text';
      break;
    case 'number':
      rule.kind = 'number';
      break;
    case 'boolean':
      rule.kind = 'flag';
      break;
    case 'enum':
      rule.kind = 'choice';
      rule.values = Object.values(def.entries!);
      break;
    case 'union': {
      const literals = def.options!.map((option) => defOf(option));
      if (!literals.every((option) => option.type === 'literal')) throw new Error(`${where}: a union the editor rules cannot say`);
      rule.values = literals.flatMap((option) => option.values as (string | number)[]);
      rule.kind ??= typeof rule.values[0] === 'number' ? 'number' : 'choice';
      break;
    }
    default:
      throw new Error(`${where}: a zod ${def.type} the editor rules cannot say`);
  }
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'overwrite' && isTrim(c.tx)) rule.trim = true;
    else if (c.check === 'min_length') rule.minLength = Math.max(rule.minLength ?? 0, c.minimum as number);
    else if (c.check === 'max_length') rule.maxLength = Math.min(rule.maxLength ?? Infinity, c.maximum as number);
    else if (c.check === 'string_format' && c.format === 'regex') {
      const pattern = c.pattern as RegExp;
      (rule.patterns ??= []).push([pattern.source, pattern.flags]);
    } else if (c.check === 'number_format') rule.int = true;
    else if (c.check === 'greater_than') {
      const value = c.value as number;
      if (rule.min === undefined || value > rule.min || (value === rule.min && !c.inclusive)) {
        rule.min = value;
        if (c.inclusive) delete rule.minExclusive;
        else rule.minExclusive = true;
      }
    } else if (c.check === 'less_than') {
      const value = c.value as number;
      if (rule.max === undefined || value < rule.max || (value === rule.max && !c.inclusive)) {
        rule.max = value;
        if (c.inclusive) delete rule.maxExclusive;
        else rule.maxExclusive = true;
      }
    } else unnamed.push(String(c.check));
  }
}

/** A property as the editor declares it: the value a new node starts with, and its rule. */
export interface EditorProperty {
  value: string | number | boolean;
  rule: EditorRule;
}

/**
 * One property: `schema` is its entry in the node's object schema. The value of a new node is the
 * runtime's default (what a blank property means), else "" (false for a checkbox).
 */
export function editorProperty(schema: z.ZodType, where: string, extra: EditorRuleExtra = {}): EditorProperty {
  const unnamed: string[] = [];
  const walked: Walked = { found: {} };
  walk(schema, walked, where, unnamed);
  if (unnamed.length && !extra.check) {
    throw new Error(`${where}: a ${unnamed.join(', ')} check the editor cannot read; name it (a check of resources/editor-rules.js)`);
  }
  const { found, ...rule } = walked;
  const accepts = (value: unknown): boolean => schema.safeParse(value).success;
  const missing = schema.safeParse(undefined);
  const fallback = 'value' in found ? found.value : missing.success ? missing.data : undefined;
  const value = ['string', 'number', 'boolean'].includes(typeof fallback) ? (fallback as string | number | boolean) : rule.kind === 'flag' ? false : '';
  return {
    value,
    rule: {
      kind: rule.kind!,
      empty: accepts(''),
      spaces: accepts('  '),
      missing: missing.success,
      ...rule,
      ...(extra.check ? { check: extra.check } : {}),
    },
  };
}

/** The entries of a node's object schema, through a transform or a refinement around it. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  const def = defOf(schema);
  if (def.type === 'object') return (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  if (def.type === 'pipe') return shapeOf(def.in!);
  throw new Error(`not an object schema: ${def.type}`);
}
