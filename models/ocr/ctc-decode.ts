/** A decoded line: its text and the mean probability of the characters kept. */
export interface CtcText {
  readonly text: string;
  readonly confidence: number;
}

/**
 * The recogniser's classes: CTC blank at index 0, then the dictionary in file order, then a
 * space class that PaddleOCR appends (`use_space_char`). `dictionary` is the text of
 * ppocr_keys_v1.txt, one character per line.
 */
export function ctcCharset(dictionary: string): string[] {
  const lines = dictionary.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return ['', ...lines, ' '];
}

/**
 * Greedy CTC decoding of one sequence of per-step class probabilities (row-major
 * `steps × charset.length`, starting at `offset`): take the best class of each step, collapse
 * repeats, drop blanks. The confidence is the mean of the kept steps' best probabilities, 0 when
 * nothing is kept.
 */
export function ctcGreedyDecode(probs: Float32Array, steps: number, charset: readonly string[], offset = 0): CtcText {
  const classes = charset.length;
  if (offset + steps * classes > probs.length) {
    throw new Error(`CTC input has ${probs.length - offset} values, expected ${steps}×${classes}`);
  }
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let step = 0; step < steps; step++) {
    const base = offset + step * classes;
    let best = 0;
    let bestProb = probs[base] ?? 0;
    for (let c = 1; c < classes; c++) {
      const p = probs[base + c] ?? 0;
      if (p > bestProb) {
        bestProb = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += charset[best] ?? '';
      sum += bestProb;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept === 0 ? 0 : sum / kept };
}
