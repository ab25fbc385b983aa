import { z } from 'zod';

/*
 * The bodies of text-embeddings-inference's HTTP API (router/src/http/types.rs), as TEI
 * deserialises them: optional fields may be null, `truncation_direction` takes either case.
 * Unlike TEI (serde ignores unknown fields), a field capserve does not know is refused, so a
 * misspelt option never passes silently.
 */

/** `Left` cuts the beginning of an over-long text, `Right` its end. @default "Right" */
export const truncationDirectionSchema = z.enum(['Left', 'Right', 'left', 'right']);
export type TruncationDirection = z.infer<typeof truncationDirectionSchema>;

/** Token ids in place of a text: TEI takes them, capserve refuses them clearly (see inputsOf). */
const tokenIds = z.array(z.number());

const truncate = z.boolean().nullable().optional().meta({ description: 'Cut a text over `max_input_length` tokens instead of refusing it (422). @default false' });
const truncationDirection = truncationDirectionSchema.optional();
const promptName = z
  .string()
  .nullable()
  .optional()
  .meta({ description: 'A Sentence Transformers prompt name; capserve has no prompts, so any value is refused (422).' });

export const embedBodySchema = z
  .object({
    inputs: z.union([z.string(), z.array(z.union([z.string(), tokenIds])), tokenIds]),
    truncate,
    truncation_direction: truncationDirection,
    prompt_name: promptName,
    /** @default true */
    normalize: z.boolean().optional().meta({ description: 'Scale each vector to unit length. @default true' }),
    dimensions: z.number().int().min(0).nullable().optional().meta({ description: 'Keep the first N dimensions (before normalising).' }),
  })
  .strict()
  .meta({ id: 'TeiEmbedRequest' });
export type EmbedBody = z.infer<typeof embedBodySchema>;

export const predictBodySchema = z
  .object({
    inputs: z
      .union([z.string(), z.array(z.string()), z.array(z.array(z.string()))])
      .meta({ description: 'A text, `[text]`, or a batch `[[text], [text], …]` (TEI reads `[a, b]` as one pair of texts).' }),
    truncate,
    truncation_direction: truncationDirection,
    raw_scores: z.boolean().optional().meta({ description: 'Logits instead of probabilities; refused (422): capserve classifiers give probabilities.' }),
  })
  .strict()
  .meta({ id: 'TeiPredictRequest' });
export type PredictBody = z.infer<typeof predictBodySchema>;

export const rerankBodySchema = z
  .object({
    query: z.string(),
    texts: z.array(z.string()),
    truncate,
    truncation_direction: truncationDirection,
    raw_scores: z.boolean().optional().meta({ description: 'The cosine similarity itself, in [-1, 1], instead of (1 + cosine) / 2. @default false' }),
    return_text: z.boolean().optional().meta({ description: 'Echo each text beside its score. @default false' }),
  })
  .strict()
  .meta({ id: 'TeiRerankRequest' });
export type RerankBody = z.infer<typeof rerankBodySchema>;

export const tokenizeBodySchema = z
  .object({
    inputs: z.union([z.string(), z.array(z.string())]),
    add_special_tokens: z.boolean().optional().meta({ description: 'Include [CLS], [SEP] and the like. @default true' }),
    prompt_name: promptName,
  })
  .strict()
  .meta({ id: 'TeiTokenizeRequest' });
export type TokenizeBody = z.infer<typeof tokenizeBodySchema>;

export const embedReplySchema = z.array(z.array(z.number())).meta({ id: 'TeiEmbedResponse' });

export const predictionSchema = z.object({ score: z.number(), label: z.string() });
export const predictReplySchema = z.union([z.array(predictionSchema), z.array(z.array(predictionSchema))]).meta({ id: 'TeiPredictResponse' });
export type Prediction = z.infer<typeof predictionSchema>;

export const rankSchema = z.object({ index: z.number().int(), text: z.string().optional(), score: z.number() });
export const rerankReplySchema = z.array(rankSchema).meta({ id: 'TeiRerankResponse' });
export type Rank = z.infer<typeof rankSchema>;

export const simpleTokenSchema = z.object({
  id: z.number().int(),
  text: z.string(),
  special: z.boolean(),
  /** UTF-8 byte offsets into the input, as TEI gives them; null for special tokens. */
  start: z.number().int().nullable(),
  stop: z.number().int().nullable(),
});
export const tokenizeReplySchema = z.array(z.array(simpleTokenSchema)).meta({ id: 'TeiTokenizeResponse' });
export type SimpleToken = z.infer<typeof simpleTokenSchema>;

/** TEI's `ErrorType`, as serde writes its variants on the wire (capitalised). */
export const teiErrorTypes = ['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty', 'Unauthorized'] as const;
export type TeiErrorType = (typeof teiErrorTypes)[number];

/** TEI's `ErrorResponse`: every error on these routes. */
export const teiErrorSchema = z
  .object({
    error: z.string(),
    error_type: z.enum(teiErrorTypes),
  })
  .meta({ id: 'TeiErrorResponse' });
export type TeiErrorBody = z.infer<typeof teiErrorSchema>;
