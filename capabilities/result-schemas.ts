import { z } from 'zod';
import { entityTypes } from './builtin/entity-rules.js';
import { type CapabilityKind } from './config-schema.js';

/**
 * What one capability gives for one text, per kind: the contract `/classify`, the WebSocket
 * and `/process` document. The built-ins' result interfaces are the source; these schemas
 * restate them for clients, and test/server/ws-messages.test.ts checks real results of the
 * kinds against them so the two cannot drift apart.
 */

/** A classifier's softmax: the best label, its probability, and every label's. */
export const labelScoresSchema = z
  .object({
    label: z.string(),
    score: z.number(),
    scores: z.record(z.string(), z.number()),
  })
  .meta({ id: 'LabelScores', description: 'The best label, its probability, and the probability of every label.' });

/** A sentence vector. */
export const embeddingResultSchema = z.array(z.number()).meta({ id: 'EmbeddingResult', description: "The text's sentence vector." });

export const topicsResultSchema = z
  .object({
    top: z.string(),
    labels: z.array(z.object({ label: z.string(), score: z.number(), similarity: z.number() })),
    scores: z.record(z.string(), z.number()),
  })
  .meta({ id: 'TopicsResult', description: 'The best topic, the `topK` best with softmax score and cosine similarity, and every topic score.' });

export const alertsResultSchema = z
  .object({
    triggered: z.boolean(),
    alerts: z.array(
      z.object({
        rule: z.enum(['negative-sentiment', 'keyword']),
        severity: z.enum(['low', 'medium', 'high']),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'AlertsResult', description: 'Alerts raised by the negative-sentiment and keyword rules.' });

export const recommendationsResultSchema = z
  .object({ items: z.array(z.object({ id: z.string(), title: z.string(), score: z.number() })) })
  .meta({ id: 'RecommendationsResult', description: 'Catalogue items nearest to the text in topic space, best first.' });

export const languageResultSchema = z
  .object({ language: z.string(), confidence: z.number() })
  .meta({ id: 'LanguageResult', description: 'ISO 639-3 code ("und" when unclear) and the margin over the runner-up, 0 to 1.' });

export const textStatsResultSchema = z
  .object({ characters: z.number().int(), words: z.number().int(), estimatedTokens: z.number().int() })
  .meta({ id: 'TextStatsResult', description: 'Length facts about the text.' });

export const entitiesResultSchema = z
  .object({
    entities: z.array(
      z.object({
        type: z.enum(entityTypes),
        text: z.string(),
        start: z.number().int(),
        end: z.number().int(),
        value: z.union([z.string(), z.number(), z.object({ amount: z.number(), currency: z.string() })]).optional(),
      }),
    ),
    truncated: z.boolean(),
  })
  .meta({
    id: 'EntitiesResult',
    description:
      'Rule-based spans in text order, not overlapping; `start`/`end` are UTF-16 offsets (`text.slice(start, end)`). `value` is normalised where cheap: ISO date, time or date-time, `{amount, currency}`, a percentage, or a phone number\'s digits. `truncated` when more than `maxEntities` were found.',
  });

export const summaryResultSchema = z
  .object({
    sentences: z.array(z.object({ text: z.string(), start: z.number().int(), end: z.number().int(), score: z.number() })),
    truncated: z.boolean(),
  })
  .meta({
    id: 'SummaryResult',
    description:
      'Central sentences that do not repeat each other (LexRank, then maximal marginal relevance), in document order; `start`/`end` are UTF-16 offsets (`text.slice(start, end)`), `score` the LexRank centrality (1 for the most central). `truncated` when only the first sentences were ranked or a sentence was cut to the budget.',
  });

export const faultInjectionResultSchema = z
  .object({ ok: z.literal(true) })
  .meta({ id: 'FaultInjectionResult', description: 'What a fault-injection capability answers when no fault fires (testing only).' });

/** Every kind's per-text result schema. */
export const capabilityResultSchemas = {
  embedding: embeddingResultSchema,
  classifier: labelScoresSchema,
  'embedding-classifier': labelScoresSchema,
  'trained-classifier': labelScoresSchema,
  'zero-shot-topics': topicsResultSchema,
  'alert-rules': alertsResultSchema,
  'catalogue-recommendations': recommendationsResultSchema,
  'language-id': languageResultSchema,
  'text-stats': textStatsResultSchema,
  entities: entitiesResultSchema,
  summary: summaryResultSchema,
  'fault-injection': faultInjectionResultSchema,
} as const satisfies Record<CapabilityKind, z.ZodType>;

/** The distinct result schemas, for a capability whose kind is not known in advance. */
export const anyCapabilityResultSchema = z
  .union([...new Set(Object.values(capabilityResultSchemas))] as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])
  .meta({ id: 'CapabilityResult', description: "One capability's result for one text; its shape depends on the capability's kind." });
