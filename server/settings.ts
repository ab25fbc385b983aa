import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { deviceRequests } from '../models/devices/device.js';
import { ApiKeys, parseApiKeys } from './api-keys.js';
import { flag, int, setting, underProjectRoot } from './define-setting.js';
import { redisFailureModes } from './shared-rate-limit-store.js';

/*
 * Every setting, declared once: environment variable, configuration key, schema with default,
 * description. ServerConfig (config.ts) is derived from these objects and docs/configuration.md
 * is generated from them (`npm run docs`; a test fails when the page is stale). The groups are
 * the page's sections.
 */

const listening = {
  host: setting({ env: 'HOST', description: 'Interface to listen on.', schema: z.string().min(1).default('127.0.0.1') }),
  port: setting({ env: 'PORT', description: 'Port to listen on; 0 picks a free one.', schema: int(8080, 0, 65_535) }),
  workerPort: setting({
    env: 'WORKER_PORT',
    description:
      "Port of a queue worker's (`npm run worker`) own listener, on HOST: `/health`, `/health/ready` and `/metrics` for probes and Prometheus. 9464 is the usual Prometheus exporter port (OpenTelemetry's), apart from PORT so a worker and a server share a host; 0 turns the listener off. The server does not read it.",
    schema: int(9464, 0, 65_535),
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    description: 'pino level.',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  shutdownGraceMs: setting({
    env: 'SHUTDOWN_GRACE_MS',
    description: 'How long shutdown waits for in-flight batches and jobs; at its end every connection still open (a slow client included) is closed.',
    schema: int(10_000, 0),
  }),
  shutdownDelayMs: setting({
    env: 'SHUTDOWN_DELAY_MS',
    description:
      'How long shutdown keeps serving, with `/health/ready` answering 503 (`phase: draining`), before it stops listening, so a load balancer takes the replica out of rotation first (HAProxy: about `inter` × `fall`). 0 under Kubernetes, whose endpoints controller does this when a pod terminates (a preStop sleep covers the rest).',
    schema: int(0, 0, 600_000),
  }),
  httpHeadersTimeoutMs: setting({
    env: 'HTTP_HEADERS_TIMEOUT_MS',
    description: "How long a client may take to send a request's headers before its connection is closed (node's `headersTimeout`; stops slow-header clients). Checked about once a second.",
    schema: int(10_000, 1000, 600_000),
  }),
  httpRequestTimeoutMs: setting({
    env: 'HTTP_REQUEST_TIMEOUT_MS',
    description: "How long a client may take to send a whole request, body included, before it gets 408 and its connection is closed (node's `requestTimeout`; stops slow-body clients). At least HTTP_HEADERS_TIMEOUT_MS; leave room for MAX_UPLOAD_BYTES over the slowest link you serve.",
    schema: int(120_000, 1000, 3_600_000),
  }),
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
      'Where the onnx and transformers models and OCR run unless a model names its own `device`: "cpu"; "webgpu" (onnxruntime\'s WebGPU provider over Vulkan: an NVIDIA driver, or Mesa lavapipe in software); "cuda" (needs the CUDA build, see Dockerfile.cuda); "auto" (cuda, else webgpu on a hardware adapter, else cpu). An explicit device that cannot start is DEVICE_UNAVAILABLE: its models\' capabilities are unavailable, or start-up fails under MODEL_LOAD_FAILURE=fail.',
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
    description:
      '"degrade" starts anyway when a model, a repository version or a capability fails to load or build: those capabilities (and the ones that read them) are unavailable with the reason in `GET /capabilities` and answer CAPABILITY_UNAVAILABLE, the others serve; "fail" stops start-up instead. A reload never makes a serving capability unavailable, under either.',
    schema: z.enum(['fail', 'degrade']).default('degrade'),
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
    description:
      'Bearer API keys, comma-separated or `file:<path>` (one per line); each `label:role:key` (role `read` or `admin`; the label is the rate-limit identity and the audit actor) or a bare key (admin, labelled `key-<n>`). Unset: no authentication.',
    schema: z.string().optional(),
    resolve: (value) => new ApiKeys(parseApiKeys(value)),
  }),
  authExemptPaths: setting({
    env: 'AUTH_EXEMPT_PATHS',
    description: 'Routes served without a key, comma-separated exact paths.',
    schema: z.string().default('/health,/health/ready,/metrics'),
    resolve: (value): readonly string[] => value.split(',').map((p) => p.trim()).filter(Boolean),
  }),
  allowUnauthenticated: setting({
    env: 'ALLOW_UNAUTHENTICATED',
    description: 'Start on a HOST that is not loopback without API_KEYS (every route, admin ones included, open to the network); otherwise such a start is refused.',
    schema: flag('0'),
  }),
  authFailureLimit: setting({
    env: 'AUTH_FAILURE_LIMIT',
    description: 'Failed authentications (missing or wrong key) per client address per minute; past it every request from the address gets 429 RATE_LIMITED until the minute ends. 0 turns it off.',
    schema: int(20, 0, 1_000_000),
  }),
  corsOrigins: setting({
    env: 'CORS_ORIGINS',
    description:
      'Browser origins (`https://app.example`, comma-separated) allowed to call the API: they get CORS headers. A browser request from any other origin may not POST, PUT, PATCH, DELETE or open the WebSocket (403 ORIGIN_FORBIDDEN). Requests without an Origin header are not affected.',
    schema: z.string().default(''),
    resolve: (value): readonly string[] => value.split(',').map((o) => o.trim()).filter(Boolean),
  }),
  rateLimitMax: setting({
    env: 'RATE_LIMIT_MAX',
    description: 'Requests per RATE_LIMIT_WINDOW_MS per client (the label of its verified API key, else its address; an unverified key never counts); 0 turns rate limiting off.',
    schema: int(0, 0, 10_000_000),
  }),
  rateLimitWindowMs: setting({ env: 'RATE_LIMIT_WINDOW_MS', description: 'The rate-limit window.', schema: int(60_000, 1000, 86_400_000) }),
  rateLimitRedisFail: setting({
    env: 'RATE_LIMIT_REDIS_FAIL',
    description:
      'With REDIS_URL the rate-limit counters live in Redis, so every replica enforces one limit; this says what happens while Redis does not answer. "local": each replica counts in its own memory (a client gets at most RATE_LIMIT_MAX per replica) until Redis answers again; "open": no limit; "closed": every limited request gets 503 RATE_LIMIT_UNAVAILABLE. See docs/operations.md#rate-limits.',
    schema: z.enum(redisFailureModes).default('local'),
  }),
  trustProxy: setting({
    env: 'TRUST_PROXY',
    description:
      'Addresses or CIDR ranges of the load balancers in front (comma-separated; `loopback`, `linklocal` and `uniquelocal` name ranges) whose `X-Forwarded-For` gives the client address, for rate limits, failed-login limits and logs. Empty: the connection\'s address, which behind a load balancer is the balancer\'s, so every client without a key shares one limit.',
    schema: z.string().default(''),
    resolve: (value): readonly string[] => value.split(',').map((a) => a.trim()).filter(Boolean),
  }),
  wsMaxMessagesPerSecond: setting({
    env: 'WS_MAX_MESSAGES_PER_SECOND',
    description: 'Messages one WebSocket may send per second; past it each message gets a RATE_LIMITED error (socket kept).',
    schema: int(200, 1, 1_000_000),
  }),
  wsMaxBufferedBytes: setting({
    env: 'WS_MAX_BUFFERED_BYTES',
    description:
      'Bytes the server may hold unsent for one WebSocket (its `bufferedAmount`: a client that does not read); past it the socket is closed with code 1008 and a reason, its requests are cancelled, and other sockets are not affected.',
    schema: int(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
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
  redisUrl: setting({ env: 'REDIS_URL', description: 'Redis for the BullMQ queues and the shared rate-limit counters (RATE_LIMIT_MAX); unset keeps the queues in-process and each process counts its own limits.', schema: z.string().url().optional() }),
  queueConcurrency: setting({ env: 'QUEUE_CONCURRENCY', description: 'Jobs each queue consumer runs at once.', schema: int(1, 1, 256) }),
  queueLocalWorkers: setting({
    env: 'QUEUE_LOCAL_WORKERS',
    description: 'Whether this server also consumes its queues (with REDIS_URL, 0 leaves them to `npm run worker`).',
    schema: flag('1'),
  }),
  queueLockMs: setting({
    env: 'QUEUE_LOCK_MS',
    description:
      "How long a queue worker's lock on a running job lasts unrenewed (it renews it at half this). A worker that dies (killed, its machine lost) holds its jobs this long at most before they count as stalled and another worker runs them.",
    schema: int(30_000, 1000, 3_600_000),
  }),
  queueStalledCheckMs: setting({
    env: 'QUEUE_STALLED_CHECK_MS',
    description: "How often each queue worker looks for stalled jobs (their lock expired) and puts them back in the queue; a dead worker's job is run again within QUEUE_LOCK_MS plus this.",
    schema: int(30_000, 1000, 3_600_000),
  }),
  jobAttempts: setting({ env: 'JOB_ATTEMPTS', description: 'Tries per job, the first included.', schema: int(3, 1, 100) }),
  jobBackoffMs: setting({ env: 'JOB_BACKOFF_MS', description: 'First retry delay; doubles each retry.', schema: int(500, 0) }),
  jobResultTtlMs: setting({ env: 'JOB_RESULT_TTL_MS', description: 'How long finished jobs and their results are kept.', schema: int(3_600_000, 1000) }),
  jobLeaseMs: setting({
    env: 'JOB_LEASE_MS',
    description:
      "Without REDIS_URL: how long a process's claim on its unfinished jobs in the store lasts unrenewed; after a crash, the jobs are run again once it lapses.",
    schema: int(30_000, 1000, 3_600_000),
  }),
  maxQueuedJobs: setting({
    env: 'MAX_QUEUED_JOBS',
    description: '`/process` jobs waiting or running on the queues (all of them together) before a new queued job gets 429 OVERLOADED with a Retry-After; an upload is refused before its body is read.',
    schema: int(256, 1, 1_000_000),
  }),
  spoolDir: setting({
    env: 'SPOOL_DIR',
    description:
      'Where `/process` uploads are streamed to disk (one file per job, deleted when the job ends: completed, failed, cancelled or shut down). Files of a process that died are removed when the next one starts.',
    schema: z.string().min(1).optional(),
    defaultText: '`<os tmpdir>/capserve-spool`',
    resolve: (value) => path.resolve(value ?? path.join(tmpdir(), 'capserve-spool')),
  }),
  maxSpoolBytes: setting({
    env: 'MAX_SPOOL_BYTES',
    description:
      'Bytes of uploads the spool may hold at once (uploads being received and files of unfinished jobs); an upload that would pass it gets 429 OVERLOADED with a Retry-After, before its body is read when its Content-Length says so.',
    schema: int(1024 * 1024 * 1024, 1024, 1024 * 1024 * 1024 * 1024),
  }),
  maxResultBytes: setting({
    env: 'MAX_RESULT_BYTES',
    description:
      'Bytes (as JSON) of finished in-process job results kept in memory, all jobs together; past it the oldest results are dropped first, and their jobs read `completed` with a RESULT_EVICTED error instead of the result. With REDIS_URL, results live in Redis for JOB_RESULT_TTL_MS.',
    schema: int(256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
  }),
  maxImagePixels: setting({
    env: 'MAX_IMAGE_PIXELS',
    description: 'Largest image (width × height, read from its header before any decoding) a `/process` job takes; larger ones get 413 MEDIA_TOO_LARGE.',
    schema: int(40_000_000, 1, 1_000_000_000),
  }),
  maxPdfPages: setting({
    env: 'MAX_PDF_PAGES',
    description: 'Most pages of a PDF a `/process` job takes; more get 413 MEDIA_TOO_LARGE.',
    schema: int(2000, 1, 1_000_000),
  }),
  maxPdfInflatedBytes: setting({
    env: 'MAX_PDF_INFLATED_BYTES',
    description: "Most bytes a PDF's compressed streams may inflate to, counted in the media worker before pdf.js reads them; past it the PDF gets MEDIA_TOO_LARGE.",
    schema: int(256 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
  }),
  maxJobSeconds: setting({
    env: 'MAX_JOB_SECONDS',
    description: 'A queued job that runs longer fails with JOB_TIMEOUT (not retried); its media worker thread is stopped and replaced.',
    schema: int(300, 1, 86_400),
  }),
  mediaWorkers: setting({
    env: 'MEDIA_WORKERS',
    description: 'Worker threads for PDF text, image decoding and OCR (off the serving thread); work beyond them waits its turn.',
    schema: int(3, 1, 64),
  }),
  mediaWorkerHeapMb: setting({
    env: 'MEDIA_WORKER_HEAP_MB',
    description: "Each media worker thread's JavaScript heap limit (`resourceLimits.maxOldGenerationSizeMb`); a worker that reaches it is replaced and its work fails with MEDIA_TOO_LARGE.",
    schema: int(1024, 64, 65_536),
  }),
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
  maxTrainingSeconds: setting({
    env: 'MAX_TRAINING_SECONDS',
    description:
      "How long a train, evaluate or predict job may compute in its training thread (TF-IDF, fitting, scoring; not the embedding features the batcher computes for it); past it the thread is stopped and the job fails with TRAINING_LIMIT_EXCEEDED.",
    schema: int(600, 1, 86_400),
  }),
  maxTrainingMemoryMb: setting({
    env: 'MAX_TRAINING_MEMORY_MB',
    description: "Each model job's training thread's JavaScript heap limit (`resourceLimits.maxOldGenerationSizeMb`); a job that reaches it fails with TRAINING_LIMIT_EXCEEDED.",
    schema: int(1024, 64, 65_536),
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

/*
 * The standard OpenTelemetry variables capserve itself acts on; the SDK reads the rest (sampler,
 * exporter headers and timeout, batch processor limits, resource attributes) itself, see
 * docs/operations.md#tracing.
 */
const tracing = {
  otelExporterOtlpEndpoint: setting({
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description: 'OTLP/HTTP collector base URL (`/v1/traces` is appended); setting it (or the next) turns tracing on. Export is asynchronous and bounded: an unreachable collector never slows a request.',
    schema: z.string().url().optional(),
  }),
  otelExporterOtlpTracesEndpoint: setting({
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    description: 'OTLP/HTTP traces URL, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT.',
    schema: z.string().url().optional(),
  }),
  otelSdkDisabled: setting({
    env: 'OTEL_SDK_DISABLED',
    description: '`true` (any case) keeps tracing off even with an endpoint set; any other value is false, as the OpenTelemetry specification says.',
    schema: z.string().default('false'),
    resolve: (value): boolean => value.trim().toLowerCase() === 'true',
  }),
  otelServiceName: setting({ env: 'OTEL_SERVICE_NAME', description: "The traces' `service.name`.", schema: z.string().min(1).default('capserve') }),
};

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
  { title: 'Tracing', settings: tracing },
] as const;

/** Every setting, by configuration key. */
export const settings = { ...listening, ...models, ...batching, ...requests, ...access, ...protocols, ...queues, ...storage, ...training, ...tracing };
