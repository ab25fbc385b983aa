/**
 * The SentencePiece (unigram) tokenizer of Universal Sentence Encoder Lite.
 *
 * The vocabulary is a list of `[piece, score]` pairs where the score is the piece's log
 * probability; a piece's id is its position in the list. Words are marked by a leading
 * "▁" (U+2581), so "Hello world" is segmented as the string "▁Hello▁world".
 */

/**
 * One vocabulary entry: a piece and its log-probability score. The shipped USE vocabulary has
 * `null` scores on a few pieces containing ":" (an artefact of its conversion to JSON).
 */
export type VocabularyEntry = readonly [piece: string, score: number | null];

/** Marks the start of a word, in place of the space before it. */
export const WORD_SEPARATOR = '\u2581';

/** Id the model reserves for text the vocabulary cannot cover. */
export const UNKNOWN_ID = 0;

/**
 * The first ids of the USE vocabulary are the unknown piece, control symbols (`<s>`, `</s>`)
 * and user-defined symbols; they never match input text.
 */
const RESERVED_PIECES = 6;

/**
 * How much worse than the rarest real piece an unknown character scores. SentencePiece uses
 * the same margin, so that an unknown character is only chosen when no piece covers it.
 */
const UNKNOWN_PENALTY = 10;

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Id of the piece ending here, or -1 when this node is only a prefix. */
  id: number;
  score: number;
}

function trieNode(): TrieNode {
  return { children: new Map(), id: -1, score: 0 };
}

/** Options of {@link UseTokenizer.fromVocabulary}. */
export interface UseTokenizerOptions {
  /** Leading vocabulary entries that are never matched against text. @default 6 */
  readonly reservedPieces?: number;
}

/**
 * Splits text into the vocabulary pieces of highest total score (Viterbi over the lattice of
 * every piece that matches at every position), as SentencePiece's unigram model does.
 */
export class UseTokenizer {
  readonly #root: TrieNode;
  readonly #unknownScore: number;
  readonly #separatorId: number;
  readonly #pieces: readonly string[];

  private constructor(root: TrieNode, unknownScore: number, separatorId: number, pieces: readonly string[]) {
    this.#root = root;
    this.#unknownScore = unknownScore;
    this.#separatorId = separatorId;
    this.#pieces = pieces;
  }

