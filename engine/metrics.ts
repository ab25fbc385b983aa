import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type BatchObserver } from '../batcher/types.js';
import { type ModelStatus, type PoolObserver } from '../models/pool.js';
import { buildInfo } from './build-info.js';
import { registerModelMetrics } from './model-metrics.js';

/** What the metrics read at scrape time. */
export interface MetricsSources {
  queuedTexts(): number;
  runningTexts(): number;
  models(): readonly ModelStatus[];
  /** What `/health/ready` answers: started, not stopping, no model reloading. */
  ready(): boolean;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics on a registry of their own, so several servers in one process (tests)
 * never collide. Batch events arrive through the BatchObserver interface.
 */
export class Metrics implements BatchObserver {
  readonly registry = new Registry();
  readonly #httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly #batchSize: Histogram;
  readonly #batchDuration: Histogram;
  readonly #capabilityDuration: Histogram<'capability' | 'outcome'>;
  readonly #capabilityExecutions: Counter<'capability' | 'outcome'>;
  readonly #executions: Counter<'kind'>;
  readonly #requests: Counter<'outcome'>;
  readonly #texts: Counter;
  readonly #rejected: Counter<'reason'>;
  readonly #errors: Counter<'code' | 'route'>;
  readonly #queueWait: Histogram;
  /** Told by every model pool the service runs (see {@link CapserveService}): per-model call timings and reloads. */
  readonly models: PoolObserver;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    // The stock names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), so stock Node.js dashboards match.
    collectDefaultMetrics({ register: this.registry });
    // Three of them are gauges named like counters, which promtool refuses; the same counts stay
    // per resource type in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.models = registerModelMetrics(this.registry);
    const build = buildInfo();
    new Gauge({
      name: 'capserve_build_info',
      help: 'The running build: capserve version, Node.js version, onnxruntime-node version; always 1.',
      labelNames: ['version', 'node', 'onnxruntime'],
      registers,
    }).set({ version: build.version, node: build.node, onnxruntime: build.onnxruntime }, 1);
    new Gauge({
      name: 'capserve_ready',
      help: '1 while /health/ready answers 200 (started, not stopping, no model reloading), 0 otherwise.',
      registers,
      collect() {
        this.set(sources.ready() ? 1 : 0);
      },
    });
    this.#errors = new Counter({
      name: 'capserve_errors_total',
      help: 'Coded errors answered, by error code and route (HTTP route pattern, or /ws for WebSocket messages).',
      labelNames: ['code', 'route'],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: 'capserve_http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: latencyBuckets,
      registers,
    });
    this.#batchSize = new Histogram({
      name: 'capserve_batch_size_texts',
      help: 'Distinct texts per batch.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.#batchDuration = new Histogram({
      name: 'capserve_batch_duration_seconds',
      help: 'Time from a batch starting to its last capability finishing.',
      buckets: latencyBuckets,
      registers,
    });
    this.#capabilityDuration = new Histogram({
      name: 'capserve_capability_duration_seconds',
      help: 'Duration of one capability execution over a batch.',
      labelNames: ['capability', 'outcome'],
      buckets: latencyBuckets,
      registers,
    });
    this.#capabilityExecutions = new Counter({
      name: 'capserve_capability_executions_total',
      help: 'Capability executions by outcome.',
      labelNames: ['capability', 'outcome'],
      registers,
    });
    this.#executions = new Counter({
      name: 'capserve_executions_total',
      help: 'Capability executions run ("actual") and needed without batching ("naive").',
      labelNames: ['kind'],
      registers,
    });
    this.#requests = new Counter({
      name: 'capserve_batched_requests_total',
      help: 'Requests answered by the batcher, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.#queueWait = new Histogram({
      name: 'capserve_queue_wait_seconds',
      help: 'Time a request waited in the batcher before its batch started.',
      buckets: latencyBuckets,
      registers,
    });
    this.#texts = new Counter({ name: 'capserve_texts_total', help: 'Texts submitted to the batcher.', registers });
    this.#rejected = new Counter({
      name: 'capserve_rejected_requests_total',
      help: 'Requests refused before any work, by reason.',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'capserve_queue_depth_texts',
      help: 'Texts waiting in the open window ("queued") or in running batches ("running").',
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'queued' }, sources.queuedTexts());
        this.set({ state: 'running' }, sources.runningTexts());
      },
    });
    new Gauge({
      name: 'capserve_model_loaded',
      help: '1 when the model is loaded and serving, 0 otherwise.',
      labelNames: ['model', 'backend', 'state'],
      registers,
      collect() {
        this.reset();
        for (const model of sources.models()) {
          this.set({ model: model.name, backend: model.backend, state: model.state }, model.state === 'ready' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'capserve_model_info',
      help: 'Where each loaded model really runs: its device (cpu, webgpu, cuda, wasm) and the adapter behind an accelerator; always 1.',
      labelNames: ['model', 'backend', 'device', 'adapter'],
      registers,
      collect() {
        this.reset();
        for (const { name, backend, info } of sources.models()) {
          if (info !== undefined) this.set({ model: name, backend, device: info.device, adapter: info.adapter ?? '' }, 1);
        }
      },
    });
  }

  /** A request refused before any work (admission control). */
  rejected(reason: 'overloaded'): void {
    this.#rejected.inc({ reason });
  }

  /** A coded error answered to a client: an HTTP error response, or an `error` message on the WebSocket. */
  errorAnswered(code: string, route: string): void {
    this.#errors.inc({ code, route });
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.#httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  batchStarted(event: { texts: number; uniqueTexts: number }): void {
    this.#batchSize.observe(event.uniqueTexts);
    this.#texts.inc(event.texts);
  }

  capabilityFinished(event: { capability: string; durationMs: number; ok: boolean }): void {
    const labels = { capability: event.capability, outcome: event.ok ? 'ok' : 'error' };
    this.#capabilityDuration.observe(labels, event.durationMs / 1000);
    this.#capabilityExecutions.inc(labels);
  }

  batchFinished(event: { executions: number; naiveExecutions: number; durationMs: number }): void {
    this.#batchDuration.observe(event.durationMs / 1000);
    this.#executions.inc({ kind: 'actual' }, event.executions);
    this.#executions.inc({ kind: 'naive' }, event.naiveExecutions);
  }

  requestFinished(event: { waitedMs: number; ok: boolean }): void {
    this.#requests.inc({ outcome: event.ok ? 'ok' : 'error' });
    this.#queueWait.observe(event.waitedMs / 1000);
  }
}
