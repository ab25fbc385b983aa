import { z } from 'zod';

/**
 * When a capability's result also goes to human review (it is answered as usual either way).
 * Any condition that holds sends it.
 */
export const reviewRuleSchema = z
  .object({
    /** The top label's score is below this. */
    confidenceBelow: z.number().min(0).max(1).optional(),
    /** The top label is one of these. */
    labels: z.array(z.string().min(1)).min(1).optional(),
    /** The result says an alert fired (`triggered: true`, as `alert-rules` answers, or a non-empty `alerts` list). */
    whenFired: z.boolean().optional(),
  })
  .strict()
  .refine((rule) => rule.confidenceBelow !== undefined || rule.labels !== undefined || rule.whenFired === true, 'give at least one condition');
export type ReviewRule = z.infer<typeof reviewRuleSchema>;
