import t, { type Test } from 'tap';
import { Batcher } from '../../../batcher/batcher.js';
import { BatchStats } from '../../../batcher/batch-stats.js';
import { type SummaryResult, summaryCapability } from '../../../capabilities/builtin/summary.js';
import { capabilitySpecSchema } from '../../../capabilities/config-schema.js';
import { fnv1a32, tokenize } from '../../../capabilities/math/hashed-tfidf.js';
import { CapabilityRegistry } from '../../../capabilities/registry.js';
import { type Capability } from '../../../capabilities/types.js';
import { analyseText } from '../../../jobs/processors/analyse-text.js';
import { chunkOffsets, chunkText } from '../../../jobs/processors/chunk-text.js';
import { makeProsePdf, proseParagraphs, themes } from '../../../scripts/fixtures/prose-pdf.js';
import { finishedJob } from '../../helpers/job-http.js';
import { recordingCapability } from '../../helpers/recording-capability.js';
import { startTestServer } from '../../helpers/test-server.js';

/** Hashed bag-of-words vectors: a deterministic embedding in which sentences about the same things are alike. */
const hashedWords = (texts: readonly string[]) =>
  texts.map((text) => {
    const vector = new Array<number>(64).fill(0);
    for (const word of tokenize(text)) vector[fnv1a32(word) % 64] = (vector[fnv1a32(word) % 64] ?? 0) + 1;
    return vector;
  });

function summarySpec(params: Record<string, unknown> = {}) {
  const spec = capabilitySpecSchema.parse({ name: 'summary', kind: 'summary', dependsOn: ['embedding'], params });
  if (spec.kind !== 'summary') throw new Error('not a summary spec');
  return spec;
}

/** analyseText over a real batcher with a recording embedding and a summary. */
function analyser(params: Record<string, unknown> = {}, embed: (texts: readonly string[]) => unknown[] = hashedWords) {
  const embedding = recordingCapability('embedding', [], { results: embed });
  const stats = new BatchStats();
  const batcher = new Batcher(new CapabilityRegistry().register(embedding, summaryCapability(summarySpec(params))), { windowMs: 1, maxBatchTexts: 64 }, { observer: stats });
  const analyse = (text: string, chunkChars: number, groupSize = 64) =>
    analyseText(text, ['summary'], {
      analyse: (texts, capabilities, signal) => batcher.submit({ texts, capabilities, signal }),
      chunkChars,
      groupSize,
      signal: new AbortController().signal,
      progress: () => {},
    });
  return { analyse, embedding, stats };
}

const document = proseParagraphs(20).map((page) => page.join('\n')).join('\n\n');

function checkSummary(t: Test, text: string, summary: SummaryResult, budget: { sentences: number; characters?: number }): void {
  t.ok(summary.sentences.length > 0 && summary.sentences.length <= budget.sentences, `${summary.sentences.length} sentences`);
  for (const s of summary.sentences) t.equal(text.slice(s.start, s.end), s.text, `offsets into the whole text: ${s.start}`);
  const starts = summary.sentences.map((s) => s.start);
  t.same(starts, [...starts].sort((a, b) => a - b), 'document order');
  const words = summary.sentences.map((s) => s.text.replace(/\s+/g, ' '));
  t.equal(new Set(words).size, words.length, 'no sentence twice');
  if (budget.characters !== undefined) t.ok(summary.sentences.reduce((n, s) => n + s.text.length, 0) <= budget.characters, 'within the character budget');
}

t.test('chunkOffsets places every chunk at its own place in the text', async (t) => {
  const texts = [document, '  lead. And trail  ', 'x'.repeat(25), 'a b c d e f g h i j k l m n o p', 'Same. Same. Same. Same.\n\nSame. Same.'];
  for (const text of texts) {
    for (const size of [5, 11, 40, 2048]) {
      const chunks = chunkText(text, size);
      const starts = chunkOffsets(text, chunks);
      const misplaced = chunks.filter((chunk, i) => text.slice(starts[i], (starts[i] ?? 0) + chunk.length) !== chunk);
      t.same(misplaced, [], `${chunks.length} chunks of ${size} in place`);
      t.ok(starts.every((start, i) => i === 0 || start >= (starts[i - 1] ?? 0) + (chunks[i - 1]?.length ?? 0)), `in order, size ${size}`);
    }
  }
  t.throws(() => chunkOffsets('abc', ['abd']));
});

