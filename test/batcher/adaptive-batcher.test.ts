import t from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { ResultStore } from '../../batcher/result-store.js';
import { type BatcherOptions } from '../../batcher/types.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { type Capability } from '../../capabilities/types.js';
import { ManualTime } from '../../core/manual-time.js';
import { recordingCapability } from '../helpers/recording-capability.js';

/** A capability whose every execution waits until the test releases it, recording its texts. */
function heldCapability(name: string, dependsOn: readonly string[] = []) {
  const runs: { texts: string[]; release: () => void; fail: () => void }[] = [];
  const capability: Capability<unknown> = {
    name,
    dependsOn,
    run: (texts) =>
      new Promise((resolve, reject) => {
        runs.push({
          texts: [...texts],
          release: () => resolve(texts.map((text) => `${name}(${text})`)),
          fail: () => reject(new Error(`${name} failed`)),
        });
      }),
  };
  return { capability, runs };
}

/** Lets promise callbacks (a finished batch's bookkeeping) run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
};

/** `cache`: a result store of that many entries (0: in-flight sharing only); absent: no store. */
function setup(options: Partial<BatcherOptions> = {}, cache?: number) {
  const time = new ManualTime();
  const store = cache === undefined ? undefined : new ResultStore({ maxEntries: cache, ttlMs: 1000, time });
  const model = heldCapability('model');
  const registry = new CapabilityRegistry().register(model.capability, recordingCapability('rule', ['model']));
  const batcher = new Batcher(
    registry,
    { windowMs: 10, maxBatchTexts: 64, mode: 'adaptive', maxConcurrentBatches: 1, ...options },
    { time, ...(store === undefined ? {} : { store }) },
  );
  return { time, batcher, runs: model.runs, store };
}

t.test('an idle batcher dispatches after the current tick, without waiting for the window', async (t) => {
  const { time, batcher, runs } = setup();
  const a = batcher.submit({ texts: ['a'], capabilities: ['model'] });
  const b = batcher.submit({ texts: ['b'], capabilities: ['model'] });
  t.equal(runs.length, 0, 'not inside submit');
  time.advance(0);
  await settle();
  t.same(runs.map((r) => r.texts), [['a', 'b']], 'same-tick requests share the batch; no window wait');
  runs[0]?.release();
  const [ra] = await Promise.all([a, b]);
  t.equal(ra.batch.waitedMs, 0);
});

