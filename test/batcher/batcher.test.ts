import t from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { type BatchObserver, type ResultEvent } from '../../batcher/types.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { ManualTime } from '../../core/manual-time.js';
import { recordingCapability } from '../helpers/recording-capability.js';

function setup(options: { windowMs?: number; maxBatchTexts?: number; failing?: string; observer?: BatchObserver } = {}) {
  const time = new ManualTime();
  const fail = (name: string) => (options.failing === name ? () => true : undefined);
  const classification = recordingCapability('classification', [], { fail: fail('classification') });
  const recommendations = recordingCapability('recommendations', ['classification'], { fail: fail('recommendations') });
  const alerts = recordingCapability('alerts', ['classification'], { fail: fail('alerts') });
  const language = recordingCapability('language');
  const registry = new CapabilityRegistry().register(classification, recommendations, alerts, language);
  const batcher = new Batcher(
    registry,
    { windowMs: options.windowMs ?? 10, maxBatchTexts: options.maxBatchTexts ?? 64, mode: 'fixed' },
    { time, observer: options.observer ?? {} },
  );
  return { time, batcher, classification, recommendations, alerts, language };
}

t.test('seed scenario: one window, each capability once over exactly the texts that need it', async (t) => {
  const { time, batcher, classification, recommendations, alerts } = setup();
  const a = batcher.submit({ texts: ['a1', 'a2'], capabilities: ['classification'] });
  time.advance(3);
  const b = batcher.submit({ texts: ['b1'], capabilities: ['classification', 'recommendations'] });
  time.advance(3);
  const c = batcher.submit({ texts: ['c1', 'c2'], capabilities: ['classification', 'alerts'] });
  time.advance(3);
  t.equal(classification.executions.length, 0, 'nothing runs before the window closes');
  t.equal(batcher.queuedTexts, 5);
  time.advance(1);
  const [ra, rb, rc] = await Promise.all([a, b, c]);

  t.same(classification.executions.map((e) => e.texts), [['a1', 'a2', 'b1', 'c1', 'c2']]);
  t.same(recommendations.executions, [
    { texts: ['b1'], dependencies: { classification: ['classification(b1)'] } },
  ]);
  t.same(alerts.executions, [
    { texts: ['c1', 'c2'], dependencies: { classification: ['classification(c1)', 'classification(c2)'] } },
  ]);

  t.same(ra.results, [{ classification: 'classification(a1)' }, { classification: 'classification(a2)' }]);
  t.same(rb.results, [{ classification: 'classification(b1)', recommendations: 'recommendations(b1)' }]);
  t.same(rc.results, [
    { classification: 'classification(c1)', alerts: 'alerts(c1)' },
    { classification: 'classification(c2)', alerts: 'alerts(c2)' },
  ]);
  for (const reply of [ra, rb, rc]) {
    t.same(reply.failures, []);
    t.equal(reply.batch.id, 1);
    t.equal(reply.batch.requests, 3);
    t.equal(reply.batch.texts, 5);
  }
  t.equal(ra.batch.waitedMs, 10, 'the first request waited the whole window');
  t.equal(rc.batch.waitedMs, 4);
});

t.test('a dependency that is not requested still runs once, for the texts that need it', async (t) => {
  const { time, batcher, classification, alerts } = setup();
  const reply = batcher.submit({ texts: ['x', 'y'], capabilities: ['alerts'] });
  time.advance(10);
  t.same((await reply).results, [{ alerts: 'alerts(x)' }, { alerts: 'alerts(y)' }], 'only what was asked for');
  t.same(classification.executions.map((e) => e.texts), [['x', 'y']]);
  t.equal(alerts.executions.length, 1);
});

t.test('identical texts inside one batch are computed once and every request gets them', async (t) => {
  const { time, batcher, classification } = setup();
  const one = batcher.submit({ texts: ['same', 'other', 'same'], capabilities: ['classification'] });
  const two = batcher.submit({ texts: ['same'], capabilities: ['classification'] });
  time.advance(10);
  const [r1, r2] = await Promise.all([one, two]);
  t.same(classification.executions.map((e) => e.texts), [['same', 'other']]);
  t.same(r1.results.map((r) => r.classification), ['classification(same)', 'classification(other)', 'classification(same)']);
  t.same(r2.results, [{ classification: 'classification(same)' }]);
});

