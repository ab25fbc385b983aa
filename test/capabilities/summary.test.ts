import path from 'node:path';
import t from 'tap';
import { buildCapabilities } from '../../capabilities/build.js';
import { Batcher } from '../../batcher/batcher.js';
import { BatchStats } from '../../batcher/batch-stats.js';
import { splitSentences } from '../../capabilities/builtin/sentences.js';
import { MAX_SENTENCE_CHARACTERS, MAX_SENTENCES_RANKED, sentencesToEmbed, summaryCapability, type SummaryResult } from '../../capabilities/builtin/summary.js';
import { capabilitySpecSchema, SUMMARY_LAMBDA } from '../../capabilities/config-schema.js';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { lexRank } from '../../capabilities/math/lexrank.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { ManualTime } from '../../core/manual-time.js';
import { summaryResultSchema } from '../../capabilities/result-schemas.js';
import { loadConfig } from '../../server/config.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { serviceApp } from '../helpers/service-app.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const texts = (text: string) => splitSentences(text).sentences.map((s) => text.slice(s.start, s.end));

t.test('sentences split on terminators before an upper-case letter or the end, and on line breaks', async (t) => {
  const text = '  Hello there! Is it 3.14? Yes, e.g. this one.\nNo terminator here\r\n"Quoted." Then (bracketed.) Done...  ';
  const split = splitSentences(text);
  t.same(texts(text), ['Hello there!', 'Is it 3.14?', 'Yes, e.g. this one.', 'No terminator here', '"Quoted."', 'Then (bracketed.)', 'Done...']);
  for (const s of split.sentences) t.equal(text.slice(s.start, s.end).trim(), text.slice(s.start, s.end), 'offsets leave whitespace out');
  t.equal(split.truncated, false);
  t.same(splitSentences('').sentences, []);
  t.same(splitSentences(' \n\n \t').sentences, []);
  t.same(texts('no boundaries at all, just words'), ['no boundaries at all, just words']);
  t.same(texts('lower. case follows. So one split.'), ['lower. case follows.', 'So one split.']);
  t.same(
    texts('A line wrapped by the\nlayout goes on. A new line\nStarts a sentence.\r\nand a blank line\n\nalways ends one'),
    ['A line wrapped by the\nlayout goes on.', 'A new line', 'Starts a sentence.\r\nand a blank line', 'always ends one'],
    'a single line break followed by lower case is a wrapped line (PDF, OCR)',
  );
  t.same(texts('one\r\rtwo'), ['one', 'two'], 'two bare carriage returns are a blank line');
  const many = splitSentences('A. '.repeat(500), 10);
  t.equal(many.sentences.length, 10);
  t.equal(many.truncated, true);
});

t.test('splitting a megabyte of terminators, or binary garbage, is linear', async (t) => {
  const started = performance.now();
  splitSentences('.'.repeat(1_000_000) + 'x');
  splitSentences('!? '.repeat(300_000));
  const garbage = Array.from({ length: 500_000 }, (_, i) => String.fromCharCode((i * 7919) % 0xd7ff)).join('');
  const split = splitSentences(garbage, MAX_SENTENCES_RANKED);
  t.ok(split.sentences.length <= MAX_SENTENCES_RANKED);
  t.ok(performance.now() - started < 5000, 'well under the limits of a request');
});

t.test('lexRank puts the sentence most like the others first', async (t) => {
  const scores = lexRank([[1, 0], [1, 0.1], [0.9, 0.2], [0, 1]]);
  t.equal(Math.max(...scores), 1);
  t.ok((scores[3] ?? 1) < Math.min(...scores.slice(0, 3)));
  t.same(lexRank([]), []);
  t.same(lexRank([[0, 0]]), [1]);
  t.same(lexRank([[0, 0], [0, 0]]), [1, 1], 'zero vectors rank evenly, no NaN');
});

const vocabulary = ['cat', 'mat', 'sat', 'likes', 'sleeps', 'the', 'stock', 'prices', 'rain', 'tomorrow'];
/** Bag-of-words vectors over a fixed vocabulary: a deterministic embedding. */
const bagOfWords = (texts: readonly string[]) => texts.map((text) => vocabulary.map((word) => text.toLowerCase().split(/\W+/).filter((w) => w === word).length));

/**
 * A summary over a recording bag-of-words `embedding`, run through a real batcher (the sentences
 * are derived texts of the embedding, so only a batch computes them); `embedding.executions`
 * records the texts of each embedding execution.
 */
