import t from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { type BatchLimits, type BatchPolicy, latencyBudgetPolicy, type WindowState } from '../../batcher/batch-policy.js';
import { type BatcherOptions } from '../../batcher/types.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { ManualTime } from '../../core/manual-time.js';
import { batchSizes } from '../../models/cost-curve.js';
import { costDevice, curveOf, offerLoad } from '../helpers/cost-device.js';
import { recordingCapability } from '../helpers/recording-capability.js';

const budget = 50;
const max: BatchLimits = { maxBatchTexts: 64, maxBatchTokens: 16_384 };
/** A GPU-like curve: 64 texts cost what one costs. */
const flat = (): number => 8;
/** A CPU-like curve: a fixed cost plus a cost per text. */
const linear = (n: number): number => 1 + 0.5 * n;
/** A curve whose full batch (65 ms) is past the budget. */
const steep = (n: number): number => 1 + n;

/** The curve's best throughput in texts per ms: the most efficient measured batch size. */
const bestThroughput = (cost: (n: number) => number): number => Math.max(...batchSizes(64).map((n) => n / cost(n)));

/** A batcher with the default adaptive settings over one fake device, with or without the policy. */
function setup(cost: (n: number) => number, options: { policy?: boolean; batcher?: Partial<BatcherOptions> } = {}) {
  const time = new ManualTime();
  const device = costDevice(time, 'model', cost);
  const registry = new CapabilityRegistry().register(device, recordingCapability('rule', ['model']));
  const policy = latencyBudgetPolicy({ curves: [curveOf('model', cost)], targetLatencyMs: budget, max });
  const batcher = new Batcher(
    registry,
    { windowMs: 10, ...max, mode: 'adaptive', maxConcurrentBatches: 2, ...options.batcher },
    { time, ...(options.policy === false ? {} : { policy }) },
  );
  return { time, batcher, device };
}

/** Texts per ms finished in the second half of the offered load (after the start-up transient). */
function throughput(finished: readonly number[], durationMs: number): number {
  return finished.filter((at) => at >= durationMs / 2 && at < durationMs).length / (durationMs / 2);
}

const durationMs = 1000;
const sustainable = [
  { shape: 'flat', cost: flat, stepMs: 0.25, perStep: 1 },
  { shape: 'flat', cost: flat, stepMs: 1, perStep: 7 },
  { shape: 'linear', cost: linear, stepMs: 2, perStep: 3 },
  { shape: 'linear', cost: linear, stepMs: 5, perStep: 9 },
];

for (const { shape, cost, stepMs, perStep } of sustainable) {
  const offered = perStep / stepMs;
  t.test(`${shape} curve, ${offered} texts/ms offered: every request within the budget, throughput as offered`, async (t) => {
    const { time, batcher, device } = setup(cost);
    const result = await offerLoad(batcher, time, { stepMs, perStep, durationMs, drainMs: 200, capabilities: ['rule'] });
    t.equal(result.unanswered, 0);
    t.equal(result.latencies.length, (durationMs / stepMs) * perStep);
    t.ok(Math.max(...result.latencies) <= budget, `slowest request ${Math.max(...result.latencies)} ms of ${budget}`);
    const ratio = throughput(result.finished, durationMs) / Math.min(bestThroughput(cost), offered);
    t.ok(ratio >= 0.9, `throughput ${ratio.toFixed(3)} of what the curve and the load allow`);
    t.ok(Math.max(...device.calls) <= max.maxBatchTexts);
  });
}

t.test('overload: late windows take full batches, so throughput stays at the curve\'s best (no spiral to batches of 1)', async (t) => {
  const loads = [
    { cost: flat, stepMs: 0.25, perStep: 3 },
    { cost: linear, stepMs: 1, perStep: 3 },
    { cost: steep, stepMs: 1, perStep: 3 },
  ];
  // The defaults, and one slot with a window bound past the budget, so windows wait until late.
  for (const batcher of [{}, { maxConcurrentBatches: 1, windowMs: 100 }]) {
    for (const { cost, stepMs, perStep } of loads) {
      const { time, batcher: batching, device } = setup(cost, { batcher });
      const result = await offerLoad(batching, time, { stepMs, perStep, durationMs, drainMs: 0, capabilities: ['model'] });
      const ratio = throughput(result.finished, durationMs) / bestThroughput(cost);
      const mean = device.calls.reduce((sum, n) => sum + n, 0) / device.calls.length;
      t.ok(ratio >= 0.9, `throughput ${ratio.toFixed(3)} of the best at ${perStep / stepMs} texts/ms offered (mean batch ${mean.toFixed(1)}, ${JSON.stringify(batcher)})`);
      // The backlog is left unanswered: manual time stops here, and nothing real waits on it.
    }
  }
});

