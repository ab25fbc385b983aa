/** Where a token lies in its text: UTF-16 offsets, `start` inclusive, `stop` exclusive. */
export interface Span {
  readonly start: number;
  readonly stop: number;
}

/** How the tokenizer wrote its tokens, for {@link alignTokens}. */
export interface AlignOptions {
  /** The tokenizer's normaliser (lowercasing, accent stripping…); identity when absent. */
  readonly normalize?: (text: string) => string;
  /** The prefix of a word's continuation pieces ("##" for WordPiece), stripped before matching. */
  readonly subwordPrefix?: string;
  /** Prefixes that stand for the space before a word ("▁" Metaspace, "Ġ" byte-level BPE), stripped before matching. */
  readonly wordPrefixes?: readonly string[];
  /** The unknown token's text ("[UNK]"): it covers the characters skipped before the next token. */
  readonly unknown?: string;
}

const WHITESPACE = /^\s*$/u;
/** BERT's punctuation: every ASCII non-alphanumeric symbol, and Unicode P*. Pre-tokens split around it. */
const PUNCTUATION = /[\p{P}!-/:-@[-`{-~]/u;

/**
 * The text's characters after normalisation, each UTF-16 unit remembering the span of the input
 * character it came from. Undefined when normalising character by character does not give the
 * whole text's normal form (context-sensitive rules such as the Greek final sigma, or
 * composition across characters): the offsets could not be trusted then.
 */
function trace(text: string, normalize: (text: string) => string): { normalized: string; origin: Span[] } | undefined {
  const origin: Span[] = [];
  let normalized = '';
  let index = 0;
  for (const codePoint of text) {
    const out = normalize(codePoint);
    const span = { start: index, stop: index + codePoint.length };
    for (let k = 0; k < out.length; k += 1) origin.push(span);
    normalized += out;
    index = span.stop;
  }
  return normalized === normalize(text) ? { normalized, origin } : undefined;
}

/**
 * Character offsets of a text's tokens (its own tokens, without the ones the tokenizer adds),
 * found by walking the normalised text: each token's characters (less its subword or word
 * prefix) must come next, after nothing but whitespace. An unknown token covers what is
 * skipped before the next token that starts a word (or the rest of the text), trimmed; two
 * unknown tokens in a row get null. Returns undefined when the tokens cannot be placed this way
 * (a byte-level token of a non-ASCII character, a normaliser that is not per character): then
 * no offset is given rather than a wrong one.
 */
export function alignTokens(text: string, tokens: readonly string[], options: AlignOptions = {}): (Span | null)[] | undefined {
  const traced = trace(text, options.normalize ?? ((s) => s));
  if (traced === undefined) return undefined;
  const { normalized, origin } = traced;
  const spanOf = (from: number, to: number): Span | null => {
    // Trimmed of whitespace on both sides; null when nothing is left.
    while (from < to && WHITESPACE.test(normalized[from] ?? '')) from += 1;
    while (to > from && WHITESPACE.test(normalized[to - 1] ?? '')) to -= 1;
    const first = origin[from];
    const last = origin[to - 1];
    return from < to && first !== undefined && last !== undefined ? { start: first.start, stop: last.stop } : null;
  };

  const spans: (Span | null)[] = [];
  let cursor = 0;
  /** Indices in `spans` of unknown tokens still waiting for the next token to bound them. */
  let unknowns: number[] = [];
  const settleUnknowns = (until: number): void => {
    const span = spanOf(cursor, until);
    for (const index of unknowns) spans[index] = unknowns.length === 1 ? span : null;
    unknowns = [];
  };

  for (const token of tokens) {
    if (options.unknown !== undefined && token === options.unknown) {
      unknowns.push(spans.length);
      spans.push(null);
      continue;
    }
    if (options.wordPrefixes?.includes(token) === true) {
      // A bare word prefix stands for a space (or for nothing): no character of its own.
      spans.push(null);
      continue;
    }
    let piece = token;
    let continues = false;
    if (options.subwordPrefix !== undefined && piece.length > options.subwordPrefix.length && piece.startsWith(options.subwordPrefix)) {
      piece = piece.slice(options.subwordPrefix.length);
      continues = true;
    }
    for (const prefix of options.wordPrefixes ?? []) {
      if (piece.length > prefix.length && piece.startsWith(prefix)) {
        piece = piece.slice(prefix.length);
        break;
      }
    }
    let found = normalized.indexOf(piece, cursor);
    if (unknowns.length > 0) {
      // After an unknown word the next token starts a new word: skip matches inside the unknown one.
      while (found > 0 && !continues && !startsWord(normalized, found)) found = normalized.indexOf(piece, found + 1);
      if (found < 0) return undefined;
      settleUnknowns(found);
    } else if (found < 0 || !WHITESPACE.test(normalized.slice(cursor, found))) {
      return undefined;
    }
    spans.push(spanOf(found, found + piece.length));
    cursor = found + piece.length;
  }
  if (unknowns.length > 0) settleUnknowns(normalized.length);
  else if (!WHITESPACE.test(normalized.slice(cursor))) return undefined;
  return spans;
}

/** Whether a pre-token can start at `index`: after whitespace or punctuation, or at punctuation. */
function startsWord(text: string, index: number): boolean {
  const before = text[index - 1] ?? ' ';
  return WHITESPACE.test(before) || PUNCTUATION.test(before) || PUNCTUATION.test(text[index] ?? '');
}
