import { type SparseVector } from './feature-vector.js';

/** An inclusive range of n-gram lengths, `[min, max]`. */
export type NgramRange = readonly [number, number];

export interface HashedTfidfOptions {
  /** Size of the hashed feature space. At most 2^24. @default 262144 (2^18) */
  readonly dimensions?: number;
  /** Word n-gram lengths, or null for none. @default [1, 2] */
  readonly wordNgrams?: NgramRange | null;
  /**
   * Character n-gram lengths within each word (padded with a space at each end), or null for
   * none. They catch misspellings and inflections, and are the only way to get sub-word features
   * from scripts written without spaces (Chinese, Japanese, Thai), where a "word" is a whole run.
   * @default null
   */
  readonly charNgrams?: NgramRange | null;
}

/** A fitted `HashedTfidf` as plain JSON. */
export interface HashedTfidfState {
  readonly kind: 'hashed-tfidf';
  readonly version: 1;
  readonly dimensions: number;
  readonly wordNgrams: [number, number] | null;
  readonly charNgrams: [number, number] | null;
  /** Texts the idf was fitted on. */
  readonly documentCount: number;
  /**
   * `[index, document frequency]` for every index seen in training, indices ascending. Stored
   * instead of idf values: integers are exact and shorter, and idf is a pure function of them.
   */
  readonly documentFrequency: [number, number][];
}

const MAX_DIMENSIONS = 2 ** 24;
const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Lower-cased NFKC word tokens: runs of letters, digits and combining marks. Marks belong in the
 * run because Devanagari, Thai and others write vowels as marks, and because lower-casing can
 * itself produce one ("İ" becomes "i" + U+0307); splitting there would cut words apart.
 */
export function tokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TOKEN) ?? [];
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (lone surrogates as U+FFFD, like TextEncoder). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const byte = (b: number): void => {
    hash = Math.imul(hash ^ b, 0x01000193);
  };
  for (const char of text) {
    let cp = char.codePointAt(0) ?? 0xfffd;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) {
      byte(cp);
      continue;
    }
    // Lead byte, then six bits per continuation byte, most significant first.
    const continuations = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    byte(((0xff00 >> (continuations + 1)) & 0xff) | (cp >> (6 * continuations)));
    for (let k = continuations - 1; k >= 0; k -= 1) byte(0x80 | ((cp >> (6 * k)) & 63));
  }
  return hash >>> 0;
}

