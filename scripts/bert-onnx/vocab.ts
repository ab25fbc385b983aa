import { commonWords } from './words.js';

/** Special tokens take the first ids, in this order. */
export const specialTokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export type SpecialToken = (typeof specialTokens)[number];

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const CHARACTERS = [...LETTERS, ...'0123456789', ...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

/** The smallest vocabulary the layout allows: special tokens plus every character, whole and "##". */
export const MIN_VOCAB_SIZE = specialTokens.length + CHARACTERS.length * 2;

/**
 * Letter combinations of growing length in lexicographic order ("aa", "ab", …, "aaa", …),
 * each first as a word and then as a "##" continuation: deterministic filler up to any size.
 */
function* fillerPieces(): Generator<string> {
  for (let length = 2; ; length++) {
    const total = LETTERS.length ** length;
    for (let n = 0; n < total; n++) {
      let piece = '';
      for (let k = 0, rest = n; k < length; k++, rest = Math.floor(rest / LETTERS.length)) {
        piece = LETTERS.charAt(rest % LETTERS.length) + piece;
      }
      yield piece;
      yield `##${piece}`;
    }
  }
}

/**
 * A WordPiece vocabulary of exactly `size` tokens: special tokens, single characters and their
 * "##" forms (so any lowercase ASCII word tokenises without [UNK]), common words, then filler.
 */
export function buildVocabulary(size: number): string[] {
  if (size < MIN_VOCAB_SIZE) throw new Error(`vocabulary size must be at least ${MIN_VOCAB_SIZE}, got ${size}`);
  const vocabulary = new Set<string>(specialTokens);
  for (const character of CHARACTERS) vocabulary.add(character);
  for (const character of CHARACTERS) vocabulary.add(`##${character}`);
  const add = (token: string): boolean => {
    if (vocabulary.size >= size) return false;
    vocabulary.add(token);
    return true;
  };
  for (const word of commonWords) if (!add(word)) break;
  for (const piece of fillerPieces()) if (!add(piece)) break;
  return [...vocabulary];
}