function summary(params: Record<string, unknown> = {}, embed: (texts: readonly string[]) => unknown[] = bagOfWords) {
  const embedding = recordingCapability('embedding', [], { results: embed });
  const spec = capabilitySpecSchema.parse({ name: 'summary', kind: 'summary', dependsOn: ['embedding'], params });
  if (spec.kind !== 'summary') throw new Error('not a summary spec');
  const capability = summaryCapability(spec);
  const batcher = new Batcher(new CapabilityRegistry().register(embedding, capability), { windowMs: 1, maxBatchTexts: 64 });
  const run = async (input: string[]) => (await batcher.submit({ texts: input, capabilities: ['summary'] })).results.map((r) => r.summary as SummaryResult);
  return { run, embedding, batcher, capability };
}

const story = 'The cat sat on the mat. Stock prices fell. The cat likes the mat. Rain tomorrow. The cat sleeps on the mat.';

t.test('the central sentences come back in document order with offsets', async (t) => {
  const { run, embedding } = summary();
  const [result] = await run([story]);
  const calls = embedding.executions.map((e) => e.texts);
  t.same(result?.sentences.map((s) => s.text), ['The cat sat on the mat.', 'The cat likes the mat.', 'The cat sleeps on the mat.']);
  for (const s of result?.sentences ?? []) t.equal(story.slice(s.start, s.end), s.text);
  t.equal(Math.max(...(result?.sentences ?? []).map((s) => s.score)), 1);
  t.equal(result?.truncated, false);
  t.same(calls, [texts(story)], 'one embedding execution over the sentences; the whole text is not embedded');
  t.ok(summaryResultSchema.safeParse(result).success, 'matches the documented result schema');
});

t.test('budgets in sentences and characters', async (t) => {
  const one = (await summary({ maxSentences: 1 }).run([story]))[0];
  t.equal(one?.sentences.length, 1);
  t.match(one?.sentences[0]?.text, /^The cat/);
  const chars = (await summary({ maxCharacters: 50 }).run([story]))[0];
  t.ok((chars?.sentences ?? []).reduce((n, s) => n + s.text.length, 0) <= 50);
  t.equal(chars?.sentences.length, 2);
  t.equal(chars?.truncated, false);
  const tiny = (await summary({ maxCharacters: 10 }).run([story]))[0];
  t.equal(tiny?.sentences.length, 1, 'nothing fits: the best sentence, cut');
  t.equal(tiny?.sentences[0]?.text.length, 10);
  t.equal(tiny?.truncated, true);
  t.throws(() => capabilitySpecSchema.parse({ name: 's', kind: 'summary', params: { maxSentences: 0 } }));
});

t.test('edge cases give defined results without reaching the model', async (t) => {
  const { run, embedding } = summary({ maxCharacters: 100 });
  const huge = 'word '.repeat(200_000);
  const [empty, single, boundless, big] = await run(['', 'Just one sentence.', 'no boundaries here at all', huge]);
  t.same(empty, { sentences: [], truncated: false });
  t.same(single?.sentences, [{ text: 'Just one sentence.', start: 0, end: 18, score: 1 }]);
  t.same(boundless?.sentences.map((s) => s.text), ['no boundaries here at all']);
  t.equal(big?.sentences[0]?.text.length, 100);
  t.equal(big?.truncated, true);
  t.same(embedding.executions, [], 'single sentences need no embedding');
  const [unbounded] = await summary().run([huge]);
  t.equal(unbounded?.sentences[0]?.text.length, MAX_SENTENCE_CHARACTERS);
  t.equal(unbounded?.truncated, true);
});

t.test('only the first sentences are ranked; all texts of a batch share one embedding execution', async (t) => {
  const { run, embedding } = summary();
  const long = Array.from({ length: MAX_SENTENCES_RANKED + 50 }, (_, i) => `The cat sat ${i} times.`).join(' ');
  const [first, second] = await run([long, story]);
  t.equal(first?.truncated, true);
  t.ok((first?.sentences.at(-1)?.end ?? Infinity) <= long.indexOf(`The cat sat ${MAX_SENTENCES_RANKED - 1} times.`) + 30);
  t.equal(second?.sentences.length, 3);
  t.equal(embedding.executions.length, 1);
  t.equal(embedding.executions[0]?.texts.length, MAX_SENTENCES_RANKED + 5);
  t.same(sentencesToEmbed(long).length, MAX_SENTENCES_RANKED);
});

t.test('repeated sentences are embedded once and chosen once', async (t) => {
  const { run, embedding } = summary({ maxSentences: 2 });
  const repeated = 'The cat sat. '.repeat(10) + 'Stock prices fell.';
  const [result] = await run([repeated]);
  t.same(embedding.executions.map((e) => e.texts), [['The cat sat.', 'Stock prices fell.']]);
  t.same(result?.sentences.map((s) => s.text), ['The cat sat.', 'Stock prices fell.'], 'a repeat of a chosen sentence is not chosen again');
  for (const s of result?.sentences ?? []) t.equal(repeated.slice(s.start, s.end), s.text);
});

