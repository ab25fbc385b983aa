/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is well-formed UTF-16 (String.prototype.isWellFormed, which ES2023 typings lack). */
export function isWellFormed(text: string): boolean {
  return !loneSurrogate.test(text);
}
