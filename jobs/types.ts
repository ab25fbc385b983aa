import { z } from 'zod';
import { type BatchReply, type BatchRequest } from '../batcher/types.js';
import { type ErrorRecord } from '../core/errors.js';
import { type DeviceRequest } from '../models/devices/device.js';
import { type SpeechRecognizer } from '../models/speech/types.js';

/** What a job carries: plain text, or one uploaded file of a media family. */
export const mediaKinds = ['text', 'image', 'audio', 'video', 'document', 'other'] as const;
export type MediaKind = (typeof mediaKinds)[number];

/** Where the planner can send a job: `inline` through the batcher (on whatever device its models run), or one of the queues. */
export const routes = ['inline', 'cpu_standard', 'gpu_fallback'] as const;
export type Route = (typeof routes)[number];
/** The routes that are real queues. */
export type QueueName = Exclude<Route, 'inline'>;
export const queueNames: readonly QueueName[] = ['cpu_standard', 'gpu_fallback'];

/** Capabilities that belong to media jobs rather than to the text capability registry. */
export const mediaCapabilities = ['ocr', 'document', 'metadata', 'transcribe'] as const;
export type MediaCapability = (typeof mediaCapabilities)[number];
export const isMediaCapability = (name: string): name is MediaCapability => (mediaCapabilities as readonly string[]).includes(name);

/**
 * What the `/process` side needs of the text service behind `/classify` (engine/service.ts
 * implements it): its phase, the capabilities it serves, how busy it is, and a way to analyse
 * texts through the batcher.
 */
export interface TextService {
  readonly phase: 'starting' | 'ready' | 'stopping' | 'stopped';
  /** Started, not shutting down, and no model reloading. */
  readonly ready: boolean;
  analyse(request: BatchRequest): Promise<BatchReply>;
  capabilityNames(): string[];
  /** Texts queued or running over the batch size (0 idle, 1 a full batch). */
  load(): number;
}

/**
 * Speech-to-text for audio and video jobs: the recognizer the capabilities file's `speech`
 * section loaded, or why there is none. Workers list `transcribe` only with a recognizer.
 */
export interface JobsSpeech {
  readonly recognizer?: SpeechRecognizer;
  /** Why transcription is unavailable (no `speech` section, its backend not installed), said in UNSUPPORTED_MEDIA. */
  readonly unavailable?: string;
  /** Seconds of audio per recognizer call. @default 30 */
  readonly chunkSeconds?: number;
}

/**
 * Where transcription comes from when it can change while the process runs (a capabilities
 * reload replaces the recognizer): `current()` for routing, and `acquire()` for one
 * transcription, which keeps that recognizer until `release()` however the job ends
 * (models/speech/speech-holder.ts implements it).
 */
export interface SpeechSource {
  current(): JobsSpeech;
  acquire(): { readonly speech: JobsSpeech; release(): void };
  /** Closes every recognizer, running transcriptions included (shutdown). */
  close(): Promise<void>;
}

/**
 * The settings the `/process` side reads (a subset of the server configuration; see
 * docs/configuration.md for each).
 */
export interface JobsSettings {
  readonly redisUrl: string | undefined;
  readonly queueConcurrency: number;
  readonly queueLocalWorkers: boolean;
  readonly jobAttempts: number;
  readonly jobBackoffMs: number;
  readonly jobResultTtlMs: number;
  readonly workerId: string;
  readonly maxInlineTokens: number;
  readonly maxBatchTexts: number;
  readonly maxTextsPerRequest: number;
  readonly device: DeviceRequest;
  /** QUEUE_LOCK_MS: a queue worker's lock on a running job, unrenewed. @default 30000 */
  readonly queueLockMs?: number;
  /** QUEUE_STALLED_CHECK_MS: how often queue workers put stalled jobs back. @default 30000 */
  readonly queueStalledCheckMs?: number;
  /** Jobs waiting or running before new ones get 429. @default 256 */
  readonly maxQueuedJobs?: number;
  /** Where uploads are spooled. @default `<os tmpdir>/capserve-spool` */
  readonly spoolDir?: string;
  /** Bytes the spool may hold. @default 1 GiB */
  readonly maxSpoolBytes?: number;
  /** Bytes of finished in-process results kept, oldest dropped first. @default 256 MiB */
  readonly maxResultBytes?: number;
  /** MAX_IMAGE_PIXELS. @default 40 000 000 */
  readonly maxImagePixels?: number;
  /** MAX_PDF_PAGES. @default 2000 */
  readonly maxPdfPages?: number;
  /** MAX_PDF_INFLATED_BYTES. @default 256 MiB */
  readonly maxPdfInflatedBytes?: number;
  /** MAX_JOB_SECONDS. @default 300 */
  readonly maxJobSeconds?: number;
  /** MEDIA_WORKERS. @default 3 */
  readonly mediaWorkers?: number;
  /** MEDIA_WORKER_HEAP_MB. @default 1024 */
  readonly mediaWorkerHeapMb?: number;
}

export const priorities = ['high', 'normal', 'low'] as const;
export type Priority = (typeof priorities)[number];

/**
 * Facts about a job that the job planner decides on. Read from the request and from the
 * file itself (magic bytes, image header, ffprobe, PDF page count), never from a client's say-so.
 */
