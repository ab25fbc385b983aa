import { type CapabilitySpec } from '../config-schema.js';
import { lexRank } from '../math/lexrank.js';
import { maximalMarginalRelevance } from '../math/mmr.js';
import { round, type Vector } from '../math/vectors.js';
import { type Capability, derivedResults, type DerivedTexts } from '../types.js';
import { asVector, inputFrom } from './build-deps.js';
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
 * Extractive summary: splits each text into sentences ({@link splitSentences}), has the embedding
 * capability it depends on embed them, ranks them by LexRank centrality and picks among the most
 * central ({@link shortlistSize}) by maximal marginal relevance over the same vectors (`lambda`:
 * centrality against similarity to the sentences already picked, so a near-copy of a picked
 * sentence loses to one that adds something) under the `maxSentences`/`maxCharacters` budget,
 * returned in document order.
 *
 * The sentences are declared as derived texts of the embedding dependency (see
 * {@link DerivedTexts}): the batch engine embeds them in the batch's one execution of that
 * capability, deduplicated with the batch's own texts and every other request's sentences, so
 * they share batching windows with everything else. A capability that submitted the sentences to
 * the batcher from inside a batch could wait on a batch slot its own batch holds; this way there
 * is no second request to wait for. The whole input text is never embedded for a summary.
 */
export function summaryCapability(spec: Spec): Capability<SummaryResult> {
  const source = inputFrom(spec.params.embeddingFrom, spec.dependsOn, spec.name);
  const budget = { sentences: spec.params.maxSentences, characters: spec.params.maxCharacters ?? Number.POSITIVE_INFINITY };
  const { lambda } = spec.params;
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    derived: { dependency: source, texts: sentencesToEmbed, only: true },
    async run(texts, context) {
      const vectors = derivedResults(context, texts.length);
      return texts.map((text, i) => {
        const split = splitSentences(text, MAX_SENTENCES_RANKED);
        const count = split.sentences.length;
        const own = vectors[i] ?? [];
        if (count >= 2 && own.length !== count) throw new Error(`"${source}" embedded ${own.length} of ${count} sentences`);
        const embedded = count < 2 ? [] : own.map((v) => asVector(v, source));
        const scores = count < 2 ? split.sentences.map(() => 1) : lexRank(embedded);
        return choose(text, split.sentences, embedded, scores, { ...budget, lambda }, split.truncated);
      });
    },
  };
}

/**
 * The sentences of a text as they are embedded: the first {@link MAX_SENTENCES_RANKED}, each cut
 * to {@link MAX_SENTENCE_CHARACTERS}. A text of one sentence needs no ranking, so none: a 1 MB
 * run-on never reaches the model.
 */
export function sentencesToEmbed(text: string): string[] {
  const { sentences } = splitSentences(text, MAX_SENTENCES_RANKED);
  if (sentences.length < 2) return [];
  return sentences.map((s) => text.slice(s.start, safeCut(text, s.start, Math.min(s.end - s.start, MAX_SENTENCE_CHARACTERS))));
}

/**
 * How many of the most central sentences MMR chooses among before it looks further: half of
 * them, and at least twice the sentences wanted. Measured in bench/RESULTS-capabilities.md: over
 * all the sentences, MMR picks boilerplate unlike the rest ("This was noted on page 4.") for its
 * novelty; over a quarter, the shortlist of a long document's ranking round (the chunks' chosen
 * sentences) can hold little but wordings of two sentences, and a near-copy gets through.
 */
export function shortlistSize(sentences: number, wanted: number): number {
  return Math.max(2 * wanted, Math.ceil(sentences / 2));
}

function choose(
  text: string,
  spans: readonly SentenceSpan[],
  vectors: readonly Vector[],
  scores: readonly number[],
  budget: { sentences: number; characters: number; lambda: number },
  truncated: boolean,
): SummaryResult {
  if (spans.length === 0) return { sentences: [], truncated };
  const seen = new Set<string>();
  let used = 0;
  // Greedy: a sentence that does not fit is skipped, so a shorter, lower one may still. An exact
  // repeat of a chosen sentence is skipped too, even at lambda 1: it says nothing new.
  const chosen = maximalMarginalRelevance(vectors, scores, {
    lambda: budget.lambda,
    limit: budget.sentences,
    pool: shortlistSize(spans.length, budget.sentences),
    accept: (i) => {
      const span = spans[i] as SentenceSpan;
      const length = Math.min(span.end - span.start, MAX_SENTENCE_CHARACTERS);
      const words = text.slice(span.start, span.start + length).replace(/\s+/gu, ' ');
      if (used + length > budget.characters || seen.has(words)) return false;
      seen.add(words);
      used += length;
      return true;
    },
  });
  // Nothing fits: the most central sentence, cut to the budget, rather than an empty summary.
  if (chosen.length === 0) chosen.push(scores.indexOf(Math.max(...scores)));
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
