import { freemem } from 'node:os';
import { settlesWithin } from '../core/time.js';
import { inSpan } from '../core/tracing.js';
import { startJobSpan } from './job-trace.js';
import { type MediaLimits } from './media/media-limits.js';
import { MediaWorkers } from './media/media-workers.js';
import { createJobProcessor } from './processors/job-processor.js';
import { type BullmqWorkerHandle, startBullmqWorker } from './queue/bullmq-worker.js';
import { speechSource } from './speech-source.js';
import { type JobProcessor, type JobsSettings, type JobsSpeech, mediaCapabilities, mediaKinds, type QueueName, queueNames, type SpeechSource, type TextService, type WorkerInfo } from './types.js';
import { type WorkerRegistry } from './workers/worker-registry.js';
import { type JobAttemptObserver, type JobAttemptOutcome } from './job-metrics.js';

/** Runs queued jobs in this process: one processor, with the live load each queue reports for routing. */
export class LocalJobRunner {
  readonly #service: TextService;
  readonly #config: JobsSettings;
  readonly #running = new Map<QueueName, number>();
  readonly #speech: SpeechSource;
  readonly processor: JobProcessor;
  /** The worker threads PDF text, image decoding and OCR run in; the front-end counts PDF pages there too. */
  readonly media: MediaWorkers;
  /** The caps a media job is checked against before anything is decoded. */
  readonly limits: MediaLimits;

  readonly #onAttempt: JobAttemptObserver | undefined;

  /**
   * `onAttempt` is told how each job attempt this process ran ended (the job metrics); `speech`
   * is the recognizer audio and video jobs are transcribed with, fixed or a source a reload
   * changes (this runner closes it).
   */
  constructor(service: TextService, config: JobsSettings, onAttempt?: JobAttemptObserver, speech?: JobsSpeech | SpeechSource) {
    this.#service = service;
    this.#onAttempt = onAttempt;
    this.#speech = speechSource(speech);
    this.#config = config;
    this.limits = {
      maxImagePixels: config.maxImagePixels ?? 40_000_000,
      maxPdfPages: config.maxPdfPages ?? 2000,
      maxPdfInflatedBytes: config.maxPdfInflatedBytes ?? 256 * 2 ** 20,
    };
    // Threads start on the first media job; OCR loads in a thread on its first image (about 0.3 s) and stays resident.
    this.media = new MediaWorkers({ size: config.mediaWorkers ?? 3, heapMb: config.mediaWorkerHeapMb ?? 1024, device: config.device });
    this.processor = createJobProcessor({
      analyse: (texts, capabilities, signal) => service.analyse({ texts, capabilities, signal }),
      media: this.media,
      limits: this.limits,
      maxJobMs: (config.maxJobSeconds ?? 300) * 1000,
      // About four characters per token; a chunk is what /process would still take inline.
      chunkChars: config.maxInlineTokens * 4,
      groupSize: Math.min(config.maxBatchTexts, config.maxTextsPerRequest),
      speech: this.#speech,
    });
  }

  /** The processor for one queue, counting its running jobs. */
  processorFor(queue: QueueName): JobProcessor {
    return async (payload, context) => {
      this.#running.set(queue, (this.#running.get(queue) ?? 0) + 1);
      const began = performance.now();
      let outcome: JobAttemptOutcome = 'failed';
      let code: string | undefined;
      try {
        const { span, parent } = startJobSpan(queue, payload, context.jobId);
        const result = await inSpan(span, () => this.processor(payload, context), parent);
        outcome = 'completed';
        return result;
      } catch (error) {
        if (context.signal.aborted) outcome = 'cancelled';
        code = errorCodeOf(error);
        throw error;
      } finally {
        this.#running.set(queue, (this.#running.get(queue) ?? 1) - 1);
        this.#onAttempt?.({
          queue,
          outcome,
          jobId: context.jobId,
          ...(payload.requestId === undefined ? {} : { requestId: payload.requestId }),
          durationMs: performance.now() - began,
          ...(outcome === 'failed' && code !== undefined ? { code } : {}),
        });
      }
    };
  }

  /** This process as a worker of each queue, for routing and for the Redis worker registry. */
  workers(): WorkerInfo[] {
    // `transcribe` only with a recognizer (the current one: a reload may add or remove it), so the
    // planner sends speech work to workers that can do it; the registry's heartbeats re-read this.
    const media = mediaCapabilities.filter((name) => name !== 'transcribe' || this.#speech.current().recognizer !== undefined);
    const capabilities = [...mediaKinds.filter((kind) => kind !== 'other'), ...this.#service.capabilityNames(), ...media];
    const freeMemoryMb = Math.round(freemem() / 2 ** 20);
    return queueNames.map((queue) => ({
      id: `${this.#config.workerId}:${queue}`,
      queue,
      device: this.#config.device === 'cuda' ? 'cuda' : 'cpu',
      capabilities,
      freeMemoryMb,
      load: (this.#running.get(queue) ?? 0) / this.#config.queueConcurrency,
    }));
  }

  async close(): Promise<void> {
    await this.media.close();
    await this.#speech.close();
  }
}

export interface LocalWorkers {
  /** Withdraws from the registry, then waits up to `graceMs` for running jobs; jobs still running stall back to the queue. */
  close(graceMs: number): Promise<void>;
}

/** BullMQ consumers for every queue in this process, announced in the worker registry. */
export function startLocalWorkers(
  runner: LocalJobRunner,
  registry: WorkerRegistry,
  options: {
    readonly redisUrl: string;
    readonly concurrency: number;
    readonly workerId: string;
    readonly onError: (error: unknown) => void;
    /** QUEUE_LOCK_MS. @default 30000 */
    readonly lockDurationMs?: number;
    /** QUEUE_STALLED_CHECK_MS. @default 30000 */
    readonly stalledIntervalMs?: number;
  },
): LocalWorkers {
  const handles: BullmqWorkerHandle[] = queueNames.map((name) =>
    startBullmqWorker(name, runner.processorFor(name), {
      redisUrl: options.redisUrl,
      concurrency: options.concurrency,
      workerName: options.workerId,
      onError: options.onError,
      ...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs }),
      ...(options.stalledIntervalMs === undefined ? {} : { stalledIntervalMs: options.stalledIntervalMs }),
    }),
  );
  const stopBeats = queueNames.map((queue) =>
    registry.heartbeat(() => runner.workers().find((worker) => worker.queue === queue) as WorkerInfo),
  );
  return {
    async close(graceMs) {
      await Promise.all(stopBeats.map((stop) => stop()));
      const closing = Promise.all(handles.map((handle) => handle.close()));
      if (!(await settlesWithin(closing, graceMs))) options.onError(new Error(`workers still busy after ${graceMs} ms; their jobs return to the queue when their locks expire`));
    },
  };
}

/** A thrown error's registry code (CapserveError or any error with a string `code`). */
function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