export interface JobFacts {
  readonly kind: MediaKind;
  /** Sniffed media type, e.g. "image/png", "application/pdf", "text/plain". */
  readonly mediaType: string;
  readonly bytes: number;
  /** Estimated tokens of a text job (or of text extracted so far). */
  readonly tokens?: number;
  readonly width?: number;
  readonly height?: number;
  readonly durationSec?: number;
  readonly pages?: number;
  readonly capabilities: readonly string[];
  /** Caller options that change the cost, e.g. `{ ocr: true }`, `{ transcribe: true }`. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** A processor that can take jobs: the inline batcher, an in-process queue consumer, or a remote worker. */
export interface WorkerInfo {
  readonly id: string;
  readonly queue: Route;
  readonly device: 'cpu' | 'cuda';
  /** Capabilities and job kinds (e.g. "ocr", "document", "text") this worker serves. */
  readonly capabilities: readonly string[];
  readonly freeMemoryMb: number;
  /** Running jobs divided by concurrency, 0 (idle) to 1 (full) or more (backlog). */
  readonly load: number;
}

export type Complexity = 'low' | 'medium' | 'high' | 'very_high';
export type ResourceClass = 'cpu_light' | 'cpu_intensive' | 'gpu_preferred' | 'gpu_required' | 'memory_intensive' | 'disk_intensive';

/** The planner's verdict on a job, returned in responses and logged. */
export interface JobPlan {
  readonly complexity: { readonly level: Complexity; readonly estimatedMs: number };
  readonly resources: { readonly classes: readonly ResourceClass[]; readonly estimatedMemoryMb: number };
  readonly routing: {
    readonly route: Route;
    /** The chosen worker's id, or null when none is registered yet and the job waits on the queue. */
    readonly worker: string | null;
    readonly alternatives: readonly { readonly worker: string; readonly queue: Route; readonly score: number }[];
    /** 0 to 1. */
    readonly confidence: number;
    readonly reason: string;
    /** Set when the preferred route was not taken, e.g. "no GPU: gpu_preferred job sent to gpu_fallback". */
    readonly fallback?: string;
  };
}

export const jobStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The serialisable payload of a queued job (it travels through Redis in scale-out mode). */
export const jobPayloadSchema = z.object({
  kind: z.enum(mediaKinds),
  mediaType: z.string(),
  capabilities: z.array(z.string()),
  options: z.record(z.string(), z.unknown()).default({}),
  text: z.string().optional(),
  /**
   * Base64 file contents, for jobs that travel through Redis to workers on other machines;
   * files are bounded by MAX_UPLOAD_BYTES and jobs by MAX_QUEUED_JOBS.
   */
  fileBase64: z.string().optional(),
  /** The spooled file (in-process queues): read when the job runs, deleted when it ends. */
  filePath: z.string().optional(),
  fileName: z.string().optional(),
  /**
   * The W3C trace context of the request that submitted the job, so that its run continues the
   * request's trace in whichever process takes it; absent when tracing is off.
   */
  /** The submitting request's id, so the job's log lines anywhere (BullMQ workers included) carry it. */
  requestId: z.string().max(128).optional(),
  trace: z.object({ traceparent: z.string().max(256), tracestate: z.string().max(512).optional() }).optional(),
});
export type JobPayload = z.infer<typeof jobPayloadSchema>;

/** What `GET /jobs/:id` returns. */
export interface JobRecord {
  readonly id: string;
  readonly queue: QueueName;
  readonly status: JobStatus;
  /** 0 to 1. */
  readonly progress: number;
  readonly attempts: number;
  readonly createdAt: number;
  readonly finishedAt?: number;
  readonly result?: unknown;
  readonly error?: ErrorRecord;
}

/** Events a job emits to its subscribers (the WebSocket that submitted it). */
export type JobEvent =
  | { readonly type: 'progress'; readonly jobId: string; readonly progress: number; readonly stage?: string }
  | { readonly type: 'result'; readonly jobId: string; readonly result: unknown }
  | { readonly type: 'failed'; readonly jobId: string; readonly error: ErrorRecord }
  | { readonly type: 'cancelled'; readonly jobId: string };

/** Runs one job. Throwing retries it (up to the queue's attempts); a `ErrorRecord`-shaped `code` on the error is kept. */
export type JobProcessor = (
  payload: JobPayload,
  context: { readonly jobId: string; readonly signal: AbortSignal; progress(fraction: number, stage?: string): void },
) => Promise<unknown>;

export interface EnqueueOptions {
  readonly priority: Priority;
  /** Tries in all, including the first. @default 3 */
  readonly attempts?: number;
}

/**
 * The seam between the front-end and the CPU queues. Two implementations: in-process on p-queue
 * (the default) and BullMQ on Redis (REDIS_URL), with the same behaviour.
 */
export interface JobQueue {
  readonly name: QueueName;
  add(payload: JobPayload, options: EnqueueOptions): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Cancels a queued or running job; false if it had already finished or does not exist. */
  cancel(id: string): Promise<boolean>;
  /** Calls `listener` for each event of the job until it finishes; returns an unsubscribe function. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void;
  /** Jobs waiting and running, for routing and metrics. */
  counts(): Promise<{ readonly waiting: number; readonly running: number }>;
  close(): Promise<void>;
}
