import { z } from 'zod';
import { modelSpecSchema } from '../models/types.js';
import { speechSpecSchema } from '../models/speech/speech-spec.js';
import { entityTypes } from './builtin/entity-rules.js';
import { reviewRuleSchema } from './review-rule.js';

const name = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'capability names are lower-case letters, digits, "_" and "-"');
const base = {
  name,
  /** Capabilities whose results this one reads. */
  dependsOn: z.array(name).default([]),
  /** Send some results to human review as well (see docs/training-and-review.md, "Human review"). */
  review: reviewRuleSchema.optional(),
};

/** Runs an embedding model and returns its vector. */
const embedding = z.object({ ...base, kind: z.literal('embedding'), model: z.string() }).strict();

/** Runs a classification model and returns `{ label, score, scores }`. */
const classifier = z.object({ ...base, kind: z.literal('classifier'), model: z.string() }).strict();

/** Logistic regression on a dependency's embeddings, fitted at start-up from labelled examples. */
const sentimentHead = z
  .object({
    ...base,
    kind: z.literal('embedding-classifier'),
    params: z
      .object({
        /** JSON file of `{ "text", "label" }` objects, relative to the configuration file. */
        examples: z.string(),
        /** The embedding capability to read vectors from. @default the first dependency */
        embeddingFrom: name.optional(),
        /** Gradient-descent epochs of the fit. @default 1500 */
        epochs: z.number().int().min(1).max(100_000).default(1500),
        /** L2 regularisation strength. @default 0.0001 */
        l2: z.number().min(0).default(0.0001),
      })
      .strict(),
  })
  .strict();

/** A classifier trained by `POST /train`, read from the model repository (verified against its SHA-256). */
const trainedClassifier = z
  .object({
    ...base,
    kind: z.literal('trained-classifier'),
    params: z
      .object({
        /** The repository model. */
        model: z.string().min(1),
        /** A version number, or "default" for the model's default version. @default "default" */
        version: z.union([z.number().int().min(1), z.literal('default')]).default('default'),
      })
      .strict(),
  })
  .strict();

/** Zero-shot labels by cosine similarity to embedded label descriptions. */
const zeroShotTopics = z
  .object({
    ...base,
    kind: z.literal('zero-shot-topics'),
    params: z
      .object({
        embeddingFrom: name.optional(),
        /** Label name to a sentence describing it. */
        labels: z.record(z.string(), z.string().min(1)).refine((r) => Object.keys(r).length >= 2, 'give at least two labels'),
        /** Labels returned per text. @default 3 */
        topK: z.number().int().min(1).default(3),
        /** Softmax temperature over similarities. @default 0.05 */
        temperature: z.number().positive().default(0.05),
      })
      .strict(),
  })
  .strict();

/** Rules over the text and a sentiment-like dependency. */
const alertRules = z
  .object({
    ...base,
    kind: z.literal('alert-rules'),
    params: z
      .object({
        sentimentFrom: name.optional(),
        /** Fires when this label's probability reaches `threshold`. */
        negativeLabel: z.string().default('negative'),
        /** @default 0.8 */
        threshold: z.number().min(0).max(1).default(0.8),
        /** Words or phrases that fire an alert, matched case-insensitively on word boundaries. */
        keywords: z
          .array(z.object({ term: z.string().min(1), severity: z.enum(['low', 'medium', 'high']).default('medium') }).strict())
          .default([]),
      })
      .strict(),
  })
  .strict();

/** Nearest catalogue items in topic space, weighted by sentiment tone. */
const catalogueRecommendations = z
  .object({
    ...base,
    kind: z.literal('catalogue-recommendations'),
    params: z
      .object({
        topicsFrom: name.optional(),
        sentimentFrom: name.optional(),
        /** Items returned per text. @default 3 */
        topK: z.number().int().min(1).default(3),
        items: z
          .array(
            z
              .object({
                id: z.string().min(1),
                title: z.string().min(1),
                /** Topic label to weight. */
                topics: z.record(z.string(), z.number().min(0)),
                /** Sentiment label this item suits; "any" for all. @default "any" */
                tone: z.string().default('any'),
              })
              .strict(),
          )
          .min(1),
      })
      .strict(),
  })
  .strict();

