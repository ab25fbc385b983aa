import { type CostCurve, type CostPoint } from '../models/cost-curve.js';

/** How large the next batch may grow. */
export interface BatchLimits {
  readonly maxBatchTexts: number;
  readonly maxBatchTokens: number;
}

/** What the batcher tells a policy about the window it is about to take a batch from. */
export interface WindowState {
  /** The models the window's requests need (through their capabilities and dependencies). */
  readonly models: ReadonlySet<string>;
  /** How long the window's oldest request has waited so far. */
  readonly waitedMs: number;
}

/**
 * The seam between the batcher and what a batch costs: the batcher asks for the limits each
 * time it decides whether a window is full and how much of it to take.
 */
export interface BatchPolicy {
  limits(window: WindowState): BatchLimits;
}

/** The configured limits, whatever the window: the batcher's behaviour without a cost model. */
export function fixedBatchPolicy(limits: BatchLimits): BatchPolicy {
  const frozen = Object.freeze({ ...limits });
  return { limits: () => frozen };
}

/** What {@link latencyBudgetPolicy} needs. */
export interface LatencyBudgetOptions {
  /** Measured curves; models without one (and model-free capabilities) add no cost. */
  readonly curves: readonly CostCurve[];
  /** The budget of wait plus run for the oldest request of a batch; 0 turns the policy off. */
  readonly targetLatencyMs: number;
  /** The configured limits: the upper bound of every answer. */
  readonly max: BatchLimits;
  /**
   * Texts already queued or running on a model (ModelPool.backlogTexts): a batch dispatched now
   * waits for them before its own call runs. @default none
   */
  readonly backlogTexts?: (model: string) => number;
}

/**
 * Predicted cost of a call of `batch` texts: linear interpolation between measured points; below
 * the first point, the first point's cost; past the last, the last segment's cost per text (a
 * single point scales in proportion), so a curve cut short by its time budget stays conservative.
 */
export function predictCost(points: readonly CostPoint[], batch: number): number {
  const first = points[0];
  if (first === undefined) return 0;
  if (batch <= first.batch) return first.ms;
  for (let i = 1; i < points.length; i += 1) {
    const [low, high] = [points[i - 1] as CostPoint, points[i] as CostPoint];
    if (batch <= high.batch) return low.ms + ((high.ms - low.ms) * (batch - low.batch)) / (high.batch - low.batch);
  }
  const last = points.at(-1) as CostPoint;
  const before = points.at(-2);
  const perText = before === undefined ? last.ms / last.batch : Math.max(0, (last.ms - before.ms) / (last.batch - before.batch));
  return last.ms + perText * (batch - last.batch);
}

/*
 * The latency-budget decision. A batch's oldest request is answered after what it already
 * waited plus the batch's run, and the run costs the sum of the curves of every model the
 * window needs (conservative: independent capabilities may run side by side, but on one device
 * they compete anyway). So the policy takes the largest batch n, between 1 and the configured
 * maximum, with waited + cost(n) <= budget. On a flat curve (a GPU: 64 texts cost about what 1
 * costs) that is the maximum, so batches fill; on a linear curve (a CPU: cost ~ c + k·n) it is
 * about (budget − waited − c) / k, so a backlog is cut into batches that each finish in time.
 *
 * The wait counts twice over: what the oldest request waited in the window, and what the batch
 * will wait behind work already queued on its models (their backlog's predicted cost). Batches
 * leave the window every BATCH_WINDOW_MS whether or not the model is free, so under load the
 * queue forms in front of the model, not in the window; without the backlog the policy would see
 * every request on time and keep cutting small batches that the model's queue then merges.
 *
 * When even one text cannot make the budget (the oldest request is already late) the budget is
 * lost for that batch whatever its size, and a small batch would only lower throughput and make
 * every later request later too, a spiral that on a flat curve costs up to 64× throughput. So
 * a late window takes the maximum and drains at the curve's best rate until requests are on
 * time again. The token budget shrinks in proportion to the text limit, so long texts cannot
 * bring back the cost the text limit took out.
 */

/**
 * A {@link BatchPolicy} that keeps each batch's oldest request within `targetLatencyMs`, from
 * the measured cost curves. With no budget or no curve for the window's models it answers the
 * configured maximum.
 */
export function latencyBudgetPolicy(options: LatencyBudgetOptions): BatchPolicy {
  const { targetLatencyMs, max } = options;
  const curves = new Map(options.curves.filter((curve) => curve.points.length > 0).map((curve) => [curve.model, curve.points]));
  return {
    limits({ models, waitedMs }) {
      const needed = [...models].flatMap((model) => {
        const points = curves.get(model);
        return points === undefined ? [] : [points];
      });
      if (targetLatencyMs <= 0 || needed.length === 0 || max.maxBatchTexts <= 1) return max;
      const cost = (batch: number): number => needed.reduce((sum, points) => sum + predictCost(points, batch), 0);
      const queued = [...models].reduce((sum, model) => {
        const points = curves.get(model);
        const backlog = options.backlogTexts?.(model) ?? 0;
        return points === undefined || backlog === 0 ? sum : sum + predictCost(points, backlog);
      }, 0);
      const left = targetLatencyMs - waitedMs - queued;
      if (cost(1) > left) return max;
      // cost() never decreases (points never do), so the largest batch that fits is a bisection.
      let [fits, over] = [1, max.maxBatchTexts + 1];
      while (over - fits > 1) {
        const middle = Math.floor((fits + over) / 2);
        if (cost(middle) <= left) fits = middle;
        else over = middle;
      }
      if (fits >= max.maxBatchTexts) return max;
      return { maxBatchTexts: fits, maxBatchTokens: Math.max(1, Math.floor((max.maxBatchTokens * fits) / max.maxBatchTexts)) };
    },
  };
}
