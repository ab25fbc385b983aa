import { type CapabilitySpec } from '../config-schema.js';
import { lexRank } from '../math/lexrank.js';
import { round } from '../math/vectors.js';
import { type Capability } from '../types.js';
import { asVector, type BuildDeps, inputFrom } from './build-deps.js';
import { safeCut, type SentenceSpan, splitSentences } from './sentences.js';

type Spec = Extract<CapabilitySpec, { kind: 'summary' }>;

/** Sentences ranked per text; later ones are left out and `truncated` is set. */
export const MAX_SENTENCES_RANKED = 200;
/** A returned sentence is cut to this many characters, and only this much of one is embedded. */
export const MAX_SENTENCE_CHARACTERS = 2000;

export interface SummarySentence {
  readonly text: string;
  /** UTF-16 offsets into the input: `input.slice(start, end) === text`. */
  readonly start: number;
  readonly end: number;
  /** LexRank centrality, 1 for the most central sentence. */
  readonly score: number;
}

export interface SummaryResult {
  /** The chosen sentences in document order. */
  readonly sentences: readonly SummarySentence[];
  /** Only the first sentences were ranked, or a chosen sentence was cut to the budget. */
  readonly truncated: boolean;
}

/**
 * Extractive summary: splits each text into sentences ({@link splitSentences}), embeds them with
 * the embedding capability it depends on, ranks them by LexRank centrality and returns the best
 * under the `maxSentences`/`maxCharacters` budget, in document order.
 *
 * The sentences are not the request's texts, and a capability cannot hand texts to the batcher
 * (it sits above this layer), so the sentences of every text of one execution are embedded in a
 * single model call through `deps.runCapability`, with the execution's signal. They share that
 * call with each other, not yet a batching window with other requests.
 */
export function summaryCapability(spec: Spec, deps: BuildDeps): Capability<SummaryResult> {
  const source = inputFrom(spec.params.embeddingFrom, spec.dependsOn, spec.name);
  const budget = { sentences: spec.params.maxSentences, characters: spec.params.maxCharacters ?? Number.POSITIVE_INFINITY };
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      const splits = texts.map((text) => splitSentences(text, MAX_SENTENCES_RANKED));
      // A text of one sentence needs no ranking, so a 1 MB run-on never reaches the model.
      const toEmbed = splits.flatMap((split, i) =>
        split.sentences.length < 2 ? [] : split.sentences.map((s) => (texts[i] as string).slice(s.start, safeCut(texts[i] as string, s.start, Math.min(s.end - s.start, MAX_SENTENCE_CHARACTERS)))),
      );
      const vectors = toEmbed.length === 0 ? [] : (await deps.runCapability(source, toEmbed, context.signal)).map((v) => asVector(v, source));
      let next = 0;
      return splits.map((split, i) => {
        const count = split.sentences.length;
        const scores = count < 2 ? split.sentences.map(() => 1) : lexRank(vectors.slice(next, (next += count)));
        return choose(texts[i] as string, split.sentences, scores, budget, split.truncated);
      });
    },
  };
}

function choose(
  text: string,
  spans: readonly SentenceSpan[],
  scores: readonly number[],
  budget: { sentences: number; characters: number },
  truncated: boolean,
): SummaryResult {
  if (spans.length === 0) return { sentences: [], truncated };
  const order = spans.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b);
  const chosen: number[] = [];
  let used = 0;
  // Greedy by rank: a sentence that does not fit is skipped, so a shorter, lower one may still.
  for (const i of order) {
    if (chosen.length === budget.sentences) break;
    const span = spans[i] as SentenceSpan;
    const length = Math.min(span.end - span.start, MAX_SENTENCE_CHARACTERS);
    if (used + length > budget.characters) continue;
    chosen.push(i);
    used += length;
  }
  // Nothing fits: the most central sentence, cut to the budget, rather than an empty summary.
  if (chosen.length === 0) chosen.push(order[0] as number);
  chosen.sort((a, b) => a - b);
  let cut = false;
  const sentences = chosen.map((i) => {
    const span = spans[i] as SentenceSpan;
    const allowed = Math.min(MAX_SENTENCE_CHARACTERS, chosen.length === 1 ? budget.characters : Number.POSITIVE_INFINITY);
    const end = span.end - span.start > allowed ? safeCut(text, span.start, allowed) : span.end;
    if (end !== span.end) cut = true;
    return { text: text.slice(span.start, end), start: span.start, end, score: round(scores[i] ?? 0) };
  });
  return { sentences, truncated: truncated || cut };
}