t.test('while the only slot is busy the next window grows, and goes as soon as the slot frees', async (t) => {
  const { time, batcher, runs } = setup();
  const first = batcher.submit({ texts: ['x'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  const later = ['p', 'q', 'r'].map((text) => {
    time.advance(1);
    return batcher.submit({ texts: [text], capabilities: ['model'] });
  });
  time.advance(0);
  await settle();
  t.equal(runs.length, 1, 'nothing more starts while the slot is busy');
  t.equal(batcher.queuedTexts, 3);
  runs[0]?.release();
  await first;
  await settle();
  t.same(runs.map((r) => r.texts), [['x'], ['p', 'q', 'r']], 'the grown window went when the slot freed');
  runs[1]?.release();
  const replies = await Promise.all(later);
  t.same(replies.map((r) => r.batch.waitedMs), [2, 1, 0]);
});

t.test('BATCH_WINDOW_MS bounds the wait even while every slot stays busy', async (t) => {
  const { time, batcher, runs } = setup({ windowMs: 10 });
  void batcher.submit({ texts: ['x'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  void batcher.submit({ texts: ['y'], capabilities: ['model'] });
  time.advance(9);
  await settle();
  t.equal(runs.length, 1);
  time.advance(1);
  await settle();
  t.same(runs.map((r) => r.texts), [['x'], ['y']], 'the window closed at its bound, beside the busy batch');
  runs.forEach((run) => run.release());
  await batcher.onIdle();
});

t.test('maxConcurrentBatches slots each take a window at once', async (t) => {
  const { time, batcher, runs } = setup({ maxConcurrentBatches: 2 });
  void batcher.submit({ texts: ['a'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  void batcher.submit({ texts: ['b'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  void batcher.submit({ texts: ['c'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  t.same(runs.map((r) => r.texts), [['a'], ['b']], 'two slots busy; c waits');
  runs[0]?.release();
  await settle();
  t.same(runs.map((r) => r.texts), [['a'], ['b'], ['c']]);
  runs.slice(1).forEach((run) => run.release());
  await batcher.onIdle();
});

t.test('the token budget closes a window before the text count does', async (t) => {
  const { time, batcher, runs } = setup({ mode: 'fixed', maxBatchTokens: 20 });
  const long = 'word '.repeat(10).trim(); // 13 estimated tokens
  void batcher.submit({ texts: [long], capabilities: ['model'] });
  t.equal(runs.length, 0, 'under the budget: the window stays open');
  void batcher.submit({ texts: [`${long} again`], capabilities: ['model'] });
  await settle();
  t.equal(runs.length, 1, 'the second request would pass the budget, so the first window went alone');
  t.same(runs[0]?.texts, [long]);
  void batcher.submit({ texts: ['tiny'], capabilities: ['model'] });
  await settle();
  t.equal(runs.length, 1);
  time.advance(10);
  await settle();
  t.same(runs[1]?.texts, [`${long} again`, 'tiny']);
  runs.forEach((run) => run.release());
  await batcher.onIdle();
});

t.test('a text already being computed by a running batch is not computed again by the next', async (t) => {
  const { time, batcher, runs, store } = setup({ maxConcurrentBatches: 2 }, 0);
  const a = batcher.submit({ texts: ['shared', 'only-a'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  const b = batcher.submit({ texts: ['shared', 'only-b'], capabilities: ['model', 'rule'] });
  time.advance(0);
  await settle();
  t.same(runs.map((r) => r.texts), [['shared', 'only-a'], ['only-b']], 'batch 2 borrows "shared" from batch 1');
  runs[1]?.release();
  await settle();
  runs[0]?.release();
  const [ra, rb] = await Promise.all([a, b]);
  t.same(ra.results.map((r) => r.model), ['model(shared)', 'model(only-a)']);
  t.same(rb.results, [
    { model: 'model(shared)', rule: 'rule(shared)' },
    { model: 'model(only-b)', rule: 'rule(only-b)' },
  ]);
  t.match(store?.stats(), { inFlightHits: 1, misses: 4 - 1 + 2, hits: 0 });
});

t.test('a borrowed computation that fails is computed again by the borrower', async (t) => {
  const { time, batcher, runs } = setup({ maxConcurrentBatches: 2 }, 0);
  const a = batcher.submit({ texts: ['shared'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  const b = batcher.submit({ texts: ['shared', 'own'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  runs[1]?.release();
  runs[0]?.fail();
  t.same((await a).failures.map((f) => f.code), ['CAPABILITY_FAILED']);
  await settle();
  t.same(runs.map((r) => r.texts), [['shared'], ['own'], ['shared']], 'the borrower ran "shared" itself');
  runs[2]?.release();
  t.same((await b).results.map((r) => r.model), ['model(shared)', 'model(own)']);
});

t.test('with a result cache, a repeated text runs no capability at all', async (t) => {
  const { time, batcher, runs, store } = setup({}, 10);
  const first = batcher.submit({ texts: ['again'], capabilities: ['rule'] });
  time.advance(0);
  await settle();
  runs[0]?.release();
  await first;
  const second = batcher.submit({ texts: ['again'], capabilities: ['rule'] });
  time.advance(0);
  t.same((await second).results, [{ rule: 'rule(again)' }]);
  t.equal(runs.length, 1, 'served from the cache');
  t.match(store?.stats(), { hits: 2, size: 2 });
});

t.test('while busy, the next batch takes high before normal before low; waiting promotes low so it cannot starve', async (t) => {
  const { time, batcher, runs } = setup({ maxBatchTexts: 2, priorityAgeMs: 100 });
  void batcher.submit({ texts: ['first'], capabilities: ['model'] });
  time.advance(0);
  await settle();
  void batcher.submit({ texts: ['low-1'], capabilities: ['model'], priority: 'low' });
  void batcher.submit({ texts: ['normal-1'], capabilities: ['model'] });
  void batcher.submit({ texts: ['high-1'], capabilities: ['model'], priority: 'high' });
  void batcher.submit({ texts: ['high-2'], capabilities: ['model'], priority: 'high' });
  time.advance(5);
  runs[0]?.release();
  await settle();
  t.same(runs[1]?.texts, ['high-1', 'high-2'], 'high first, oldest first within a level');
  time.advance(4);
  runs[1]?.release();
  await settle();
  t.same(runs[2]?.texts, ['normal-1', 'low-1']);
  runs[2]?.release();

  // Aged: a low request that has waited two promotion steps outranks a fresh high one.
  const aged = setup({ maxBatchTexts: 1, priorityAgeMs: 100, windowMs: 10_000 });
  void aged.batcher.submit({ texts: ['busy'], capabilities: ['model'] });
  aged.time.advance(0);
  await settle();
  void aged.batcher.submit({ texts: ['old-low'], capabilities: ['model'], priority: 'low' });
  aged.time.advance(250);
  void aged.batcher.submit({ texts: ['new-high'], capabilities: ['model'], priority: 'high' });
  aged.runs[0]?.release();
  await settle();
  t.same(aged.runs[1]?.texts, ['old-low'], 'promoted past the newcomer');
  aged.runs[1]?.release();
  await settle();
  aged.runs[2]?.release();
  await aged.batcher.onIdle();
});