  /** Builds the tokenizer from `[piece, score]` pairs, ids being positions in the list. */
  static fromVocabulary(pairs: readonly VocabularyEntry[], options: UseTokenizerOptions = {}): UseTokenizer {
    const reserved = options.reservedPieces ?? RESERVED_PIECES;
    const root = trieNode();
    let minScore = 0;
    let previousScore = 0;
    let separatorId = UNKNOWN_ID;
    for (let id = reserved; id < pairs.length; id += 1) {
      const entry = pairs[id];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[0].length === 0) {
        throw new Error(`vocabulary entry ${id} is not a [piece, score] pair`);
      }
      const piece = entry[0];
      /*
       * The vocabulary is sorted by descending score, so a missing score is best estimated by
       * its neighbour's. Reading it as 0 (what `null + x` does) would make those pieces the most
       * likely of all and win every segmentation they take part in.
       */
      const score = typeof entry[1] === 'number' && Number.isFinite(entry[1]) ? entry[1] : previousScore;
      previousScore = score;
      let node = root;
      for (const char of piece) {
        let child = node.children.get(char);
        if (child === undefined) {
          child = trieNode();
          node.children.set(char, child);
        }
        node = child;
      }
      // A duplicated piece keeps its first id, as SentencePiece's own loader would reject it.
      if (node.id === -1) {
        node.id = id;
        node.score = score;
      }
      minScore = Math.min(minScore, score);
      if (piece === WORD_SEPARATOR && separatorId === UNKNOWN_ID) separatorId = id;
    }
    return new UseTokenizer(
      root,
      minScore - UNKNOWN_PENALTY,
      separatorId,
      pairs.map((entry) => (Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : '')),
    );
  }

  /**
   * Id of the bare "▁" piece, a neutral token for text with no pieces at all
   * (the model drops a row that has no tokens). The unknown id when the vocabulary has none.
   */
  get separatorId(): number {
    return this.#separatorId;
  }

  /** The vocabulary piece of an id ("▁hello", "<unk>"); "" for an id outside the vocabulary. */
  piece(id: number): string {
    return this.#pieces[id] ?? '';
  }

  /**
   * Token ids of `text`: NFKC-normalised, whitespace runs collapsed into one "▁" and a "▁"
   * before the first word. Characters no piece covers become {@link UNKNOWN_ID}, and a run
   * of them becomes a single unknown token. Empty or blank text gives `[]`.
   */
  encode(text: string): number[] {
    return this.encodeWithOffsets(text).map((piece) => piece.id);
  }

  /**
   * The pieces of {@link encode}, each with the characters of `text` it covers (UTF-16 offsets,
   * `start` inclusive, `stop` exclusive). The word separators "▁" stand for whitespace or for
   * nothing, so they are left out of the span: "▁hello" covers "hello". A piece that covers no
   * character of the text (a bare "▁"), or any piece of a text whose NFKC form cannot be traced
   * back character by character, has null offsets.
   */
  encodeWithOffsets(text: string): EncodedPiece[] {
    const chars = normalize(text);
    const n = chars.length;
    if (n === 0) return [];

    // best[i]: highest score of a segmentation of chars[0, i); lastId/lastLength: its final piece.
    const best = new Array<number>(n + 1).fill(Number.NEGATIVE_INFINITY);
    const lastId = new Array<number>(n + 1).fill(UNKNOWN_ID);
    const lastLength = new Array<number>(n + 1).fill(1);
    best[0] = 0;

    const relax = (end: number, score: number, id: number, length: number): void => {
      if (score > (best[end] ?? Number.NEGATIVE_INFINITY)) {
        best[end] = score;
        lastId[end] = id;
        lastLength[end] = length;
      }
    };

    for (let start = 0; start < n; start += 1) {
      // Every position is reachable: the unknown edge below always advances by one character.
      const base = best[start] ?? Number.NEGATIVE_INFINITY;
      let node: TrieNode | undefined = this.#root;
      let coversOneChar = false;
      for (let end = start; end < n; end += 1) {
        node = node.children.get(chars[end]?.char ?? '');
        if (node === undefined) break;
        if (node.id !== -1) {
          relax(end + 1, base + node.score, node.id, end + 1 - start);
          if (end === start) coversOneChar = true;
        }
      }
      if (!coversOneChar) relax(start + 1, base + this.#unknownScore, UNKNOWN_ID, 1);
    }

    const reversed: { id: number; from: number; to: number }[] = [];
    for (let end = n; end > 0; end -= lastLength[end] ?? 1) {
      const id = lastId[end] ?? UNKNOWN_ID;
      const from = end - (lastLength[end] ?? 1);
      const previous = reversed.at(-1);
      // Walking backwards, an unknown directly after another unknown is merged into it.
      if (id === UNKNOWN_ID && previous?.id === UNKNOWN_ID) previous.from = from;
      else reversed.push({ id, from, to: end });
    }
    return reversed.reverse().map(({ id, from, to }) => ({ id, ...spanOf(chars.slice(from, to)) }));
  }
}

/** One piece of a text with the characters it covers (see {@link UseTokenizer.encodeWithOffsets}). */
export interface EncodedPiece {
  readonly id: number;
  readonly start: number | null;
  readonly stop: number | null;
}

/** A character of the normalised text and the UTF-16 span of the text it came from; null for a separator or when unknown. */
interface NormalizedChar {
  readonly char: string;
  readonly start: number | null;
  readonly stop: number | null;
}

function spanOf(chars: readonly NormalizedChar[]): { start: number | null; stop: number | null } {
  let start: number | null = null;
  let stop: number | null = null;
  for (const char of chars) {
    if (char.start === null || char.stop === null) continue;
    start = start === null ? char.start : Math.min(start, char.start);
    stop = stop === null ? char.stop : Math.max(stop, char.stop);
  }
  return start === null || stop === null ? { start: null, stop: null } : { start, stop };
}

/**
 * NFKC first (so full-width and compatibility characters meet the vocabulary), then the
 * word separator: SentencePiece trims and collapses whitespace before segmenting, which
 * keeps tabs and newlines from turning into unknown tokens.
 *
 * Each character remembers where it came from. NFKC is applied code point by code point when
 * that gives the same string as the whole text's NFKC (almost always: only composing sequences
 * differ); otherwise the whole text is normalised and its characters have no origin.
 */
function normalize(text: string): NormalizedChar[] {
  const whole = text.normalize('NFKC');
  const traced: NormalizedChar[] = [];
  let index = 0;
  for (const codePoint of text) {
    const stop = index + codePoint.length;
    for (const char of codePoint.normalize('NFKC')) traced.push({ char, start: index, stop });
    index = stop;
  }
  const chars = traced.map((c) => c.char).join('') === whole ? traced : Array.from(whole, (char) => ({ char, start: null, stop: null }));

  const words: NormalizedChar[] = [];
  let pendingSpace = false;
  for (const char of chars) {
    if (/\s/u.test(char.char)) {
      pendingSpace = true;
      continue;
    }
    // A separator before the first word and one for each whitespace run between words; trailing runs vanish.
    if (pendingSpace || words.length === 0) words.push({ char: WORD_SEPARATOR, start: null, stop: null });
    pendingSpace = false;
    words.push(char);
  }
  return words;
}
