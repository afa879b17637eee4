import { z } from 'zod';
import { blankIsDefault, numberProperty, textProperty } from '../../zod-helpers';
import { VIATOM_DEFAULT_HOST, VIATOM_LANGUAGES, type ViatomClient } from './client';

/** The properties of a `viatom-account` config node (docs/nodes/viatom-account.md), and what it offers other nodes. */

export const viatomAccountSchema = z
  .object({
    host: textProperty(VIATOM_DEFAULT_HOST).refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'host must be an http(s) URL'),
    language: z.preprocess(blankIsDefault, z.enum(VIATOM_LANGUAGES).default('zh-CN')),
    timeout: numberProperty(10).pipe(z.number().positive('timeout must be above 0')),
  })
  .transform((config) => ({
    host: config.host.replace(/\/+$/, ''),
    language: config.language,
    timeoutMs: config.timeout * 1000,
  }));
export type ViatomAccountSettings = z.infer<typeof viatomAccountSchema>;

/** What a `viatom-account` config node offers the nodes that use it. */
export interface ViatomAccountHandle {
  /** A client with the account's current settings, or why there is none (invalid properties). */
  viatomClient(): ViatomClient | Error;
}