/** Hand-made vectors: two wordings of the report's central sentence, two themes of two sentences each, and an aside. */
const report: Record<string, number[]> = {
  'The council expects water demand to exceed the reliable supply.': [1, 0.3, 0.3, 0],
  'However, the council expects water demand to exceed the reliable supply.': [1, 0.31, 0.3, 0],
  'Leaks in the old mains lose a fifth of the water.': [0.4, 1, 0, 0],
  'Replacing the oldest mains would save more water than a new source.': [0.4, 0.9, 0.1, 0],
  'Smart meters show that a few large users make the peak demand.': [0.4, 0, 1, 0],
  'A tariff that charges more for heavy summer use was proposed.': [0.4, 0.1, 0.9, 0],
  'The town band played at the library.': [0, 0, 0.1, 1],
};
const reportText = Object.keys(report).join(' ');
const reportVectors = (texts: readonly string[]) => texts.map((text) => report[text] ?? [0, 0, 0, 0]);
const nearCopies = (sentences: readonly { text: string }[]) => sentences.filter((s) => s.text.includes('council expects')).length;

t.test('near-copies of a chosen sentence are not chosen while a distinct sentence is available', async (t) => {
  const before = (await summary({ maxSentences: 3, lambda: 1 }, reportVectors).run([reportText]))[0];
  t.equal(nearCopies(before?.sentences ?? []), 2, 'centrality alone (lambda 1) picks both wordings of one sentence');
  for (const maxSentences of [2, 3]) {
    const [result] = await summary({ maxSentences }, reportVectors).run([reportText]);
    const chosen = result?.sentences ?? [];
    t.equal(chosen.length, maxSentences);
    t.equal(nearCopies(chosen), 1, `${maxSentences} sentences: one wording of the central sentence`);
    t.equal(new Set(chosen.map((s) => report[s.text]?.indexOf(Math.max(...(report[s.text] ?? []))))).size, maxSentences, 'each from a theme of its own');
    t.notOk(chosen.some((s) => s.text.startsWith('The town band')), 'the aside is not picked for being unlike everything');
    for (const s of chosen) t.equal(reportText.slice(s.start, s.end), s.text);
  }
  const [first] = await summary({ maxSentences: 1 }, reportVectors).run([reportText]);
  t.equal(first?.sentences[0]?.score, 1, 'the first pick is the most central sentence');
  const [budgeted] = await summary({ maxSentences: 3, maxCharacters: 130 }, reportVectors).run([reportText]);
  t.ok((budgeted?.sentences ?? []).reduce((n, s) => n + s.text.length, 0) <= 130, 'the character budget still holds');
  t.equal(nearCopies(budgeted?.sentences ?? []), 1);
  t.same((capabilitySpecSchema.parse({ name: 's', kind: 'summary' }) as { params: unknown }).params, { maxSentences: 3, lambda: SUMMARY_LAMBDA }, 'lambda has a default');
  t.throws(() => capabilitySpecSchema.parse({ name: 's', kind: 'summary', params: { lambda: 1.5 } }));
  t.throws(() => capabilitySpecSchema.parse({ name: 's', kind: 'summary', params: { lambda: -0.1 } }));
});

