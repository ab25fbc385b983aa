import { CapserveError } from '../../../core/errors.js';
import { type TeiService } from './tei-service.js';
import { type TruncationDirection } from './types.js';

/** How a route asks for over-long texts to be handled (TEI's `truncate`, `truncation_direction`). */
export interface Truncation {
  readonly truncate: boolean;
  readonly direction: TruncationDirection;
}

/** TEI's request defaults: refuse over-long texts; when truncating, cut their end. */
export function truncationOf(body: { truncate?: boolean | null | undefined; truncation_direction?: TruncationDirection | undefined }): Truncation {
  return { truncate: body.truncate ?? false, direction: body.truncation_direction ?? 'Right' };
}

/** The 400 `Empty` TEI gives a batch without inputs. */
export function emptyBatch(field: string): CapserveError {
  return new CapserveError('VALIDATION_ERROR', `\`${field}\` cannot be empty`, { details: { empty: true, param: field } });
}

/** A text capserve refuses where TEI would embed it: an empty string has nothing to embed. */
export function checkNotEmpty(texts: readonly string[], field: string): void {
  const empty = texts.findIndex((text) => text === '');
  if (empty !== -1) {
    throw new CapserveError('VALIDATION_ERROR', `\`${field}\`${texts.length === 1 ? '' : `[${empty}]`} is an empty string`, { details: { index: empty, param: field } });
  }
}

/**
 * The texts to send for `capability`, after TEI's length rule: a text with more tokens (special
 * tokens included) than its model takes is refused unless `truncate`, and then cut at a token
 * boundary so that it fits with its special tokens, as TEI's tokenizer truncates: `Right` keeps
 * its first tokens, `Left` its last. The models' own truncation is not used: transformers.js
 * drops the closing [SEP] when it truncates. Tokenising needs no batch, so a refused request
 * never reaches the batcher. A capability without a model behind it has no token limit.
 */
export async function fitTexts(service: TeiService, capability: string, texts: readonly string[], truncation: Truncation): Promise<readonly string[]> {
  const info = service.modelBehind(capability);
  if (info === undefined) return texts;
  // Counting is one encode per text; offsets (two encodes and an alignment) only for texts to cut.
  const counts = await service.countTokens(capability, texts);
  const over = counts.findIndex((count) => count > info.maxTokens);
  if (over === -1) return texts;
  if (!truncation.truncate) {
    throw new CapserveError('CONTEXT_LENGTH_EXCEEDED', `Input validation error: \`inputs\` must have less than ${info.maxTokens} tokens. Given: ${counts[over]}`, {
      details: { index: over, tokens: counts[over], limit: info.maxTokens },
    });
  }
  const long = texts.flatMap((text, index) => ((counts[index] ?? 0) > info.maxTokens ? [index] : []));
  const tokenized = new Map((await service.tokenize(capability, long.map((index) => texts[index] ?? ''))).map((entry, k) => [long[k], entry]));
  return texts.map((text, index) => {
    const tokens = tokenized.get(index)?.tokens;
    if (tokens === undefined) return text;
    const ordinary = tokens.filter((token) => !token.special);
    const keep = Math.max(1, info.maxTokens - (tokens.length - ordinary.length));
    const left = truncation.direction === 'Left' || truncation.direction === 'left';
    const cut = left ? ordinary[ordinary.length - keep]?.start : ordinary[keep - 1]?.stop;
    if (cut === null || cut === undefined) {
      throw new CapserveError('VALIDATION_ERROR', `cannot truncate text ${index}: the tokenizer of '${capability}' gives no offsets for it; shorten it yourself`, {
        details: { index },
      });
    }
    return left ? text.slice(cut) : text.slice(0, cut);
  });
}