t.test('a burst past the budget: the policy answers as many as fit within it first; fixed limits answer none in time', async (t) => {
  const burst = async (policy: boolean) => {
    const { time, batcher, device } = setup(steep, { policy, batcher: { maxConcurrentBatches: 1 } });
    const result = await offerLoad(batcher, time, { stepMs: 1, perStep: 60, durationMs: 1, drainMs: 200, capabilities: ['model'] });
    return { calls: device.calls, inTime: result.latencies.filter((ms) => ms <= budget).length };
  };
  t.same(await burst(true), { calls: [49, 11], inTime: 49 }, 'cost(49) = 50 ms; the 11 left are late either way');
  t.same(await burst(false), { calls: [60], inTime: 0 }, 'one batch of 60 costs 61 ms');
});

/** A policy that answers fixed limits and records what the batcher asked. */
function recordingPolicy(limits: BatchLimits): BatchPolicy & { asked: WindowState[] } {
  const asked: WindowState[] = [];
  return { asked, limits: (window) => (asked.push(window), limits) };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('adaptive mode takes no more than the policy allows, and tells it the models and the oldest wait', async (t) => {
  const time = new ManualTime();
  const device = costDevice(time, 'model', () => 5);
  const registry = new CapabilityRegistry().register(device, recordingCapability('rule', ['model']), recordingCapability('free'));
  const policy = recordingPolicy({ maxBatchTexts: 3, maxBatchTokens: 1000 });
  const batcher = new Batcher(registry, { windowMs: 100, maxBatchTexts: 64, mode: 'adaptive', maxConcurrentBatches: 1 }, { time, policy });
  const done = [batcher.submit({ texts: ['x'], capabilities: ['model'] })];
  time.advance(0);
  await settle();
  t.same(policy.asked.at(-1), { models: new Set(['model']), waitedMs: 0 });
  time.advance(2);
  done.push(batcher.submit({ texts: ['a', 'b'], capabilities: ['rule'] }));
  for (const text of ['c', 'd', 'e', 'f', 'g']) done.push(batcher.submit({ texts: [text], capabilities: ['rule'] }));
  await settle();
  t.equal(batcher.queuedTexts, 7, 'waiting while the slot is busy');
  time.advance(3);
  await settle();
  t.same(policy.asked.at(-1), { models: new Set(['model']), waitedMs: 3 }, 'the rule needs the model through its dependency; the oldest waited 3 ms');
  for (let step = 0; step < 4; step += 1) {
    time.advance(5);
    await settle();
  }
  await Promise.all(done);
  t.same(device.calls, [1, 3, 3, 1], 'batches of at most 3 texts, a request never split');
  void batcher.submit({ texts: ['y'], capabilities: ['free'] });
  time.advance(0);
  await settle();
  t.same(policy.asked.at(-1), { models: new Set(), waitedMs: 0 }, 'a model-free request needs no model');
  await batcher.onIdle();
});

t.test('fixed mode closes the window at the policy\'s limit', async (t) => {
  const time = new ManualTime();
  const device = costDevice(time, 'model', () => 1);
  const registry = new CapabilityRegistry().register(device);
  const batcher = new Batcher(registry, { windowMs: 10, maxBatchTexts: 64, mode: 'fixed' }, { time, policy: recordingPolicy({ maxBatchTexts: 2, maxBatchTokens: 1000 }) });
  const replies = ['a', 'b', 'c'].map((text) => batcher.submit({ texts: [text], capabilities: ['model'] }));
  await settle();
  t.same(device.calls, [2], 'full at two texts: gone without waiting for the window');
  time.advance(10);
  await settle();
  time.advance(1);
  await Promise.all(replies);
  t.same(device.calls, [2, 1]);
});