/** Language identification with eld (ISO 639-3 codes; see docs/models.md). */
const languageId = z
  .object({
    ...base,
    kind: z.literal('language-id'),
    params: z
      .object({
        /** Texts with fewer letters and digits are "und" (undetermined). @default 10 */
        minLength: z.number().int().min(1).default(10),
        /** Answers whose lead over the runner-up (0 to 1) is smaller are "und". @default 0 */
        minConfidence: z.number().min(0).max(1).default(0),
        /** Restrict the answer to these ISO 639-3 codes. @default all */
        only: z.array(z.string().length(3)).optional(),
      })
      .strict()
      .default({ minLength: 10, minConfidence: 0 }),
  })
  .strict();

/** Rule-based spans: emails, URLs, phones, dates and times, money, percentages, hashtags, mentions. */
const entities = z
  .object({
    ...base,
    kind: z.literal('entities'),
    params: z
      .object({
        /** The span types to look for. @default every type */
        types: z.array(z.enum(entityTypes)).min(1).default([...entityTypes]),
        /** Spans returned per text at most; the first ones are kept and `truncated` is set. @default 500 */
        maxEntities: z.number().int().min(1).max(10_000).default(500),
      })
      .strict()
      .default({ types: [...entityTypes], maxEntities: 500 }),
  })
  .strict();

/** The default `lambda` of a summary: see docs/models.md#summary for how it was chosen. */
export const SUMMARY_LAMBDA = 0.6;

/** Extractive summary: central sentences by LexRank over their embeddings, picked for coverage by maximal marginal relevance, in document order. */
const summary = z
  .object({
    ...base,
    kind: z.literal('summary'),
    params: z
      .object({
        /** The embedding capability that embeds the sentences. @default the first dependency */
        embeddingFrom: name.optional(),
        /** Sentences returned per text at most. @default 3 */
        maxSentences: z.number().int().min(1).max(100).default(3),
        /** Characters returned per text at most, summed over the chosen sentences. @default no limit */
        maxCharacters: z.number().int().min(1).optional(),
        /**
         * Maximal marginal relevance: each next sentence is the best of the most central ones by
         * `lambda · centrality − (1 − lambda) · its highest cosine to a sentence already chosen`;
         * 1 is centrality alone, lower values trade centrality for coverage. @default 0.6
         */
        lambda: z.number().min(0).max(1).default(SUMMARY_LAMBDA),
      })
      .strict()
      .default({ maxSentences: 3, lambda: SUMMARY_LAMBDA }),
  })
  .strict();

/** Characters, words and estimated tokens of each text; no model. */
const textStats = z.object({ ...base, kind: z.literal('text-stats') }).strict();

/** Chaos testing: markers in the texts make a batch fail, slow down, hang or return too few results. */
const faultInjection = z
  .object({
    ...base,
    kind: z.literal('fault-injection'),
    params: z
      .object({
        failMarker: z.string().min(1).default('#fail'),
        slowMarker: z.string().min(1).default('#slow'),
        slowMs: z.number().int().min(0).max(600_000).default(200),
        hangMarker: z.string().min(1).default('#hang'),
        badOutputMarker: z.string().min(1).default('#short'),
      })
      .strict()
      .default({ failMarker: '#fail', slowMarker: '#slow', slowMs: 200, hangMarker: '#hang', badOutputMarker: '#short' }),
  })
  .strict();

export const capabilitySpecSchema = z.discriminatedUnion('kind', [
  embedding,
  classifier,
  sentimentHead,
  trainedClassifier,
  zeroShotTopics,
  alertRules,
  catalogueRecommendations,
  languageId,
  textStats,
  entities,
  summary,
  faultInjection,
]);
export type CapabilitySpec = z.infer<typeof capabilitySpecSchema>;
export type CapabilityKind = CapabilitySpec['kind'];

/** The capabilities configuration file: the models of the pool and the capability DAG over them. */
export const capabilitiesConfigSchema = z
  .object({
    models: z.array(modelSpecSchema).default([]),
    capabilities: z.array(capabilitySpecSchema).min(1),
    /** The speech-to-text backend for audio and video jobs; without it transcription is unavailable (see docs/models.md). */
    speech: speechSpecSchema.optional(),
  })
  .strict();
export type CapabilitiesConfig = z.infer<typeof capabilitiesConfigSchema>;
