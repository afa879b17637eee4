import { z } from 'zod';
import { blankIsDefault } from '../../zod-helpers';

/**
 * The properties of a `viatom-auth` node: which request it makes. Blank (a flow written by hand,
 * or saved before the property had a default) is the authorization page.
 */
export const VIATOM_AUTH_OPERATIONS = ['authorize-url', 'cancel'] as const;

export const viatomAuthOptionsSchema = z.object({
  operation: z.preprocess(blankIsDefault, z.enum(VIATOM_AUTH_OPERATIONS).default('authorize-url')),
});
export type ViatomAuthOptions = z.infer<typeof viatomAuthOptionsSchema>;
