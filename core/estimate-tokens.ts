/** Sub-word tokenizers split an English word into about 1.3 tokens on average. */
export const TOKENS_PER_WORD = 1.3;
/** ...and an average token covers about 4 characters of Latin-script text. */
export const CHARS_PER_TOKEN = 4;

/**
 * A cheap token estimate for routing, not for billing: one pass, no tokenizer.
 *
 * `max(ceil(words × 1.3), ceil(otherChars / 4 + cjkChars))`, where words are runs of
 * non-whitespace and characters are code points. Han, kana and Hangul count one token each,
 * since text in those scripts has no spaces and tokenizers give them about a token per
 * character; the maximum keeps long unspaced strings (URLs, base64) from looking cheap.
 */
export function estimateTokens(text: string): number {
  let words = 0;
  let chars = 0;
  let cjk = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xdc00 && code <= 0xdfff) continue; // the second half of a surrogate pair
    chars += 1;
    if (isSpace(code)) {
      inWord = false;
      continue;
    }
    if (!inWord) words += 1;
    inWord = true;
    if (isCjk(code)) cjk += 1;
  }
  return Math.max(Math.ceil(words * TOKENS_PER_WORD), Math.ceil((chars - cjk) / CHARS_PER_TOKEN + cjk));
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000 || (code >= 0x2000 && code <= 0x200b);
}

function isCjk(code: number): boolean {
  return (
    (code >= 0x3040 && code <= 0x30ff) || // hiragana, katakana
    (code >= 0x3400 && code <= 0x4dbf) || // Han extension A
    (code >= 0x4e00 && code <= 0x9fff) || // Han
    (code >= 0xac00 && code <= 0xd7af) || // Hangul syllables
    (code >= 0xf900 && code <= 0xfaff) // Han compatibility
  );
}
