import { MAX_SENTENCES_RANKED, type SummaryResult, type SummarySentence } from '../../capabilities/builtin/summary.js';
import { replyError } from '../../batcher/reply-error.js';
import { CapserveError } from '../../core/errors.js';
import { type AnalyseTexts } from './analyse-in-groups.js';

/** Between the candidates of a ranking round: a blank line, which always ends a sentence. */
const separator = '\n\n';

/** Whether a capability's result has the shape of a `summary` result. */
export function isSummaryResult(value: unknown): value is SummaryResult {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<SummaryResult>;
  return (
    typeof candidate.truncated === 'boolean' &&
    Array.isArray(candidate.sentences) &&
    candidate.sentences.every((s: Partial<SummarySentence>) => typeof s.text === 'string' && typeof s.start === 'number' && typeof s.end === 'number')
  );
}

/**
 * One summary of a whole document from the summaries of its chunks, with offsets into the
 * document: `document.slice(start, end) === text`.
 *
 * Hierarchical: each chunk's chosen sentences are candidates, and the same summary capability
 * (so the same budget) ranks the candidates together, through the batcher like any request, as
 * one text per group of at most {@link MAX_SENTENCES_RANKED} candidates, one candidate per
 * paragraph (a blank line always ends a sentence, and a candidate holds none, so each paragraph is
 * one sentence again). While more than
 * one group is left, the winners of each group are ranked again; every round shrinks the
 * candidates at least by half, so a document of any length takes a few rounds, each bounded.
 * Ranking every sentence of the document at once would cost O(n²) similarities (a three-hour
 * transcript has tens of thousands) and would keep only its first MAX_SENTENCES_RANKED.
 * The scores are those of the last ranking; `truncated` is set when any chunk's was.
 */
export async function mergeChunkSummaries(
  summaries: readonly SummaryResult[],
  chunkStarts: readonly number[],
  capability: string,
  options: { readonly analyse: AnalyseTexts; readonly signal: AbortSignal },
): Promise<SummaryResult> {
  let truncated = summaries.some((summary) => summary.truncated);
  let candidates: SummarySentence[] = summaries.flatMap((summary, i) =>
    summary.sentences.map((s) => ({ ...s, start: (chunkStarts[i] ?? 0) + s.start, end: (chunkStarts[i] ?? 0) + s.end })),
  );
  // One chunk's summary is already the document's, and one candidate needs no ranking.
  if (summaries.length <= 1 || candidates.length <= 1) return { sentences: candidates, truncated };
  for (;;) {
    const groups: SummarySentence[][] = [];
    for (let at = 0; at < candidates.length; at += MAX_SENTENCES_RANKED) groups.push(candidates.slice(at, at + MAX_SENTENCES_RANKED));
    if (options.signal.aborted) throw new CapserveError('REQUEST_CANCELLED', 'the job was cancelled');
    const reply = await options.analyse(
      groups.map((group) => group.map((c) => c.text).join(separator)),
      [capability],
      options.signal,
    );
    const failed = replyError(reply);
    if (failed !== undefined) throw failed;
    const next = groups.flatMap((group, g) => {
      const ranked = reply.results[g]?.[capability];
      if (!isSummaryResult(ranked)) throw new CapserveError('CAPABILITY_BAD_OUTPUT', `capability "${capability}" did not return a summary for the chunk candidates`);
      truncated ||= ranked.truncated;
      return ranked.sentences.map((s) => inDocument(group, s));
    });
    if (groups.length === 1 || next.length >= candidates.length) return { sentences: next, truncated };
    candidates = next;
  }
}

/** A sentence of a candidates text (one candidate per paragraph) placed back in the document. */
function inDocument(group: readonly SummarySentence[], sentence: SummarySentence): SummarySentence {
  let lineStart = 0;
  for (const candidate of group) {
    const lineEnd = lineStart + candidate.text.length;
    if (sentence.start >= lineStart && sentence.end <= lineEnd) {
      const start = candidate.start + (sentence.start - lineStart);
      return { text: sentence.text, start, end: start + sentence.text.length, score: sentence.score };
    }
    lineStart = lineEnd + separator.length;
  }
  throw new CapserveError('CAPABILITY_BAD_OUTPUT', 'a ranked sentence spans two candidates');
}