t.test('the window closes at once when it reaches maxBatchTexts', async (t) => {
  const { time, batcher, classification } = setup({ maxBatchTexts: 4 });
  const first = batcher.submit({ texts: ['1', '2'], capabilities: ['classification'] });
  const second = batcher.submit({ texts: ['3', '4'], capabilities: ['classification'] });
  t.equal(time.pending, 0, 'the timer was cancelled');
  await Promise.all([first, second]);
  t.same(classification.executions.map((e) => e.texts), [['1', '2', '3', '4']]);
  t.equal(time.now(), 0, 'no time passed');
});

t.test('a request that would overflow the window starts the next one and is never split', async (t) => {
  const { time, batcher, classification } = setup({ maxBatchTexts: 4 });
  const first = batcher.submit({ texts: ['1', '2', '3'], capabilities: ['classification'] });
  const second = batcher.submit({ texts: ['4', '5'], capabilities: ['classification'] });
  const big = batcher.submit({ texts: ['6', '7', '8', '9', '10'], capabilities: ['classification'] });
  await first;
  time.advance(10);
  const replies = await Promise.all([first, second, big]);
  t.same(classification.executions.map((e) => e.texts), [['1', '2', '3'], ['4', '5'], ['6', '7', '8', '9', '10']]);
  t.same(replies.map((r) => r.batch.id), [1, 2, 3]);
});

t.test('a failing capability fails only the requests that needed it', async (t) => {
  const { time, batcher, classification, alerts } = setup({ failing: 'recommendations' });
  const plain = batcher.submit({ texts: ['p'], capabilities: ['classification', 'alerts'] });
  const wanting = batcher.submit({ texts: ['w'], capabilities: ['classification', 'recommendations'] });
  time.advance(10);
  const [rp, rw] = await Promise.all([plain, wanting]);
  t.same(rp.failures, []);
  t.same(rp.results, [{ classification: 'classification(p)', alerts: 'alerts(p)' }]);
  t.same(rw.failures, [
    { capability: 'recommendations', code: 'CAPABILITY_FAILED', message: 'capability "recommendations" failed: recommendations exploded' },
  ]);
  t.same(rw.results, [{ classification: 'classification(w)' }], 'what succeeded is still there');
  t.equal(classification.executions.length, 1);
  t.equal(alerts.executions.length, 1);

  const later = batcher.submit({ texts: ['again'], capabilities: ['classification'] });
  time.advance(10);
  t.same((await later).failures, [], 'later batches succeed');
});

t.test('a failing dependency fails its dependents with DEPENDENCY_FAILED and spares unrelated capabilities', async (t) => {
  const { time, batcher, alerts, language } = setup({ failing: 'classification' });
  const reply = batcher.submit({ texts: ['x'], capabilities: ['alerts', 'language'] });
  const other = batcher.submit({ texts: ['y'], capabilities: ['language'] });
  time.advance(10);
  const [r, o] = await Promise.all([reply, other]);
  t.same(r.failures.map((f) => [f.capability, f.code]), [['alerts', 'DEPENDENCY_FAILED']]);
  t.match(r.failures[0]?.message, /dependency "classification" failed: .*exploded/);
  t.same(r.results, [{ language: 'language(x)' }]);
  t.same(o.results, [{ language: 'language(y)' }]);
  t.equal(alerts.executions.length, 0, 'the dependent never ran');
  t.same(language.executions.map((e) => e.texts), [['x', 'y']]);
});

t.test('a capability returning the wrong number of results fails with CAPABILITY_BAD_OUTPUT', async (t) => {
  const time = new ManualTime();
  const short = recordingCapability('short', [], { results: (texts) => texts.slice(1) });
  const batcher = new Batcher(new CapabilityRegistry().register(short), { windowMs: 5, maxBatchTexts: 64, mode: 'fixed' }, { time });
  const reply = batcher.submit({ texts: ['a', 'b'], capabilities: ['short'] });
  time.advance(5);
  const r = await reply;
  t.same(r.failures.map((f) => f.code), ['CAPABILITY_BAD_OUTPUT']);
  t.match(r.failures[0]?.message, '1 results for 2 texts');
});