t.test('a long text: chunk summaries ranked together, offsets into the whole text, one extra batch', async (t) => {
  const { analyse, embedding, stats } = analyser({ maxSentences: 3 });
  const result = await analyse(document, 2048);
  const summary = result.results.summary as SummaryResult;
  t.ok(result.chunks > 20, `${result.chunks} chunks`);
  checkSummary(t, document, summary, { sentences: 3 });
  t.equal(summary.truncated, false);
  const snapshot = stats.snapshot();
  t.equal(snapshot.batches.total, 2, 'one batch for the chunks (one group), one to rank the candidates');
  t.equal(snapshot.executions.actual, 4, 'embedding and summary once per batch');
  t.equal(embedding.executions.length, 2);
  t.notOk(embedding.executions.flatMap((e) => e.texts).some((text) => text.length > 2000), 'no whole chunk is embedded, only sentences');
});

t.test('a character budget holds for the whole document', async (t) => {
  const { analyse } = analyser({ maxSentences: 5, maxCharacters: 200 });
  const summary = (await analyse(document, 2048)).results.summary as SummaryResult;
  checkSummary(t, document, summary, { sentences: 5, characters: 200 });
});

t.test('more candidates than one ranking holds: ranked in rounds, still exact', async (t) => {
  const { analyse, embedding } = analyser({ maxSentences: 3 });
  const result = await analyse(document, 300, 64);
  t.ok(result.chunks * 3 > 200, `${result.chunks} chunks give more than 200 candidates`);
  const summary = result.results.summary as SummaryResult;
  checkSummary(t, document, summary, { sentences: 3 });
  const groups = Math.ceil(result.chunks / 64);
  t.equal(embedding.executions.length, groups + 2, 'one embedding execution per group of chunks, then two ranking rounds');
});

t.test('one chunk: offsets still count the leading whitespace it was trimmed of', async (t) => {
  const { analyse } = analyser({ maxSentences: 1 });
  const text = '\n\n   The cat sat on the mat. Stock prices fell. The cat likes the mat.  ';
  const result = await analyse(text, 2048);
  t.equal(result.chunks, 1);
  const summary = result.results.summary as SummaryResult;
  checkSummary(t, text, summary, { sentences: 1 });
});

t.test('no sentences anywhere, or a failing embedding, give defined results', async (t) => {
  const { analyse } = analyser();
  const words = 'word '.repeat(2000);
  const summary = (await analyse(words, 2048)).results.summary as SummaryResult;
  checkSummary(t, words, summary, { sentences: 3 });
  const failing = analyser({}, () => {
    throw new Error('model down');
  });
  await t.rejects(failing.analyse(document, 2048), { code: 'DEPENDENCY_FAILED' });
});

t.test('summary of a 20-page PDF through /process: exact offsets into the text, sentence embeddings batched', async (t) => {
  const embedding: Capability<unknown> = recordingCapability('embedding', [], { results: hashedWords });
  const server = await startTestServer(t, [embedding, summaryCapability(summarySpec({ maxSentences: 3 }))], { jobs: { maxInlineTokens: 512, maxTextsPerRequest: 64 } });
  const before = server.service.stats.snapshot();
  const form = new FormData();
  form.append('capabilities', 'summary');
  form.append('file', new Blob([makeProsePdf(proseParagraphs(20))]), 'report.pdf');
  const response = await fetch(`${server.url}/process`, { method: 'POST', body: form });
  t.equal(response.status, 202);
  const job = await finishedJob(server, ((await response.json()) as { jobId: string }).jobId);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal(job.result.pages, 20);
  checkSummary(t, job.result.text, job.result.results.summary, { sentences: 3 });
  // The report repeats a few sentences behind different opening words; MMR keeps one wording of each.
  const bases = (job.result.results.summary as SummaryResult).sentences.map((s) =>
    themes.flat().find((sentence) => s.text.replace(/\s+/g, ' ').endsWith(sentence.slice(1))) ?? s.text,
  );
  t.equal(new Set(bases).size, bases.length, `no two wordings of one sentence: ${bases.join(' | ')}`);
  const after = server.service.stats.snapshot();
  const executions = after.executions.actual - before.executions.actual;
  const batches = after.batches.total - before.batches.total;
  t.equal(batches, 2, `one batch for the ${job.result.chunks} chunks (one group of 64), one to rank their candidates`);
  t.equal(executions, 2 * batches, 'embedding and summary once per batch');
  t.ok((after.capabilities.embedding?.texts ?? 0) > 400, `${after.capabilities.embedding?.texts} distinct sentences embedded (the report repeats itself)`);
});
