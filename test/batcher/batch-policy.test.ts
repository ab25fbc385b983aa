import t from 'tap';
import { fixedBatchPolicy, latencyBudgetPolicy, predictCost } from '../../batcher/batch-policy.js';
import { batchSizes } from '../../models/cost-curve.js';

const max = { maxBatchTexts: 64, maxBatchTokens: 16_384 };
const curve = (model: string, cost: (batch: number) => number) => ({ model, points: batchSizes(64).map((batch) => ({ batch, ms: cost(batch) })) });
const window = (models: string[], waitedMs = 0) => ({ models: new Set(models), waitedMs });

t.test('predictCost interpolates between points, holds below the first and extends the last slope', async (t) => {
  const points = [
    { batch: 1, ms: 2 },
    { batch: 4, ms: 5 },
    { batch: 8, ms: 13 },
  ];
  t.equal(predictCost(points, 1), 2);
  t.equal(predictCost(points, 0.5), 2, 'below the first point: its cost');
  t.equal(predictCost(points, 2), 3, 'between 1 and 4');
  t.equal(predictCost(points, 6), 9, 'between 4 and 8');
  t.equal(predictCost(points, 8), 13);
  t.equal(predictCost(points, 10), 17, 'past the last point: its segment\'s 2 ms per text');
  t.equal(predictCost([{ batch: 2, ms: 4 }], 8), 16, 'a single point scales in proportion');
  t.equal(predictCost([], 8), 0, 'no points: no cost');
  t.equal(predictCost([{ batch: 1, ms: 5 }, { batch: 2, ms: 4 }], 10), 4, 'a dipping last segment never predicts less than its end');
});

t.test('a flat curve fills batches; a linear one divides the budget by the cost per text', async (t) => {
  const flat = latencyBudgetPolicy({ curves: [curve('gpu', () => 8)], targetLatencyMs: 50, max });
  t.same(flat.limits(window(['gpu'])), max, 'flat: the maximum');
  const linear = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 50, max });
  t.same(linear.limits(window(['cpu'])), { maxBatchTexts: 25, maxBatchTokens: 6400 }, '50 ms / 2 ms per text; tokens in proportion');
  const withBase = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 10 + n)], targetLatencyMs: 50, max });
  t.equal(withBase.limits(window(['cpu'])).maxBatchTexts, 40, '(budget − fixed cost) / per-text cost');
});

t.test('what the oldest request waited comes off the budget', async (t) => {
  const policy = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 50, max });
  t.equal(policy.limits(window(['cpu'], 20)).maxBatchTexts, 15);
  t.equal(policy.limits(window(['cpu'], 47)).maxBatchTexts, 1, 'never below 1 while one text still fits');
});

t.test('a late window takes the maximum: the budget is lost and throughput matters most', async (t) => {
  const policy = latencyBudgetPolicy({ curves: [curve('gpu', () => 8)], targetLatencyMs: 50, max });
  t.same(policy.limits(window(['gpu'], 45)), max);
  const linear = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 50, max });
  t.same(linear.limits(window(['cpu'], 49)), max, 'not even one text fits');
});

t.test('work queued on the model comes off the budget too, and a long enough backlog makes the window late', async (t) => {
  const backlog = new Map([['cpu', 0]]);
  const policy = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 50, max, backlogTexts: (model) => backlog.get(model) ?? 0 });
  t.equal(policy.limits(window(['cpu'])).maxBatchTexts, 25, 'nothing queued: the whole budget');
  backlog.set('cpu', 10);
  t.equal(policy.limits(window(['cpu'])).maxBatchTexts, 15, '10 queued texts cost 20 ms of the 50');
  t.equal(policy.limits(window(['cpu'], 10)).maxBatchTexts, 10, 'the wait so far and the backlog add up');
  backlog.set('cpu', 30);
  t.same(policy.limits(window(['cpu'])), max, 'the backlog alone outlasts the budget: late, so the maximum');
});

t.test('the models a window needs add up; models without a curve cost nothing', async (t) => {
  const policy = latencyBudgetPolicy({ curves: [curve('a', (n) => n), curve('b', (n) => n)], targetLatencyMs: 50, max });
  t.equal(policy.limits(window(['a'])).maxBatchTexts, 50);
  t.equal(policy.limits(window(['a', 'b'])).maxBatchTexts, 25, 'two models at 1 ms per text each');
  t.equal(policy.limits(window(['a', 'unmeasured'])).maxBatchTexts, 50);
  t.same(policy.limits(window([])), max, 'model-free capabilities: the configured limits');
  t.same(policy.limits(window(['unmeasured'])), max);
});

t.test('bounds: never above the configured maximum, and a budget of 0 turns the policy off', async (t) => {
  const cheap = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 0.1 * n)], targetLatencyMs: 50, max });
  t.same(cheap.limits(window(['cpu'])), max, '500 texts would fit; 64 is the most');
  const off = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 0, max });
  t.same(off.limits(window(['cpu'])), max);
  const one = latencyBudgetPolicy({ curves: [curve('cpu', (n) => 2 * n)], targetLatencyMs: 50, max: { maxBatchTexts: 1, maxBatchTokens: 100 } });
  t.same(one.limits(window(['cpu'])), { maxBatchTexts: 1, maxBatchTokens: 100 });
  t.same(fixedBatchPolicy(max).limits(window(['cpu'], 1000)), max, 'the fixed policy ignores the window');
});
