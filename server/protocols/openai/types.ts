import { z } from 'zod';
import { documentOnly } from '../../openapi/document-only.js';

/**
 * The body of `POST /v1/embeddings`, as OpenAI defines it. Token-id inputs (`number[]`,
 * `number[][]`) are part of OpenAI's shape, so they pass the schema and are refused by the
 * route with TOKEN_IDS_UNSUPPORTED rather than a vague type error. Unknown fields are refused,
 * as OpenAI refuses them: a misspelt `dimension` must not be silently ignored.
 */
export const embeddingsBodySchema = z.strictObject(
  {
    /** One text or an array of texts; each becomes one embedding, in order. */
    input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))], {
      error: 'input must be a string or an array of strings',
    }),
    /** The name of an `embedding` capability (see `GET /v1/models`). */
    model: z.string({ error: 'model must be a string naming an embedding capability' }),
    /** `float`: arrays of numbers; `base64`: little-endian float32 bytes in base64. @default "float" */
    encoding_format: z.enum(['float', 'base64'], { error: 'encoding_format must be "float" or "base64"' }).optional(),
    /**
     * Keep the first `dimensions` components and re-normalise to unit length (meaningful only for
     * Matryoshka-trained models). @default the model's full length, as computed
     */
    dimensions: z.number({ error: 'dimensions must be a positive integer' }).int('dimensions must be a positive integer').min(1, 'dimensions must be a positive integer').optional(),
    /** An end-user id; accepted and ignored. */
    user: z.string({ error: 'user must be a string' }).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `Unrecognized request argument supplied: ${issue.keys.join(', ')}` : undefined) },
);
export type EmbeddingsBody = z.infer<typeof embeddingsBodySchema>;

/**
 * The reply of `POST /v1/embeddings`. Documentation only: a reply holds a vector of hundreds of
 * numbers per input, built by the route, and checking each number again costs more than it tells.
 */
export const embeddingsReplySchema = documentOnly(
  z
    .object({
      object: z.literal('list'),
      data: z.array(
        z.object({
          object: z.literal('embedding'),
          index: z.number().int(),
          /** Numbers for `float`, a base64 string for `base64`. */
          embedding: z.union([z.array(z.number()), z.string()]),
        }),
      ),
      /** The capability that computed the embeddings, as named in the request. */
      model: z.string(),
      /** Tokens the model saw, special tokens included. */
      usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
    })
    .meta({ id: 'OpenAIEmbeddings' }),
);
export type EmbeddingsReply = z.infer<typeof embeddingsReplySchema>;

export const modelSchema = z
  .object({
    /** The capability's name, what `model` takes in `POST /v1/embeddings`. */
    id: z.string(),
    object: z.literal('model'),
    /** Unix seconds: when this server's app was built (capabilities have no creation date). */
    created: z.number().int(),
    owned_by: z.literal('capserve'),
  })
  .meta({ id: 'OpenAIModel' });
export type OpenAIModel = z.infer<typeof modelSchema>;

export const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) }).meta({ id: 'OpenAIModelList' });

export const modelParamsSchema = z.object({ model: z.string() });

/**
 * OpenAI's error body; the SDK raises its typed errors from the status and reads `code`, `param`
 * and `type` from here. Documentation only: an error body must never fail its own serialization.
 */
export const openAIErrorSchema = documentOnly(
  z
    .object({
      error: z.object({
        message: z.string(),
        /** `invalid_request_error`, `authentication_error`, `permission_error`, `rate_limit_error` or `server_error`, by status. */
        type: z.string(),
        /** The request field the error is about, when known. */
        param: z.string().nullable(),
        /** capserve's registry code (see docs/errors.md). */
        code: z.string(),
      }),
    })
    .meta({ id: 'OpenAIError' }),
);
export type OpenAIErrorBody = z.infer<typeof openAIErrorSchema>;
