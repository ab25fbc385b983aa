import { type Batcher } from '../../batcher/batcher.js';
import { type Capability } from '../../capabilities/types.js';
import { type ManualTime } from '../../core/manual-time.js';
import { batchSizes, type CostCurve } from '../../models/cost-curve.js';

/**
 * A fake model capability on a device that runs one call at a time: a call of n texts starts when
 * the device is free and resolves `cost(n)` of manual time later. Records every call's size.
 */
export function costDevice(time: ManualTime, model: string, cost: (batch: number) => number): Capability<unknown> & { calls: number[] } {
  const calls: number[] = [];
  let freeAt = 0;
  return {
    name: model,
    dependsOn: [],
    model,
    calls,
    run(texts) {
      calls.push(texts.length);
      const start = Math.max(time.now(), freeAt);
      freeAt = start + cost(texts.length);
      return new Promise((resolve) => {
        time.schedule(() => resolve(texts.map(() => 'ok')), freeAt - time.now());
      });
    },
  };
}

/** The curve a measurement of `cost` would give, at batch sizes 1, 2, 4, … `maxBatch`. */
export function curveOf(model: string, cost: (batch: number) => number, maxBatch = 64): CostCurve {
  return { model, points: batchSizes(maxBatch).map((batch) => ({ batch, ms: cost(batch) })) };
}

/** What an offered load got: each request's latency and when each finished, in manual time. */
export interface LoadResult {
  readonly latencies: number[];
  /** Finish time of every text. */
  readonly finished: number[];
  /** Requests still unanswered when the run ended. */
  readonly unanswered: number;
}

/**
 * Offers `perStep` one-text requests every `stepMs` for `durationMs`, advancing manual time in
 * `stepMs` steps (no real waiting: each step only lets promise callbacks run), then keeps
 * stepping for `drainMs` so what was accepted can finish.
 */
export async function offerLoad(
  batcher: Batcher,
  time: ManualTime,
  load: { readonly stepMs: number; readonly perStep: number; readonly durationMs: number; readonly drainMs: number; readonly capabilities: readonly string[] },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const finished: number[] = [];
  let unanswered = 0;
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  for (let at = 0; at < load.durationMs + load.drainMs; at += load.stepMs) {
    if (at < load.durationMs) {
      for (let i = 0; i < load.perStep; i += 1) {
        const submitted = time.now();
        unanswered += 1;
        void batcher.submit({ texts: [`text ${at} ${i}`], capabilities: load.capabilities }).then(() => {
          unanswered -= 1;
          latencies.push(time.now() - submitted);
          finished.push(time.now());
        });
      }
    }
    time.advance(0);
    await turn();
    time.advance(load.stepMs);
    await turn();
  }
  return { latencies, finished, unanswered };
}
