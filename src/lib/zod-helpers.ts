import { z } from 'zod';

/**
 * What every schema here needs from zod and writes the same way: node properties as the editor
 * saves them (numbers as text, "" for the default), vendor bodies parsed in parts, and issues told
 * without the values.
 */

/**
 * "" or null means the default: the editor saves an empty field as "", and a flow written by hand
 * or saved by an older version may have null or nothing at all.
 */
export const blankIsDefault = (value: unknown): unknown =>
  value === '' || value === null || value === undefined ? undefined : value;

/**
 * A number property: a number or text holding one, `fallback` when blank. Text of spaces is blank
 * too, as the editor's validators read it: coerced, it would be the number 0.
 */
export const numberProperty = (fallback: number) =>
  z.preprocess(
    (value) => blankIsDefault(typeof value === 'string' && value.trim() === '' ? '' : value),
    z.coerce.number().finite().default(fallback),
  );

/** A text property, trimmed, `fallback` when blank. */
export const textProperty = (fallback: string) => z.preprocess(blankIsDefault, z.string().trim().default(fallback));

/**
 * For a body parsed in parts (an envelope, then the schema its type names): copies the issues of
 * the nested parse onto the outer context. The nested schema reads the whole body, so the issues'
 * paths are from the body root (`data.measure_result.sbp.value`).
 */
export function forwardIssues(ctx: z.RefinementCtx, error: z.ZodError): never {
  for (const issue of error.issues) ctx.addIssue({ ...issue });
  return z.NEVER as never;
}

/** A zod error as short text naming fields and rules, never the values (they may be PII). */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : 'body';
    if (issue.code === 'invalid_type') return `${where}: expected ${issue.expected}`;
    if (issue.code === 'custom' || issue.code === 'too_small' || issue.code === 'too_big') {
      return `${where}: ${issue.message}`;
    }
    return `${where}: ${issue.code.replace(/_/g, ' ')}`;
  });
  const more = error.issues.length - limit;
  return parts.join('; ') + (more > 0 ? ` (+${more} more)` : '');
}
