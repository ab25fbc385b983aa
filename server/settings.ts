import { hostname } from 'node:os';
import { z } from 'zod';
import { deviceRequests } from '../models/devices/device.js';
import { ApiKeys, parseApiKeys } from './api-keys.js';
import { flag, int, setting, underProjectRoot } from './define-setting.js';

/*
 * Every setting, declared once: environment variable, configuration key, schema with default,
 * description. ServerConfig (config.ts) is derived from these objects and docs/configuration.md
 * is generated from them (`npm run docs`; a test fails when the page is stale). The groups are
 * the page's sections.
 */

const listening = {
  host: setting({ env: 'HOST', description: 'Interface to listen on.', schema: z.string().min(1).default('127.0.0.1') }),
  port: setting({ env: 'PORT', description: 'Port to listen on; 0 picks a free one.', schema: int(8080, 0, 65_535) }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    description: 'pino level.',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  shutdownGraceMs: setting({ env: 'SHUTDOWN_GRACE_MS', description: 'How long shutdown waits for in-flight batches.', schema: int(10_000, 0) }),
};

const models = {
  capabilitiesConfig: setting({
    env: 'CAPABILITIES_CONFIG',
    description: 'The capabilities and models file.',
    schema: z.string().min(1).optional(),
    ...underProjectRoot('capabilities', 'default.json'),
  }),
  capabilitiesWatch: setting({
    env: 'CAPABILITIES_WATCH',
    description: 'Reload CAPABILITIES_CONFIG by itself when the file changes (as POST /admin/reload does).',
    schema: flag('0'),
  }),
  modelsDir: setting({
    env: 'MODELS_DIR',
    description: 'Root for relative model paths.',
    schema: z.string().min(1).optional(),
    ...underProjectRoot('models'),
  }),
  modelRepository: setting({
    env: 'MODEL_REPOSITORY',
    description: 'The model repository: `<model>/<version>/manifest.json` with SHA-256 per file.',
    schema: z.string().min(1).optional(),
    ...underProjectRoot('models', 'repository'),
  }),
  device: setting({
    env: 'DEVICE',
    description:
      'Where the onnx and transformers models and OCR run unless a model names its own `device`: "cpu"; "webgpu" (onnxruntime\'s WebGPU provider over Vulkan: an NVIDIA driver, or Mesa lavapipe in software); "cuda" (needs the CUDA build, see Dockerfile.cuda); "auto" (cuda, else webgpu on a hardware adapter, else cpu). An explicit device that cannot start fails start-up with DEVICE_UNAVAILABLE.',
    schema: z.enum(deviceRequests).default('cpu'),
  }),
  allowRemoteModels: setting({ env: 'ALLOW_REMOTE_MODELS', description: 'Let transformers.js download hub models.', schema: flag('0') }),
  modelThreads: setting({
    env: 'MODEL_THREADS',
    description: '"worker": each model instance computes in a worker thread, off the event loop; "main": in the server\'s thread.',
    schema: z.enum(['worker', 'main']).default('worker'),
  }),
  intraOpThreads: setting({
    env: 'ORT_INTRA_OP_THREADS',
    description: "onnxruntime intra-op threads per session; 0 shares the logical CPUs among a model's instances.",
    schema: int(0, 0, 256),
  }),
  modelLoadFailure: setting({
    env: 'MODEL_LOAD_FAILURE',
    description: '"fail" stops start-up when a model fails to load; "degrade" serves without its capabilities.',
    schema: z.enum(['fail', 'degrade']).default('fail'),
  }),
  measureCostCurve: setting({
    env: 'MEASURE_COST_CURVE',
    description:
      "Measure each model's cost curve at load (one call's latency at 1, 2, 4, … MAX_BATCH_TEXTS texts; a few seconds at most) for TARGET_LATENCY_MS and `/stats`; 0 skips it.",
    schema: flag('1'),
  }),
  capabilityTimeoutMs: setting({
    env: 'CAPABILITY_TIMEOUT_MS',
    description: 'A capability run that takes longer fails with CAPABILITY_TIMEOUT.',
    schema: int(60_000, 1, 3_600_000),
  }),
};

const batching = {
  batchMode: setting({
    env: 'BATCH_MODE',
    description: '"adaptive" dispatches at once while a batch slot is free; "fixed" always waits BATCH_WINDOW_MS.',
    schema: z.enum(['adaptive', 'fixed']).default('adaptive'),
  }),
  batchWindowMs: setting({
    env: 'BATCH_WINDOW_MS',
    description: 'The longest a request waits for its batch window to close (fixed mode: always).',
    schema: z.coerce.number().min(0).max(10_000).default(10),
  }),
  maxBatchTexts: setting({ env: 'MAX_BATCH_TEXTS', description: 'A window closes at once when it holds this many texts.', schema: int(64, 1, 100_000) }),
  maxBatchTokens: setting({
    env: 'MAX_BATCH_TOKENS',
    description: 'A window closes at once when its texts hold this many estimated tokens.',
    schema: int(16_384, 1, 10_000_000),
  }),
  targetLatencyMs: setting({
    env: 'TARGET_LATENCY_MS',
    description:
      "Latency budget of a batch's oldest request (its wait plus the batch's run predicted from the models' cost curves): each batch is the largest that fits, within MAX_BATCH_TEXTS; 0 keeps the fixed limits.",
    schema: int(50, 0, 600_000),
  }),
  maxConcurrentBatches: setting({
    env: 'MAX_CONCURRENT_BATCHES',
    description: 'Batches that run at once (adaptive mode); while all run, the next window grows.',
    schema: int(2, 1, 64),
  }),
  maxQueuedTexts: setting({
    env: 'MAX_QUEUED_TEXTS',
    description: 'Texts queued or running in the batcher before new requests get 429.',
    schema: int(4096, 1, 10_000_000),
  }),
  maxQueueWaitMs: setting({
    env: 'MAX_QUEUE_WAIT_MS',
    description:
      'While every batch slot is busy, a request whose texts would wait longer than this behind the backlog (queued and running texts plus its own, over the throughput of the last 10 s) gets 429 OVERLOADED with a Retry-After at once instead of queueing; 0 turns it off. 5000 is above the 64-client p99 of both benchmark models on 2 vCPUs, so it refuses only real overload (measured: MiniLM at 256 clients that honour Retry-After keeps 0.97 of its 64-client throughput, p99 6.7 s instead of 8.6 s). MAX_QUEUED_TEXTS stays the hard cap.',
    schema: int(5000, 0, 3_600_000),
  }),
  refusalDelayMs: setting({
    env: 'REFUSAL_DELAY_MS',
    description:
      "How long every 429 answer (OVERLOADED, RATE_LIMITED, on every route) is held before it is sent, never longer than its Retry-After: clients that resend at once, ignoring Retry-After, then cost at most one refusal per connection per delay instead of a storm that takes the models' CPU. 0 turns it off.",
    schema: int(1000, 0, 60_000),
  }),
  resultCacheSize: setting({
    env: 'RESULT_CACHE_SIZE',
    description: 'Finished results kept in an LRU keyed by capability and text; 0 turns the cache off.',
    schema: int(0, 0, 10_000_000),
  }),
  resultCacheTtlMs: setting({ env: 'RESULT_CACHE_TTL_MS', description: 'How long a cached result may be served.', schema: int(300_000, 1) }),
};

const requests = {
  maxTextsPerRequest: setting({ env: 'MAX_TEXTS_PER_REQUEST', description: 'Texts allowed in one request (413 above).', schema: int(256, 1, 100_000) }),
  maxTextLength: setting({ env: 'MAX_TEXT_LENGTH', description: 'Characters allowed in one text (413 above).', schema: int(10_000, 1, 10_000_000) }),
  bodyLimitBytes: setting({ env: 'BODY_LIMIT_BYTES', description: 'Largest request body in bytes (413 above).', schema: int(5 * 1024 * 1024, 1024) }),
  maxUploadBytes: setting({ env: 'MAX_UPLOAD_BYTES', description: 'Largest file `/process` accepts.', schema: int(20 * 1024 * 1024, 1024) }),
  maxInlineTokens: setting({
    env: 'MAX_INLINE_TOKENS',
    description: '`/process` texts up to this many (estimated) tokens go inline through the batcher; longer ones are queued.',
    schema: int(512, 1),
  }),
  requestTimeoutMs: setting({
    env: 'REQUEST_TIMEOUT_MS',
    description: 'Deadline of a /classify or WebSocket request without its own `timeoutMs`.',
    schema: int(30_000, 1, 3_600_000),
  }),
};

const access = {
  /** Digests of API_KEYS; the keys themselves are not kept. */
  apiKeys: setting({
    env: 'API_KEYS',
    description: 'Bearer API keys, comma-separated or `file:<path>` (one per line); unset: no authentication.',
    schema: z.string().optional(),
    resolve: (value) => new ApiKeys(parseApiKeys(value)),
  }),
  authExemptPaths: setting({
    env: 'AUTH_EXEMPT_PATHS',
    description: 'Routes served without a key, comma-separated exact paths.',
    schema: z.string().default('/health,/health/ready,/metrics'),
    resolve: (value): readonly string[] => value.split(',').map((p) => p.trim()).filter(Boolean),
  }),
  rateLimitMax: setting({
    env: 'RATE_LIMIT_MAX',
    description: 'Requests per RATE_LIMIT_WINDOW_MS per client (API key, else IP); 0 turns rate limiting off.',
    schema: int(0, 0, 10_000_000),
  }),
  rateLimitWindowMs: setting({ env: 'RATE_LIMIT_WINDOW_MS', description: 'The rate-limit window.', schema: int(60_000, 1000, 86_400_000) }),
  wsMaxMessagesPerSecond: setting({
    env: 'WS_MAX_MESSAGES_PER_SECOND',
    description: 'Messages one WebSocket may send per second; past it each message gets a RATE_LIMITED error (socket kept).',
    schema: int(200, 1, 1_000_000),
  }),
};

/** The text-embeddings-inference routes (`/embed`, `/predict`, `/rerank`, `/tokenize`, `/info`). */
const protocols = {
  teiEmbeddingCapability: setting({
    env: 'TEI_EMBEDDING_CAPABILITY',
    description: 'The embedding capability behind the text-embeddings-inference routes `/embed`, `/rerank` (cosine similarity of its vectors), `/tokenize` and `/info`.',
    schema: z.string().min(1).default('embedding'),
  }),
  teiClassifierCapability: setting({
    env: 'TEI_CLASSIFIER_CAPABILITY',
    description: 'The classifier capability (one giving `{ label, score, scores }`) behind the text-embeddings-inference route `/predict`.',
    schema: z.string().min(1).default('sentiment'),
  }),
};

const queues = {
  redisUrl: setting({ env: 'REDIS_URL', description: 'Redis for the BullMQ queues; unset keeps the queues in-process.', schema: z.string().url().optional() }),
  queueConcurrency: setting({ env: 'QUEUE_CONCURRENCY', description: 'Jobs each queue consumer runs at once.', schema: int(1, 1, 256) }),
  queueLocalWorkers: setting({
    env: 'QUEUE_LOCAL_WORKERS',
    description: 'Whether this server also consumes its queues (with REDIS_URL, 0 leaves them to `npm run worker`).',
    schema: flag('1'),
  }),
  jobAttempts: setting({ env: 'JOB_ATTEMPTS', description: 'Tries per job, the first included.', schema: int(3, 1, 100) }),
  jobBackoffMs: setting({ env: 'JOB_BACKOFF_MS', description: 'First retry delay; doubles each retry.', schema: int(500, 0) }),
  jobResultTtlMs: setting({ env: 'JOB_RESULT_TTL_MS', description: 'How long finished jobs and their results are kept.', schema: int(3_600_000, 1000) }),
  workerId: setting({
    env: 'WORKER_ID',
    description: "This process's id in worker routing.",
    schema: z.string().min(1).optional(),
    defaultText: '`<hostname>-<pid>`',
    resolve: (value) => value ?? `${hostname()}-${process.pid}`,
  }),
};

const storage = {
  databaseUrl: setting({
    env: 'DATABASE_URL',
    description: 'PostgreSQL (`postgres://user:password@host:port/db`) for jobs, data sets, reviews, the audit log and model records; unset: SQLite at SQLITE_PATH.',
    schema: z.string().min(1).optional(),
  }),
  databaseSchema: setting({
    env: 'DATABASE_SCHEMA',
    description: "PostgreSQL schema for capserve's tables (created when missing), so several servers or tests can share a database.",
    schema: z.string().min(1).optional(),
    defaultText: "the connection's `search_path`",
  }),
  sqlitePath: setting({
    env: 'SQLITE_PATH',
    description: 'The SQLite file used without DATABASE_URL (":memory:" keeps nothing).',
    schema: z.string().min(1).optional(),
    ...sqliteFile(),
  }),
};

const training = {
  modelJobConcurrency: setting({ env: 'MODEL_JOB_CONCURRENCY', description: 'Train, evaluate and predict jobs that run at once.', schema: int(1, 1, 64) }),
  modelJobLeaseMs: setting({
    env: 'MODEL_JOB_LEASE_MS',
    description: "How long a process's claim on its model jobs lasts unrenewed; another process takes the jobs of one that stopped renewing after this.",
    schema: int(30_000, 1000, 3_600_000),
  }),
  maxTrainingExamples: setting({
    env: 'MAX_TRAINING_EXAMPLES',
    description: 'Examples one train, evaluate or predict request may carry.',
    schema: int(50_000, 2, 10_000_000),
  }),
  reviewTimeoutMs: setting({
    env: 'REVIEW_TIMEOUT_MS',
    description: 'How long a reviewer holds an item before it escalates to another reviewer.',
    schema: int(900_000, 1000, 30 * 86_400_000),
  }),
};

/** `data/capserve.db` in the project, or wherever SQLITE_PATH says; `:memory:` stays as it is. */
function sqliteFile(): { readonly defaultText: string; readonly resolve: (value: string | undefined) => string } {
  const file = underProjectRoot('data', 'capserve.db');
  return { defaultText: file.defaultText, resolve: (value) => (value === ':memory:' ? value : file.resolve(value)) };
}

/** The sections of docs/configuration.md, in order. */
export const settingGroups = [
  { title: 'Listening and logging', settings: listening },
  { title: 'Capabilities and models', settings: models },
  { title: 'Batching', settings: batching },
  { title: 'Request limits', settings: requests },
  { title: 'Authentication and rate limits', settings: access },
  { title: 'Protocol routes', settings: protocols },
  { title: 'Queues and jobs', settings: queues },
  { title: 'Storage', settings: storage },
  { title: 'Training and review', settings: training },
] as const;

/** Every setting, by configuration key. */
export const settings = { ...listening, ...models, ...batching, ...requests, ...access, ...protocols, ...queues, ...storage, ...training };
