import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../core/format-issues.js';
import { ApiKeys, parseApiKeys } from './api-keys.js';
import { CapserveError } from '../core/errors.js';
import { projectRoot } from '../core/project-root.js';

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('0')
  .transform((v) => v === '1' || v === 'true');

/**
 * Every setting, read once from the environment at start-up. README.md lists each variable
 * (a test checks); nothing else reads process.env.
 */
const envSchema = z.object({
  /** Interface to listen on. @default "127.0.0.1" */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Port to listen on; 0 picks a free one. @default 8080 */
  PORT: int(8080, 0, 65_535),
  /** pino level. @default "info" */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The capabilities and models file. @default capabilities/default.json */
  CAPABILITIES_CONFIG: z.string().min(1).optional(),
  /** Root for relative model paths. @default models/ */
  MODELS_DIR: z.string().min(1).optional(),
  /** Execution device: "cuda" tries the CUDA execution provider first. @default "cpu" */
  DEVICE: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Let transformers.js download hub models. @default 0 */
  ALLOW_REMOTE_MODELS: flag,
  /** "worker": each model instance computes in a worker thread, off the event loop; "main": in the server's thread. @default "worker" */
  MODEL_THREADS: z.enum(['worker', 'main']).default('worker'),
  /** onnxruntime intra-op threads per session; 0 shares the logical CPUs among a model's instances. @default 0 */
  ORT_INTRA_OP_THREADS: int(0, 0, 256),
  /** The longest a request waits for its batch window to close (fixed mode: always). @default 10 */
  BATCH_WINDOW_MS: z.coerce.number().min(0).max(10_000).default(10),
  /** A window closes at once when it holds this many texts. @default 64 */
  MAX_BATCH_TEXTS: int(64, 1, 100_000),
  /** A window closes at once when its texts hold this many estimated tokens. @default 16384 */
  MAX_BATCH_TOKENS: int(16_384, 1, 10_000_000),
  /** "adaptive" dispatches at once while a batch slot is free; "fixed" always waits BATCH_WINDOW_MS. @default "adaptive" */
  BATCH_MODE: z.enum(['adaptive', 'fixed']).default('adaptive'),
  /** Batches that run at once (adaptive mode); while all run, the next window grows. @default 2 */
  MAX_CONCURRENT_BATCHES: int(2, 1, 64),
  /** A capability run that takes longer fails with CAPABILITY_TIMEOUT. @default 60000 */
  CAPABILITY_TIMEOUT_MS: int(60_000, 1, 3_600_000),
  /** Finished results kept in an LRU keyed by capability and text; 0 turns the cache off. @default 0 */
  RESULT_CACHE_SIZE: int(0, 0, 10_000_000),
  /** How long a cached result may be served. @default 300000 */
  RESULT_CACHE_TTL_MS: int(300_000, 1),
  /** Texts allowed in one request (413 above). @default 256 */
  MAX_TEXTS_PER_REQUEST: int(256, 1, 100_000),
  /** Characters allowed in one text (413 above). @default 10000 */
  MAX_TEXT_LENGTH: int(10_000, 1, 10_000_000),
  /** Largest request body in bytes (413 above). @default 5242880 */
  BODY_LIMIT_BYTES: int(5 * 1024 * 1024, 1024),
  /** "fail" stops start-up when a model fails to load; "degrade" serves without its capabilities. @default "fail" */
  MODEL_LOAD_FAILURE: z.enum(['fail', 'degrade']).default('fail'),
  /** How long shutdown waits for in-flight batches. @default 10000 */
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  /** `/process` texts up to this many (estimated) tokens go inline through the batcher; longer ones are queued. @default 512 */
  MAX_INLINE_TOKENS: int(512, 1),
  /** Largest file `/process` accepts. @default 20971520 */
  MAX_UPLOAD_BYTES: int(20 * 1024 * 1024, 1024),
  /** Redis for the BullMQ queues; unset keeps the queues in-process. */
  REDIS_URL: z.string().url().optional(),
  /** Jobs each queue consumer runs at once. @default 1 */
  QUEUE_CONCURRENCY: int(1, 1, 256),
  /** Whether this server also consumes its queues (with REDIS_URL, 0 leaves them to `npm run worker`). @default 1 */
  QUEUE_LOCAL_WORKERS: z
    .enum(['0', '1', 'true', 'false'])
    .default('1')
    .transform((v) => v === '1' || v === 'true'),
  /** Tries per job, the first included. @default 3 */
  JOB_ATTEMPTS: int(3, 1, 100),
  /** First retry delay; doubles each retry. @default 500 */
  JOB_BACKOFF_MS: int(500, 0),
  /** How long finished jobs and their results are kept. @default 3600000 */
  JOB_RESULT_TTL_MS: int(3_600_000, 1000),
  /** This process's id in worker routing. @default "<hostname>-<pid>" */
  WORKER_ID: z.string().min(1).optional(),
  /** The model repository: <model>/<version>/manifest.json with SHA-256 per file. @default "models/repository" */
  MODEL_REPOSITORY: z.string().min(1).optional(),
  /** Bearer API keys, comma-separated or `file:<path>` (one per line); unset: no authentication. */
  API_KEYS: z.string().optional(),
  /** Routes served without a key, comma-separated exact paths. @default "/health,/health/ready,/metrics" */
  AUTH_EXEMPT_PATHS: z.string().default('/health,/health/ready,/metrics'),
  /** Requests per RATE_LIMIT_WINDOW_MS per client (API key, else IP); 0 turns rate limiting off. @default 0 */
  RATE_LIMIT_MAX: int(0, 0, 10_000_000),
  /** The rate-limit window. @default 60000 */
  RATE_LIMIT_WINDOW_MS: int(60_000, 1000, 86_400_000),
  /** Messages one WebSocket may send per second; past it each message gets a RATE_LIMITED error (socket kept). @default 200 */
  WS_MAX_MESSAGES_PER_SECOND: int(200, 1, 1_000_000),
  /** Texts queued or running in the batcher before new requests get 429. @default 4096 */
  MAX_QUEUED_TEXTS: int(4096, 1, 10_000_000),
  /** Deadline of a /classify or WebSocket request without its own `timeoutMs`. @default 30000 */
  REQUEST_TIMEOUT_MS: int(30_000, 1, 3_600_000),
  /** Reload CAPABILITIES_CONFIG by itself when the file changes (as POST /admin/reload does). @default 0 */
  CAPABILITIES_WATCH: flag,
  /** PostgreSQL (`postgres://user:password@host:port/db`) for jobs, data sets, reviews, the audit log and model records; unset: SQLite at SQLITE_PATH. */
  DATABASE_URL: z.string().min(1).optional(),
  /** PostgreSQL schema for capserve's tables (created when missing), so several servers or tests can share a database. @default the connection's search_path */
  DATABASE_SCHEMA: z.string().min(1).optional(),
  /** The SQLite file used without DATABASE_URL (":memory:" keeps nothing). @default "data/capserve.db" */
  SQLITE_PATH: z.string().min(1).optional(),
  /** Train, evaluate and predict jobs that run at once. @default 1 */
  MODEL_JOB_CONCURRENCY: int(1, 1, 64),
  /** How long a process's claim on its model jobs lasts unrenewed; another process takes the jobs of one that stopped renewing after this. @default 30000 */
  MODEL_JOB_LEASE_MS: int(30_000, 1000, 3_600_000),
  /** Examples one train, evaluate or predict request may carry. @default 50000 */
  MAX_TRAINING_EXAMPLES: int(50_000, 2, 10_000_000),
  /** How long a reviewer holds an item before it escalates to another reviewer. @default 900000 */
  REVIEW_TIMEOUT_MS: int(900_000, 1000, 30 * 86_400_000),
});

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  readonly capabilitiesConfig: string;
  readonly modelsDir: string;
  readonly device: 'cpu' | 'cuda';
  readonly allowRemoteModels: boolean;
  readonly intraOpThreads: number;
  readonly modelThreads: 'worker' | 'main';
  readonly batchWindowMs: number;
  readonly maxBatchTexts: number;
  readonly maxBatchTokens: number;
  readonly batchMode: 'adaptive' | 'fixed';
  readonly maxConcurrentBatches: number;
  readonly capabilityTimeoutMs: number;
  readonly resultCacheSize: number;
  readonly resultCacheTtlMs: number;
  readonly maxTextsPerRequest: number;
  readonly maxTextLength: number;
  readonly bodyLimitBytes: number;
  readonly modelLoadFailure: 'fail' | 'degrade';
  readonly shutdownGraceMs: number;
  readonly maxInlineTokens: number;
  readonly maxUploadBytes: number;
  readonly redisUrl: string | undefined;
  readonly queueConcurrency: number;
  readonly queueLocalWorkers: boolean;
  readonly jobAttempts: number;
  readonly jobBackoffMs: number;
  readonly jobResultTtlMs: number;
  readonly workerId: string;
  /** Digests of API_KEYS; the keys themselves are not kept. */
  readonly apiKeys: ApiKeys;
  readonly authExemptPaths: readonly string[];
  readonly maxQueuedTexts: number;
  readonly requestTimeoutMs: number;
  readonly rateLimitMax: number;
  readonly modelRepository: string;
  readonly wsMaxMessagesPerSecond: number;
  readonly rateLimitWindowMs: number;
  readonly capabilitiesWatch: boolean;
  readonly databaseUrl: string | undefined;
  readonly databaseSchema: string | undefined;
  readonly sqlitePath: string;
  readonly modelJobConcurrency: number;
  readonly modelJobLeaseMs: number;
  readonly maxTrainingExamples: number;
  readonly reviewTimeoutMs: number;
}

