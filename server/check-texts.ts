import { CapserveError } from '../core/errors.js';
import { isWellFormed } from './well-formed.js';

/** The per-request text limits every text-taking route shares (MAX_TEXTS_PER_REQUEST, MAX_TEXT_LENGTH). */
export interface TextLimits {
  readonly maxTextsPerRequest: number;
  readonly maxTextLength: number;
}

/**
 * The checks a request's texts pass before any of them reaches the batcher: TOO_MANY_TEXTS and
 * TEXT_TOO_LONG (413, with the limit and the offending index in `details`), and
 * VALIDATION_ERROR for a text that is not well-formed Unicode.
 */
export function checkTexts(texts: readonly string[], limits: TextLimits): void {
  if (texts.length > limits.maxTextsPerRequest) {
    throw new CapserveError('TOO_MANY_TEXTS', `${texts.length} texts exceed the limit of ${limits.maxTextsPerRequest} per request`, {
      details: { limit: limits.maxTextsPerRequest },
    });
  }
  const long = texts.findIndex((text) => text.length > limits.maxTextLength);
  if (long !== -1) {
    throw new CapserveError('TEXT_TOO_LONG', `text ${long} has ${texts[long]?.length} characters; the limit is ${limits.maxTextLength}`, {
      details: { index: long, limit: limits.maxTextLength },
    });
  }
  const malformed = texts.findIndex((text) => !isWellFormed(text));
  if (malformed !== -1) {
    throw new CapserveError('VALIDATION_ERROR', `text ${malformed} is not well-formed Unicode (it has a lone surrogate)`, {
      details: { index: malformed },
    });
  }
}
