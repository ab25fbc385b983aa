import t, { type Test } from 'tap';
import { Batcher } from '../../../batcher/batcher.js';
import { entitiesCapability, type EntitiesResult, findEntities } from '../../../capabilities/builtin/entities.js';
import { entityRules } from '../../../capabilities/builtin/entity-rules.js';
import { capabilitySpecSchema, type CapabilitySpec } from '../../../capabilities/config-schema.js';
import { CapabilityRegistry } from '../../../capabilities/registry.js';
import { analyseText } from '../../../jobs/processors/analyse-text.js';
import { chunkText } from '../../../jobs/processors/chunk-text.js';
import { isEntitiesResult, mergeChunkEntities } from '../../../jobs/processors/merge-chunk-entities.js';
import { finishedJob } from '../../helpers/job-http.js';
import { startTestServer } from '../../helpers/test-server.js';

function entities(params: Record<string, unknown> = {}) {
  return entitiesCapability(capabilitySpecSchema.parse({ name: 'entities', kind: 'entities', params }) as Extract<CapabilitySpec, { kind: 'entities' }>);
}

/** analyseText over a real batcher with the `entities` capability. */
function analyser(params: Record<string, unknown> = {}) {
  const batcher = new Batcher(new CapabilityRegistry().register(entities(params)), { windowMs: 1, maxBatchTexts: 64 });
  return (text: string, chunkChars: number) =>
    analyseText(text, ['entities'], {
      analyse: (texts, capabilities, signal) => batcher.submit({ texts, capabilities, signal }),
      chunkChars,
      groupSize: 64,
      signal: new AbortController().signal,
      progress: () => {},
    });
}

/** Paragraphs full of spans, with astral characters (two UTF-16 units each) before many of them. */
const paragraph = (i: number): string =>
  `Ticket ${i} 🚰 was opened on 2024-03-${String((i % 28) + 1).padStart(2, '0')} by ops${i}@example.org. ` +
  `The fix cost $${(i * 37) % 900}.50 and cut leaks by ${i % 60}% 📉, see https://example.org/t/${i} or call +44 20 7946 0${String(i % 1000).padStart(3, '0')}. ` +
  `Thanks to @crew${i} #water${i}!`;
const document = '\n\n  ' + Array.from({ length: 60 }, (_, i) => paragraph(i)).join('\n\n') + '\n';

function checkSpans(t: Test, text: string, result: EntitiesResult): void {
  const wrong = result.entities.filter((e) => text.slice(e.start, e.end) !== e.text);
  t.same(wrong, [], `all ${result.entities.length} spans: text.slice(start, end) === entity.text`);
  t.ok(result.entities.every((e, i) => i === 0 || e.start >= (result.entities[i - 1]?.end ?? 0)), 'in text order, no overlaps');
}

t.test('a long text: spans of every chunk, with offsets into the whole text', async (t) => {
  const result = await analyser()(document, 300);
  t.ok(result.chunks > 20, `${result.chunks} chunks`);
  const merged = result.results.entities as EntitiesResult;
  t.ok(isEntitiesResult(merged), 'one entities result, not a list of chunk results');
  checkSpans(t, document, merged);
  t.equal(merged.truncated, false);
  t.same(merged, findEntities(document, entityRules, 10_000), 'the same spans as the capability finds in the whole text');
  t.ok(new Set(merged.entities.map((e) => e.type)).size >= 8, 'most kinds of span took part');
});

t.test('one chunk: offsets count the whitespace the chunk was trimmed of', async (t) => {
  const text = '\n\n   Mail ops@example.org today.  ';
  const result = await analyser()(text, 2048);
  t.equal(result.chunks, 1);
  const merged = result.results.entities as EntitiesResult;
  checkSpans(t, text, merged);
  t.same(merged.entities.map((e) => [e.type, e.text, e.start]), [['email', 'ops@example.org', 10]]);
});

t.test('truncation in any chunk is reported; no spans at all is a defined result', async (t) => {
  const result = await analyser({ maxEntities: 3 })(document, 300);
  const merged = result.results.entities as EntitiesResult;
  checkSpans(t, document, merged);
  t.equal(merged.truncated, true);
  const chunks = chunkText(document, 300);
  const expected = chunks.reduce((n, chunk) => n + Math.min(3, findEntities(chunk, entityRules, 10_000).entities.length), 0);
  t.equal(merged.entities.length, expected, 'each chunk gives its first 3 (or fewer)');
  const plain = 'no spans in here at all. '.repeat(200);
  const none = (await analyser()(plain, 300)).results.entities;
  t.same(none, { entities: [], truncated: false });
  t.same(mergeChunkEntities([], []), { entities: [], truncated: false });
  t.notOk(isEntitiesResult({ entities: [{ type: 'email' }], truncated: false }));
  t.notOk(isEntitiesResult(null));
});

t.test('entities of a long text through /process: one result, offsets into the text', async (t) => {
  const server = await startTestServer(t, [entities()], { jobs: { maxInlineTokens: 128, maxTextsPerRequest: 64 } });
  const text = Array.from({ length: 40 }, (_, i) => paragraph(i)).join('\n\n');
  const { status, body } = await server.post('/process', { text, capabilities: ['entities'] });
  t.equal(status, 202, JSON.stringify(body));
  const job = await finishedJob(server, body.jobId as string);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.ok(job.result.chunks > 1, `${job.result.chunks} chunks`);
  const merged = job.result.results.entities as EntitiesResult;
  t.ok(isEntitiesResult(merged));
  checkSpans(t, text, merged);
  t.same(merged.entities, findEntities(text, entityRules, 10_000).entities);
});
