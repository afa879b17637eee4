import { z } from 'zod';
import { RECEIVER_PATH, receiverConfigSchema } from '../receiver/config';
import { blankIsDefault } from '../zod-helpers';

/** What a health-metrics property is when it is blank or missing (the editor shows the same). */
export const METRICS_DEFAULTS = {
  path: '/metrics',
  allow: '',
  processMetrics: true,
} as const;

/** The receivers' own `allow` and `key`: the same parsing, the same messages. */
const receiverFields = receiverConfigSchema.in.shape;

/**
 * The health-metrics node's properties, as the editor saves them. The path follows the receivers'
 * rule (plain segments, no Express route syntax), and `allow` and the `key` credential mean what
 * they mean on a receiver.
 */
export const metricsPropertiesSchema = z
  .object({
    path: z
      .preprocess(blankIsDefault, z.string().default(METRICS_DEFAULTS.path))
      .pipe(z.string().trim().regex(RECEIVER_PATH, 'path must be letters, digits and - _ . ~ between slashes'))
      .transform((path) => (path.startsWith('/') ? path : `/${path}`)),
    allow: receiverFields.allow,
    // a checkbox: true or false as the editor saves it ("true"/"false" by hand), the default when blank
    processMetrics: z.preprocess(
      (value) => (blankIsDefault(value) === undefined ? METRICS_DEFAULTS.processMetrics : value === true || value === 'true'),
      z.boolean(),
    ),
    key: receiverFields.key,
  });

export type MetricsProperties = z.infer<typeof metricsPropertiesSchema>;
