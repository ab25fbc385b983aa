import { Counter, Histogram, type Registry } from 'prom-client';
import { type PoolObserver } from '../models/pool.js';

/** Model calls take from a millisecond (a tiny model on a GPU) to tens of seconds (a large batch on a small CPU). */
const callBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const textBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * Per-model metrics on the service's registry, fed by the model pool as a {@link PoolObserver}:
 * what each backend call really ran (after the pool merged queued calls), and instance reloads.
 * One observer serves every pool the service has (each reload brings a new pool).
 */
export function registerModelMetrics(registry: Registry): PoolObserver {
  const registers = [registry];
  const duration = new Histogram({
    name: 'capserve_model_call_duration_seconds',
    help: 'Inference time of one backend call of a model (the texts of merged queued calls together), successful calls only.',
    labelNames: ['model', 'device'],
    buckets: callBuckets,
    registers,
  });
  const texts = new Histogram({
    name: 'capserve_model_call_texts',
    help: 'Texts per backend call of a model: the batch size the model ran.',
    labelNames: ['model', 'device'],
    buckets: textBuckets,
    registers,
  });
  const failures = new Counter({
    name: 'capserve_model_call_failures_total',
    help: 'Backend calls of a model that failed (a merged call that fails is retried call by call; each try counts).',
    labelNames: ['model', 'device'],
    registers,
  });
  const reloads = new Counter({
    name: 'capserve_model_reloads_total',
    help: 'Attempts to load a crashed model instance again, by outcome (ok, failed); a steady rise is a reload loop.',
    labelNames: ['model', 'outcome'],
    registers,
  });
  return {
    modelCalled({ model, device, texts: size, durationMs, ok }) {
      const labels = { model, device };
      if (!ok) {
        failures.inc(labels);
        return;
      }
      duration.observe(labels, durationMs / 1000);
      texts.observe(labels, size);
    },
    instanceReloaded({ model, ok }) {
      reloads.inc({ model, outcome: ok ? 'ok' : 'failed' });
    },
  };
}
