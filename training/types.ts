import { z } from 'zod';
import { reviewRuleSchema } from '../capabilities/review-rule.js';

const capabilityName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'capability names are lower-case letters, digits, "_" and "-"');
const modelName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'model names are letters, digits, ".", "_" and "-"').max(100);
const example = z.object({ text: z.string().min(1), label: z.string().min(1).max(200).optional() }).strict();

/**
 * Where a request's examples come from: inline, as CSV text (header `text,label`), or a stored
 * data set (`POST /datasets`). Exactly one.
 */
export const exampleSourceSchema = z.object({
  examples: z.array(example).min(1).optional(),
  csv: z.string().min(1).optional(),
  dataset: z.string().min(1).optional(),
});
export type ExampleSource = z.infer<typeof exampleSourceSchema>;

/** How texts become feature vectors. */
export const featuresSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('embedding'),
      /** The embedding capability whose vectors are the features. @default "embedding" */
      capability: capabilityName.default('embedding'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('tfidf'),
      /** Hashed feature space size, a power of two. @default 262144 */
      dimensions: z
        .number()
        .int()
        .min(2 ** 8)
        .max(2 ** 22)
        .refine((n) => (n & (n - 1)) === 0, 'a power of two')
        .default(2 ** 18),
      /** Word n-gram lengths, smallest and largest. @default [1, 2] */
      ngrams: z.tuple([z.number().int().min(1).max(3), z.number().int().min(1).max(5)]).default([1, 2]),
    })
    .strict(),
]);
export type FeaturesRecipe = z.infer<typeof featuresSchema>;

export const classifierRecipeSchema = z
  .object({
    algorithm: z.enum(['logistic-regression', 'linear-svm']).default('logistic-regression'),
    /** Inverse regularisation strength (larger fits the training set more closely). @default 1 */
    c: z.number().positive().max(1e6).default(1),
    /** Passes over the training set. @default 30 */
    epochs: z.number().int().min(1).max(10_000).default(30),
  })
  .strict();

export const trainRequestSchema = exampleSourceSchema
  .extend({
    /** The repository model to add a version to (created if new). */
    model: modelName,
    features: featuresSchema.default({ kind: 'embedding', capability: 'embedding' }),
    classifier: classifierRecipeSchema.default({ algorithm: 'logistic-regression', c: 1, epochs: 30 }),
    /** Share of each class held out for evaluation. @default 0.2 */
    testFraction: z.number().min(0.05).max(0.5).default(0.2),
    /** Seeds the split and the optimiser, so the same request trains the same model. @default 1 */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    /** Make the new version the model's default. @default true */
    setDefault: z.boolean().default(true),
    tags: z.array(z.string().min(1).max(100)).max(20).default([]),
    /**
     * Serve the model as a capability of this name (kind `trained-classifier`, version
     * "default"), kept in the store and loaded after every restart and reload.
     */
    register: z
      .object({
        capability: capabilityName,
        review: reviewRuleSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type TrainRequest = z.infer<typeof trainRequestSchema>;

const versionSchema = z.union([z.number().int().min(1), z.literal('default')]).default('default');

export const evaluateRequestSchema = exampleSourceSchema.extend({ model: modelName, version: versionSchema }).strict();
export type EvaluateRequest = z.infer<typeof evaluateRequestSchema>;

export const predictRequestSchema = exampleSourceSchema.extend({ model: modelName, version: versionSchema }).strict();
export type PredictRequest = z.infer<typeof predictRequestSchema>;
