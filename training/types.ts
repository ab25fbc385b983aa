import { z } from 'zod';
import { reviewRuleSchema } from '../capabilities/review-rule.js';
import { wellFormedString } from '../core/well-formed.js';

const capabilityName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'capability names are lower-case letters, digits, "_" and "-"');
const modelName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'model names are letters, digits, ".", "_" and "-"').max(100);
// Examples are stored (data sets, jobs): one well-formed-Unicode rule for every stored text.
const example = z.object({ text: wellFormedString().min(1), label: wellFormedString().min(1).max(200).optional() }).strict();

/**
 * Where a request's examples come from: inline, as CSV text (header `text,label`), or a stored
 * data set (`POST /datasets`). Exactly one.
 */
export const exampleSourceSchema = z.object({
  examples: z.array(example).min(1).optional(),
  csv: wellFormedString().min(1).optional(),
  dataset: z.string().min(1).optional(),
});
export type ExampleSource = z.infer<typeof exampleSourceSchema>;

/*
 * Bounds on what one model job may ask of its training thread. The issue that set them: 2^22
 * dimensions, n-grams up to 5 and 3,000 epochs over 80 examples held the serving thread for
 * 17.5 s. The thread's time and memory limits (MAX_TRAINING_SECONDS, MAX_TRAINING_MEMORY_MB)
 * catch what the bounds let through; the bounds refuse at once what could never be worth it.
 */

/** Most TF-IDF dimensions (2^18, the default): a weight row per class stays 2 MiB. */
export const MAX_TFIDF_DIMENSIONS = 2 ** 18;
/** Longest word n-gram. */
export const MAX_NGRAM = 3;
/** Most epochs × examples of one training request: each is one sparse gradient step (or one example of a full-batch pass). */
export const MAX_TRAINING_STEPS = 5_000_000;

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
      /** Hashed feature space size, a power of two from 256 to {@link MAX_TFIDF_DIMENSIONS}. @default 262144 */
      dimensions: z
        .number()
        .int()
        .min(2 ** 8)
        .max(MAX_TFIDF_DIMENSIONS)
        .refine((n) => (n & (n - 1)) === 0, 'a power of two')
        .default(2 ** 18),
      /** Word n-gram lengths, smallest and largest, each from 1 to {@link MAX_NGRAM}. @default [1, 2] */
      ngrams: z
        .tuple([z.number().int().min(1).max(MAX_NGRAM), z.number().int().min(1).max(MAX_NGRAM)])
        .refine(([min, max]) => min <= max, 'the smallest n-gram length comes first')
        .default([1, 2]),
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
    tags: z.array(wellFormedString().min(1).max(100)).max(20).default([]),
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
