import t from 'tap';
import { alertRulesCapability } from '../../capabilities/builtin/alert-rules.js';
import { catalogueRecommendationsCapability } from '../../capabilities/builtin/catalogue-recommendations.js';
import { type BuildDeps } from '../../capabilities/builtin/build-deps.js';
import { languageIdCapability } from '../../capabilities/builtin/language-id.js';
import { embeddingCapability } from '../../capabilities/builtin/model-capabilities.js';
import { textStatsCapability } from '../../capabilities/builtin/text-stats.js';
import { capabilitySpecSchema, type CapabilitySpec } from '../../capabilities/config-schema.js';
import { type CapabilityContext } from '../../capabilities/types.js';
import { type ModelPool } from '../../models/pool.js';

function spec<K extends CapabilitySpec['kind']>(raw: Record<string, unknown>): Extract<CapabilitySpec, { kind: K }> {
  return capabilitySpecSchema.parse(raw) as Extract<CapabilitySpec, { kind: K }>;
}
const context = (dependencies: Record<string, unknown[]>): CapabilityContext => ({
  dependencies: new Map(Object.entries(dependencies)),
  signal: new AbortController().signal,
});
const sentiment = (negative: number) => ({
  label: negative >= 0.5 ? 'negative' : 'positive',
  score: Math.max(negative, 1 - negative),
  scores: { negative, positive: 1 - negative },
});

t.test('alert rules: strongly negative sentiment and whole-word keywords', async (t) => {
  const alerts = alertRulesCapability(
    spec<'alert-rules'>({
      name: 'alerts',
      kind: 'alert-rules',
      dependsOn: ['sentiment'],
      params: { threshold: 0.8, keywords: [{ term: 'fraud', severity: 'high' }, { term: 'c++' }] },
    }),
  );
  const texts = ['This is fraud!', 'fraudulent? no', 'I love C++', 'mildly annoyed', 'worst day ever'];
  const results = await alerts.run(texts, context({ sentiment: [0.1, 0.2, 0.1, 0.6, 0.97].map(sentiment) }));
  t.same(results.map((r) => r.triggered), [true, false, true, false, true]);
  t.same(results[0]?.alerts, [{ rule: 'keyword', severity: 'high', message: 'mentions "fraud"' }]);
  t.equal(results[2]?.alerts[0]?.severity, 'medium', 'keyword severity defaults to medium; regex characters are literal');
  t.same(results[4]?.alerts.map((a) => [a.rule, a.severity]), [['negative-sentiment', 'high']]);
  t.throws(() => alertRulesCapability(spec<'alert-rules'>({ name: 'a', kind: 'alert-rules', params: {} })), /must list its input/);
});

t.test('catalogue recommendations: nearest items in topic space, tone-matched first', async (t) => {
  const recommend = catalogueRecommendationsCapability(
    spec<'catalogue-recommendations'>({
      name: 'recommendations',
      kind: 'catalogue-recommendations',
      dependsOn: ['topics', 'sentiment'],
      params: {
        topK: 2,
        items: [
          { id: 'refund', title: 'Refunds', topics: { billing: 1 }, tone: 'negative' },
          { id: 'plans', title: 'Plans', topics: { billing: 1 }, tone: 'positive' },
          { id: 'track', title: 'Tracking', topics: { delivery: 1 } },
        ],
      },
    }),
  );
  const topics = [{ scores: { billing: 0.9, delivery: 0.1 } }, { scores: { billing: 0.9, delivery: 0.1 } }, { scores: { delivery: 1 } }];
  const results = await recommend.run(['a', 'b', 'c'], context({ topics, sentiment: [0.9, 0.1, 0.9].map(sentiment) }));
  t.same(results[0]?.items.map((i) => i.id), ['refund', 'plans'], 'negative billing text: refund first');
  t.same(results[1]?.items.map((i) => i.id), ['plans', 'refund'], 'positive billing text: plans first');
  t.equal(results[2]?.items[0]?.id, 'track');
  t.equal(results[2]?.items[0]?.score, 1);
});

t.test('language identification', async (t) => {
  const language = languageIdCapability(spec<'language-id'>({ name: 'language', kind: 'language-id' }));
  const results = await language.run(
    [
      'The quick brown fox jumps over the lazy dog while the farmer watches.',
      'Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.',
      'El rápido zorro marrón salta sobre el perro perezoso mientras el granjero mira.',
      'hi',
    ],
    context({}),
  );
  t.same(results.map((r) => r.language), ['eng', 'fra', 'spa', 'und']);
  t.ok((results[0]?.confidence ?? 0) > 0);
  t.equal(results[3]?.confidence, 0);
});

t.test('capability config schema names the bad path', async (t) => {
  const result = capabilitySpecSchema.safeParse({ name: 'topics', kind: 'zero-shot-topics', params: { labels: { a: 'x' } } });
  t.notOk(result.success);
  t.match(JSON.stringify(result.error?.issues), /labels/);
  t.notOk(capabilitySpecSchema.safeParse({ name: 'Bad Name', kind: 'language-id' }).success);
  t.notOk(capabilitySpecSchema.safeParse({ name: 'x', kind: 'teleport' }).success);
});

t.test('text-stats counts characters (code points), words and estimated tokens', async (t) => {
  const stats = textStatsCapability(spec<'text-stats'>({ name: 'text-stats', kind: 'text-stats' }));
  const [plain, spaced, emoji] = await stats.run(['two words', '  lots   of\tspace \n', '😀 ok'], context({}));
  t.same(plain, { characters: 9, words: 2, estimatedTokens: 3 });
  t.same(spaced, { characters: 19, words: 3, estimatedTokens: 5 }, 'whitespace counts towards the character estimate');
  t.same(emoji, { characters: 4, words: 2, estimatedTokens: 3 });
});

t.test('embedding: plain arrays with the model\'s float32 values, the same JSON as Array.from', async (t) => {
  const vectors = [Float32Array.from([0.1, -2.5e-8, 3, -0]), new Float32Array(0)];
  const pool = { run: async () => vectors } as unknown as ModelPool;
  const deps: BuildDeps = { pool, configDir: '.', runCapability: async () => [], repository: undefined };
  const embedding = embeddingCapability(spec<'embedding'>({ name: 'e', kind: 'embedding', model: 'm' }), deps);
  const results = await embedding.run(['a', 'b'], context({}));
  t.ok(results.every((r) => Array.isArray(r)));
  t.same(results, vectors.map((v) => Array.from(v)));
  t.equal(JSON.stringify(results), JSON.stringify(vectors.map((v) => Array.from(v))));
});
