import { z } from 'zod';

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is well-formed UTF-16 (String.prototype.isWellFormed, which ES2023 typings lack). */
export function isWellFormed(text: string): boolean {
  return !loneSurrogate.test(text);
}

/** The one message for text that is not well-formed, wherever it is refused. */
export const notWellFormedMessage = 'is not well-formed Unicode (it has a lone surrogate)';

/**
 * A string schema that refuses lone surrogates: the one rule for every text the server keeps
 * (data sets, training examples, labels, reviewer names), as `/classify` applies it to the texts
 * it runs. A lone surrogate cannot be written as UTF-8, so a stored one would come back as
 * U+FFFD from one store and as an error from another.
 */
export const wellFormedString = (): z.ZodString => z.string().check(z.refine(isWellFormed, `text ${notWellFormedMessage}`));