/** FNV-1a then MurmurHash3's finaliser, so that the index bits and the sign bit are well mixed. */
function featureHash(key: string): number {
  let h = fnv1a32(key);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * TF-IDF over hashed word (and optionally character) n-grams, for linear text classifiers. The
 * hashing trick needs no vocabulary, so the state stays small and unseen words still get a
 * feature; a second hash bit picks each feature's sign so that colliding features tend to cancel
 * rather than pile up (Weinberger et al. 2009). Term frequency is sublinear (1 + ln tf), idf is
 * smoothed, `ln((1 + n) / (1 + df)) + 1`, and every vector is scaled to unit length.
 */
export class HashedTfidf {
  readonly dimensions: number;
  readonly wordNgrams: NgramRange | null;
  readonly charNgrams: NgramRange | null;
  readonly documentCount: number;
  readonly #documentFrequency: Int32Array;
  readonly #idf: Float64Array;

  private constructor(options: Required<HashedTfidfOptions>, documentCount: number, documentFrequency: Int32Array) {
    this.dimensions = options.dimensions;
    // Copied and frozen: a caller mutating its options array must not change later vectors.
    const range = (r: NgramRange | null): NgramRange | null => (r === null ? null : Object.freeze([r[0], r[1]] as const));
    this.wordNgrams = range(options.wordNgrams);
    this.charNgrams = range(options.charNgrams);
    this.documentCount = documentCount;
    this.#documentFrequency = documentFrequency;
    // Most indices were never seen (df = 0) and share one value; fill, then set the seen ones.
    const idf = (df: number): number => Math.log((1 + documentCount) / (1 + df)) + 1;
    this.#idf = new Float64Array(options.dimensions).fill(idf(0));
    for (let i = 0; i < documentFrequency.length; i += 1) if ((documentFrequency[i] ?? 0) > 0) this.#idf[i] = idf(documentFrequency[i] ?? 0);
  }

  /** Fits the idf on `texts`; throws an Error on no texts or bad options. */
  static fit(texts: readonly string[], options: HashedTfidfOptions = {}): HashedTfidf {
    const resolved = checkOptions({
      dimensions: options.dimensions ?? 2 ** 18,
      wordNgrams: options.wordNgrams === undefined ? [1, 2] : options.wordNgrams, // null means none, not the default
      charNgrams: options.charNgrams ?? null,
    });
    if (texts.length === 0) throw new Error('need at least one text to fit TF-IDF');
    const df = new Int32Array(resolved.dimensions);
    for (const text of texts) for (const index of termFrequencies(text, resolved).keys()) df[index] = (df[index] ?? 0) + 1;
    return new HashedTfidf(resolved, texts.length, df);
  }

  /** Loads a `toJSON()` state; throws an Error naming the problem when `state` is not one. */
  static fromJSON(state: unknown): HashedTfidf {
    const fail = (problem: string): never => {
      throw new Error(`invalid hashed-tfidf state: ${problem}`);
    };
    if (typeof state !== 'object' || state === null) return fail('not an object');
    const s = state as Partial<Record<keyof HashedTfidfState, unknown>>;
    if (s.kind !== 'hashed-tfidf' || s.version !== 1) fail(`expected kind "hashed-tfidf" version 1, got ${JSON.stringify([s.kind, s.version])}`);
    const options = checkOptions({ dimensions: s.dimensions, wordNgrams: s.wordNgrams, charNgrams: s.charNgrams } as Required<HashedTfidfOptions>, fail);
    const n = s.documentCount;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return fail('documentCount must be a positive integer');
    if (!Array.isArray(s.documentFrequency)) return fail('documentFrequency must be an array');
    const df = new Int32Array(options.dimensions);
    let previous = -1;
    for (const pair of s.documentFrequency as unknown[]) {
      const [i, count] = Array.isArray(pair) && pair.length === 2 ? (pair as unknown[]) : [];
      if (!isInteger(i) || i <= previous || i >= options.dimensions || !isInteger(count) || count < 1 || count > n) {
        fail(`bad [index, df] pair ${JSON.stringify(pair)} (indices ascending, below ${options.dimensions}; 1 ≤ df ≤ ${n})`);
      }
      df[i as number] = count as number;
      previous = i as number;
    }
    return new HashedTfidf(options, n, df);
  }

  /** The unit-length TF-IDF vector of `text`; the zero vector when it has no tokens. */
  transform(text: string): SparseVector {
    const weighted = [...termFrequencies(text, this)].map(([i, tf]) => [i, tf * (this.#idf[i] ?? 0)] as const).sort((a, b) => a[0] - b[0]);
    const norm = Math.sqrt(weighted.reduce((sum, [, v]) => sum + v * v, 0));
    return {
      dimensions: this.dimensions,
      indices: Int32Array.from(weighted, ([i]) => i),
      values: Float64Array.from(weighted, ([, v]) => v / norm),
    };
  }

  toJSON(): HashedTfidfState {
    const documentFrequency: [number, number][] = [];
    this.#documentFrequency.forEach((df, i) => {
      if (df > 0) documentFrequency.push([i, df]);
    });
    const range = (r: NgramRange | null): [number, number] | null => (r === null ? null : [r[0], r[1]]);
    return {
      kind: 'hashed-tfidf',
      version: 1,
      dimensions: this.dimensions,
      wordNgrams: range(this.wordNgrams),
      charNgrams: range(this.charNgrams),
      documentCount: this.documentCount,
      documentFrequency,
    };
  }
}

/** Hashed index → signed sublinear tf of the text's n-grams; indices whose signs cancelled are dropped. */
function termFrequencies(text: string, options: Required<HashedTfidfOptions>): Map<number, number> {
  const counts = new Map<string, number>();
  const add = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
  const tokens = tokenize(text);
  if (options.wordNgrams !== null) {
    const [min, max] = options.wordNgrams;
    // Tokens never contain a space, so joining with one keeps distinct n-grams distinct.
    for (let n = min; n <= max; n += 1) for (let i = 0; i + n <= tokens.length; i += 1) add(tokens.slice(i, i + n).join(' '));
  }
  if (options.charNgrams !== null) {
    const [min, max] = options.charNgrams;
    for (const token of tokens) {
      const chars = Array.from(` ${token} `); // code points: never split a surrogate pair
      // "#" cannot occur in a token, so character n-grams never hash like a word n-gram.
      for (let n = min; n <= max; n += 1) for (let i = 0; i + n <= chars.length; i += 1) add(`#${chars.slice(i, i + n).join('')}`);
    }
  }
  const byIndex = new Map<number, number>();
  for (const [key, count] of counts) {
    const h = featureHash(key);
    const index = h % options.dimensions;
    byIndex.set(index, (byIndex.get(index) ?? 0) + (h >>> 31 === 1 ? -1 : 1) * (1 + Math.log(count)));
  }
  for (const [index, value] of byIndex) if (value === 0) byIndex.delete(index);
  return byIndex;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function checkOptions(options: Required<HashedTfidfOptions>, fail = (problem: string): never => {
  throw new Error(`HashedTfidf: ${problem}`);
}): Required<HashedTfidfOptions> {
  const { dimensions, wordNgrams, charNgrams } = options;
  if (!isInteger(dimensions) || dimensions < 2 || dimensions > MAX_DIMENSIONS) fail(`dimensions must be an integer from 2 to ${MAX_DIMENSIONS}`);
  const validRange = (r: unknown): boolean =>
    r === null || (Array.isArray(r) && r.length === 2 && isInteger(r[0]) && isInteger(r[1]) && r[0] >= 1 && r[0] <= r[1] && r[1] <= 10);
  if (!validRange(wordNgrams) || !validRange(charNgrams)) fail('wordNgrams and charNgrams must each be null or [min, max] with 1 ≤ min ≤ max ≤ 10');
  if (wordNgrams === null && charNgrams === null) fail('need word or character n-grams (both are null)');
  return options;
}