t.test('sentences share the embedding execution with other requests of the batch, and every result is exact', async (t) => {
  const time = new ManualTime();
  const embedding = recordingCapability('embedding', [], { results: bagOfWords });
  const spec = capabilitySpecSchema.parse({ name: 'summary', kind: 'summary', dependsOn: ['embedding'], params: { maxSentences: 2 } });
  if (spec.kind !== 'summary') throw new Error('not a summary spec');
  const stats = new BatchStats();
  const batcher = new Batcher(new CapabilityRegistry().register(embedding, summaryCapability(spec)), { windowMs: 5, maxBatchTexts: 64, mode: 'fixed' }, { time, observer: stats });
  const alone = summary({ maxSentences: 2 });
  const expected = await alone.run([story]);

  const a = batcher.submit({ texts: [story], capabilities: ['summary'] });
  const b = batcher.submit({ texts: ['Rain tomorrow.', 'The cat likes fish'], capabilities: ['embedding'] });
  const c = batcher.submit({ texts: [story, 'Stock prices fell. The cat likes the mat.'], capabilities: ['summary', 'embedding'] });
  time.advance(5);
  const [ra, rb, rc] = await Promise.all([a, b, c]);
  t.equal(embedding.executions.length, 1, 'one embedding execution for the whole batch');
  t.same(
    [...(embedding.executions[0]?.texts ?? [])].sort(),
    [...new Set(['Rain tomorrow.', 'The cat likes fish', story, 'Stock prices fell. The cat likes the mat.', ...texts(story), 'Stock prices fell.', 'The cat likes the mat.'])].sort(),
    "the batch's own texts that need an embedding and every sentence, each once",
  );
  t.same(ra.results[0]?.summary, expected[0]);
  t.same(rc.results[0]?.summary, expected[0]);
  t.same(rb.results.map((r) => r.embedding), bagOfWords(['Rain tomorrow.', 'The cat likes fish']), "a sentence and another request's text share one result");
  t.same(rc.results[1]?.embedding, bagOfWords(['Stock prices fell. The cat likes the mat.'])[0]);
  t.same(rc.results[1]?.summary, (await alone.run(['Stock prices fell. The cat likes the mat.']))[0]);
  t.equal(ra.batch.texts, 4, 'the batch reports its own distinct texts, not the sentences');
  const snapshot = stats.snapshot();
  t.equal(snapshot.executions.actual, 2, 'embedding and summary once each');
  t.equal(snapshot.capabilities.embedding?.texts, embedding.executions[0]?.texts.length, 'the sentences embedded are counted');
});

t.test("a failed embedding fails the summary with DEPENDENCY_FAILED, and only the requests that need it", async (t) => {
  const embedding = recordingCapability('embedding', [], { fail: (batch) => batch.some((text) => text.includes('explode')) });
  const spec = capabilitySpecSchema.parse({ name: 'summary', kind: 'summary', dependsOn: ['embedding'] });
  if (spec.kind !== 'summary') throw new Error('not a summary spec');
  const stats = recordingCapability('stats');
  const batcher = new Batcher(new CapabilityRegistry().register(embedding, summaryCapability(spec), stats), { windowMs: 1, maxBatchTexts: 64 });
  const [failed, bystander] = await Promise.all([
    batcher.submit({ texts: ['It will explode. Then calm.'], capabilities: ['summary'] }),
    batcher.submit({ texts: ['fine'], capabilities: ['stats'] }),
  ]);
  t.same(failed.failures.map((f) => f.code), ['DEPENDENCY_FAILED']);
  t.same(bystander.failures, []);
  t.same(bystander.results, [{ stats: 'stats(fine)' }]);
});

t.test('a summary run outside a batch fails loudly; a derived dependency must be listed', async (t) => {
  const { capability } = summary();
  await t.rejects(capability.run([story], { dependencies: new Map(), signal: new AbortController().signal }), /only inside a batch/);
  const embedding = recordingCapability('embedding');
  t.throws(
    () => new CapabilityRegistry().register(embedding, { ...capability, dependsOn: [] }),
    { code: 'UNKNOWN_DEPENDENCY', names: ['embedding'] },
  );
});

t.test('a summary capability over the tiny BERT through /classify', async (t) => {
  const dir = await tinyBertDir();
  const config = loadConfig({ PORT: '0', MODELS_DIR: path.dirname(dir), CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json') });
  const capabilities = parseCapabilitiesConfig({
    models: [{ name: 'tiny-embedder', backend: 'transformers', task: 'embedding', path: dir }],
    capabilities: [
      { name: 'vector', kind: 'embedding', model: 'tiny-embedder' },
      { name: 'summary', kind: 'summary', dependsOn: ['vector'], params: { maxSentences: 2 } },
    ],
  });
  const { app, service } = await serviceApp(t, config, capabilities);
  await service.start();
  const response = await app.inject({ method: 'POST', url: '/classify', payload: { texts: [story, 'One.'], capabilities: ['summary'] } });
  t.equal(response.statusCode, 200, response.body);
  const [first, second] = (response.json() as { results: { summary: SummaryResult }[] }).results;
  t.equal(first?.summary.sentences.length, 2);
  const starts = first?.summary.sentences.map((s) => s.start) ?? [];
  t.same(starts, [...starts].sort((a, b) => a - b), 'document order');
  for (const s of first?.summary.sentences ?? []) t.equal(story.slice(s.start, s.end), s.text);
  t.same(second?.summary, { sentences: [{ text: 'One.', start: 0, end: 4, score: 1 }], truncated: false });
  t.ok(summaryResultSchema.safeParse(first?.summary).success);
});

t.test('a summary without its embedding dependency does not build', async (t) => {
  const config = parseCapabilitiesConfig({ capabilities: [{ name: 'summary', kind: 'summary' }] });
  await t.rejects(buildCapabilities(config, undefined as never, 'x.json'), { code: 'CONFIG_INVALID' });
});
