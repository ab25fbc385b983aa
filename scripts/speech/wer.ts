/** The word edits between a reference transcript and a hypothesis. */
export interface WordErrors {
  readonly substitutions: number;
  readonly deletions: number;
  readonly insertions: number;
  /** Words in the reference. */
  readonly referenceWords: number;
}

/**
 * Lower-case words, with punctuation dropped (an apostrophe inside a word stays: "don't"),
 * so "Hello, World!" and "hello world" are the same two words.
 */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}']+/gu, ' ')
    .split(' ')
    .map((word) => word.replace(/^'+|'+$/g, ''))
    .filter((word) => word !== '');
}

/**
 * The fewest substitutions, deletions and insertions that turn the reference's words into the
 * hypothesis's (word-level Levenshtein), ties broken towards substitutions, then deletions.
 */
export function wordErrors(reference: string, hypothesis: string): WordErrors {
  const ref = normaliseWords(reference);
  const hyp = normaliseWords(hypothesis);
  type Cell = { cost: number; s: number; d: number; i: number };
  let previous: Cell[] = Array.from({ length: hyp.length + 1 }, (_, j) => ({ cost: j, s: 0, d: 0, i: j }));
  for (let i = 1; i <= ref.length; i += 1) {
    const row: Cell[] = [{ cost: i, s: 0, d: i, i: 0 }];
    for (let j = 1; j <= hyp.length; j += 1) {
      const diagonal = previous[j - 1] as Cell;
      const up = previous[j] as Cell;
      const left = row[j - 1] as Cell;
      const same = ref[i - 1] === hyp[j - 1];
      const options: Cell[] = [
        { cost: diagonal.cost + (same ? 0 : 1), s: diagonal.s + (same ? 0 : 1), d: diagonal.d, i: diagonal.i },
        { cost: up.cost + 1, s: up.s, d: up.d + 1, i: up.i },
        { cost: left.cost + 1, s: left.s, d: left.d, i: left.i + 1 },
      ];
      row.push(options.reduce((best, option) => (option.cost < best.cost ? option : best)));
    }
    previous = row;
  }
  const last = previous[hyp.length] as Cell;
  return { substitutions: last.s, deletions: last.d, insertions: last.i, referenceWords: ref.length };
}

/** Edits over reference words; 0 when both are empty, 1 per inserted word when only the reference is. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  return rateOf([wordErrors(reference, hypothesis)]);
}

/** The word error rate of a whole set: every edit over every reference word (not a mean of rates). */
export function rateOf(errors: readonly WordErrors[]): number {
  const edits = errors.reduce((sum, e) => sum + e.substitutions + e.deletions + e.insertions, 0);
  const words = errors.reduce((sum, e) => sum + e.referenceWords, 0);
  if (words === 0) return edits === 0 ? 0 : edits;
  return edits / words;
}