t.test('unknown capabilities are rejected before queueing, listing the valid names', async (t) => {
  const { batcher } = setup();
  await t.rejects(batcher.submit({ texts: ['a'], capabilities: ['classification', 'nope'] }), {
    code: 'UNKNOWN_CAPABILITY',
    details: { unknown: ['nope'], valid: ['alerts', 'classification', 'language', 'recommendations'] },
  });
  t.equal(batcher.queuedTexts, 0);
});

t.test('a request cancelled in the window leaves it and its texts never run', async (t) => {
  const { time, batcher, classification } = setup();
  const controller = new AbortController();
  const cancelled = batcher.submit({ texts: ['gone'], capabilities: ['classification'], signal: controller.signal });
  const kept = batcher.submit({ texts: ['kept'], capabilities: ['classification'] });
  controller.abort();
  await t.rejects(cancelled, { code: 'REQUEST_CANCELLED' });
  t.equal(batcher.queuedTexts, 1);
  time.advance(10);
  t.same((await kept).results, [{ classification: 'classification(kept)' }]);
  t.same(classification.executions.map((e) => e.texts), [['kept']]);

  const lone = new AbortController();
  const alone = batcher.submit({ texts: ['x'], capabilities: ['classification'], signal: lone.signal });
  lone.abort();
  await t.rejects(alone, { code: 'REQUEST_CANCELLED' });
  t.equal(time.pending, 0, 'an emptied window cancels its timer');
  await t.rejects(batcher.submit({ texts: ['x'], capabilities: ['classification'], signal: lone.signal }), {
    code: 'REQUEST_CANCELLED',
  });
});

t.test('results stream per capability as each finishes, dependencies first', async (t) => {
  const { time, batcher } = setup();
  const events: ResultEvent[] = [];
  const reply = batcher.submit({
    texts: ['s1', 's2'],
    capabilities: ['recommendations', 'classification'],
    onResult: (event) => events.push(event),
  });
  time.advance(10);
  await reply;
  t.same(events, [
    { capability: 'classification', index: 0, result: 'classification(s1)' },
    { capability: 'classification', index: 1, result: 'classification(s2)' },
    { capability: 'recommendations', index: 0, result: 'recommendations(s1)' },
    { capability: 'recommendations', index: 1, result: 'recommendations(s2)' },
  ]);
});

t.test('the observer sees executions against the naive count', async (t) => {
  const finished: { executions: number; naiveExecutions: number }[] = [];
  const capabilities: string[] = [];
  const { time, batcher } = setup({
    observer: {
      batchFinished: (e) => finished.push({ executions: e.executions, naiveExecutions: e.naiveExecutions }),
      capabilityFinished: (e) => capabilities.push(`${e.capability}:${e.texts}`),
    },
  });
  const replies = [
    batcher.submit({ texts: ['a1', 'a2'], capabilities: ['classification'] }),
    batcher.submit({ texts: ['b1'], capabilities: ['classification', 'recommendations'] }),
    batcher.submit({ texts: ['c1', 'c2'], capabilities: ['classification', 'alerts'] }),
  ];
  time.advance(10);
  await Promise.all(replies);
  await batcher.onIdle();
  t.same(finished, [{ executions: 3, naiveExecutions: 5 }]);
  t.same(capabilities.sort(), ['alerts:2', 'classification:5', 'recommendations:1']);
});

t.test('close runs what was accepted and rejects new requests', async (t) => {
  const { batcher } = setup();
  const accepted = batcher.submit({ texts: ['a'], capabilities: ['classification'] });
  await batcher.close();
  t.same((await accepted).results, [{ classification: 'classification(a)' }]);
  await t.rejects(batcher.submit({ texts: ['b'], capabilities: ['classification'] }), { code: 'SHUTTING_DOWN' });
});