/** The names of every environment variable the server reads. */
export const configVariables = Object.keys(envSchema.shape);

/** Parses the environment once; invalid values fail with every problem named. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const relevant = Object.fromEntries(configVariables.map((name) => [name, env[name] === '' ? undefined : env[name]]));
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new CapserveError('CONFIG_INVALID', `invalid environment: ${formatIssues(parsed.error.issues)}`);
  }
  const e = parsed.data;
  const root = projectRoot();
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    capabilitiesConfig: path.resolve(e.CAPABILITIES_CONFIG ?? path.join(root, 'capabilities', 'default.json')),
    modelsDir: path.resolve(e.MODELS_DIR ?? path.join(root, 'models')),
    device: e.DEVICE,
    allowRemoteModels: e.ALLOW_REMOTE_MODELS,
    modelThreads: e.MODEL_THREADS,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    batchWindowMs: e.BATCH_WINDOW_MS,
    maxBatchTexts: e.MAX_BATCH_TEXTS,
    maxBatchTokens: e.MAX_BATCH_TOKENS,
    batchMode: e.BATCH_MODE,
    maxConcurrentBatches: e.MAX_CONCURRENT_BATCHES,
    capabilityTimeoutMs: e.CAPABILITY_TIMEOUT_MS,
    resultCacheSize: e.RESULT_CACHE_SIZE,
    resultCacheTtlMs: e.RESULT_CACHE_TTL_MS,
    maxTextsPerRequest: e.MAX_TEXTS_PER_REQUEST,
    maxTextLength: e.MAX_TEXT_LENGTH,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    modelLoadFailure: e.MODEL_LOAD_FAILURE,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    maxInlineTokens: e.MAX_INLINE_TOKENS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    redisUrl: e.REDIS_URL,
    queueConcurrency: e.QUEUE_CONCURRENCY,
    queueLocalWorkers: e.QUEUE_LOCAL_WORKERS,
    jobAttempts: e.JOB_ATTEMPTS,
    jobBackoffMs: e.JOB_BACKOFF_MS,
    jobResultTtlMs: e.JOB_RESULT_TTL_MS,
    workerId: e.WORKER_ID ?? `${hostname()}-${process.pid}`,
    apiKeys: new ApiKeys(parseApiKeys(e.API_KEYS)),
    authExemptPaths: e.AUTH_EXEMPT_PATHS.split(',').map((p) => p.trim()).filter(Boolean),
    maxQueuedTexts: e.MAX_QUEUED_TEXTS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    rateLimitMax: e.RATE_LIMIT_MAX,
    modelRepository: path.resolve(e.MODEL_REPOSITORY ?? path.join(root, 'models', 'repository')),
    wsMaxMessagesPerSecond: e.WS_MAX_MESSAGES_PER_SECOND,
    rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
    capabilitiesWatch: e.CAPABILITIES_WATCH,
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    sqlitePath: e.SQLITE_PATH === ':memory:' ? ':memory:' : path.resolve(e.SQLITE_PATH ?? path.join(root, 'data', 'capserve.db')),
    modelJobConcurrency: e.MODEL_JOB_CONCURRENCY,
    modelJobLeaseMs: e.MODEL_JOB_LEASE_MS,
    maxTrainingExamples: e.MAX_TRAINING_EXAMPLES,
    reviewTimeoutMs: e.REVIEW_TIMEOUT_MS,
  });
}
