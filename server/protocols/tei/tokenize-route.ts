import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type TokenizedText } from '../../../models/types.js';
import { checkTexts } from '../../check-texts.js';
import { checkPromptName } from './embed-route.js';
import { emptyBatch } from './fit-texts.js';
import { type TeiRouteOptions } from './tei-options.js';
import { type TeiService } from './tei-service.js';
import { type SimpleToken, teiErrorSchema, tokenizeBodySchema, tokenizeReplySchema } from './types.js';

/**
 * The UTF-8 byte offset of every UTF-16 offset of a well-formed text (index `text.length` is its
 * byte length): TEI's token offsets count bytes, JavaScript's count code units.
 */
export function utf8Offsets(text: string): Uint32Array {
  const offsets = new Uint32Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A surrogate pair is one 4-byte character: the high half carries its bytes, the low half none.
    const bytes = unit < 0x80 ? 1 : unit < 0x800 ? 2 : unit >= 0xd800 && unit <= 0xdbff ? 4 : unit >= 0xdc00 && unit <= 0xdfff ? 0 : 3;
    offsets[i + 1] = (offsets[i] ?? 0) + bytes;
  }
  return offsets;
}

/**
 * A text's tokens as TEI's `SimpleToken`s: a special token keeps its own text and has no
 * offsets; an ordinary one is the slice of the input it covers (not the tokenizer's "##piece"),
 * with byte offsets. Without `addSpecialTokens` the special tokens are left out, as a tokenizer
 * asked not to add them would.
 */
export function simpleTokens(text: string, tokenized: TokenizedText, addSpecialTokens: boolean): SimpleToken[] {
  let bytes: Uint32Array | undefined;
  const tokens: SimpleToken[] = [];
  for (const token of tokenized.tokens) {
    if (token.special) {
      if (addSpecialTokens) tokens.push({ id: token.id, text: token.text, special: true, start: null, stop: null });
      continue;
    }
    if (token.start === null || token.stop === null) {
      tokens.push({ id: token.id, text: token.text, special: false, start: null, stop: null });
      continue;
    }
    bytes ??= utf8Offsets(text);
    tokens.push({ id: token.id, text: text.slice(token.start, token.stop), special: false, start: bytes[token.start] ?? null, stop: bytes[token.stop] ?? null });
  }
  return tokens;
}

/** `POST /tokenize`: each input's tokens as the TEI embedding capability's model sees them, untruncated. No batch is involved. */
export function tokenizeRoute(service: TeiService, options: TeiRouteOptions): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/tokenize',
      {
        schema: {
          summary: "text-embeddings-inference: tokenize texts with the embedding model's tokenizer.",
          operationId: 'teiTokenize',
          tags: ['text-embeddings-inference'],
          body: tokenizeBodySchema,
          response: { 200: tokenizeReplySchema, '4xx': teiErrorSchema, '5xx': teiErrorSchema },
        },
      },
      async (request) => {
        const { inputs, add_special_tokens: addSpecialTokens = true, prompt_name: promptName } = request.body;
        const texts = typeof inputs === 'string' ? [inputs] : inputs;
        if (texts.length === 0) throw emptyBatch('inputs');
        checkTexts(texts, options);
        checkPromptName(promptName);
        const tokenized = await service.tokenize(options.embeddingCapability, texts);
        return texts.map((text, index) => simpleTokens(text, tokenized[index] ?? { tokens: [] }, addSpecialTokens));
      },
    );
  };
}
