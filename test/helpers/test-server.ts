import { type FastifyInstance } from 'fastify';
import { type LevelWithSilent } from 'pino';
import { type Test } from 'tap';
import { type BatcherOptions } from '../../batcher/types.js';
import { type BuiltCapabilities } from '../../capabilities/build.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { type Capability } from '../../capabilities/types.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { ModelRepository } from '../../models/repository/model-repository.js';
import { ApiKeys } from '../../server/api-keys.js';
import { buildApp } from '../../server/app.js';
import { type ServerConfig } from '../../server/config.js';
import { type RateLimitOptions } from '../../server/rate-limit.js';
import { createJobs, type Jobs } from '../../jobs/create-jobs.js';
import { type JobJournal } from '../../jobs/queue/job-journal.js';
import { type JobsSettings, type JobsSpeech } from '../../jobs/types.js';
import { CapserveService } from '../../engine/service.js';
import { LogRecorder } from './log-records.js';

export interface TestServer {
  readonly app: FastifyInstance;
  readonly service: CapserveService;
  /** `http://127.0.0.1:<port>` of the listening server. */
  readonly url: string;
  /** The /process front-end and its queues, when started with `jobs`. */
  readonly jobs: Jobs | undefined;
  /** What the server logged, parsed (empty unless started with a `logLevel`). */
  readonly logs: LogRecorder;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any; text: string; headers: Headers }>;
}

const limits: Pick<ServerConfig, 'maxTextsPerRequest' | 'maxTextLength' | 'bodyLimitBytes' | 'maxUploadBytes' | 'requestTimeoutMs'> = {
  maxTextsPerRequest: 8,
  maxTextLength: 100,
  bodyLimitBytes: 64 * 1024,
  maxUploadBytes: 2 * 1024 * 1024,
  requestTimeoutMs: 30_000,
};

/** In-process queues, one try per job, small inline limit: what the /process tests start with. */
export const testJobsSettings: JobsSettings = {
  redisUrl: undefined,
  queueConcurrency: 1,
  queueLocalWorkers: true,
  jobAttempts: 1,
  jobBackoffMs: 10,
  jobResultTtlMs: 60_000,
  workerId: 'test',
  maxInlineTokens: 64,
  maxBatchTexts: 64,
  maxTextsPerRequest: 8,
  device: 'cpu',
};

/**
 * A real fastify server on an ephemeral port over the given capabilities (no models), started
 * unless `start: false`, and closed when the test ends.
 */
export async function startTestServer(
  t: Test,
  capabilities: readonly Capability[],
  options: {
    start?: boolean;
    unavailable?: Map<string, string>;
    windowMs?: number;
    /** Fixed windows by default, so concurrent test requests share a batch deterministically. */
    batcher?: Partial<BatcherOptions>;
    resultCache?: { maxEntries: number; ttlMs: number };
    maxQueuedTexts?: number;
    /** API_KEYS entries: `label:role:key` or bare (admin) keys. */
    apiKeys?: readonly string[];
    /** Failed authentications per address per minute. @default 20 */
    authFailureLimit?: number;
    /** CORS_ORIGINS. @default [] */
    corsOrigins?: readonly string[];
    /** RATE_LIMIT_MAX and RATE_LIMIT_WINDOW_MS; `redis` shares the counters (REDIS_URL, RATE_LIMIT_REDIS_FAIL). */
    rateLimit?: Omit<RateLimitOptions, 'exemptPaths'>;
    /** TRUST_PROXY: load balancers whose X-Forwarded-For names the client. @default [] */
    trustProxy?: readonly string[];
    /** A model repository folder behind /models. */
    repository?: string;
    requestTimeoutMs?: number;
    /** MAX_UPLOAD_BYTES. @default 2 MiB */
    maxUploadBytes?: number;
    /** The speech-to-text recognizer of `/process` audio and video jobs (closed with the jobs). */
    speech?: JobsSpeech;
    wsMaxMessagesPerSecond?: number;
    /** WS_MAX_BUFFERED_BYTES. @default no cap */
    wsMaxBufferedBytes?: number;
    jobs?: Partial<JobsSettings>;
    /** Records `/process` jobs here so that another server on the same journal takes them over (as the store does). */
    jobsJournal?: JobJournal;
    /** Logs at this level into `logs`. @default 'silent' */
    logLevel?: LevelWithSilent;
  } = {},
): Promise<TestServer> {
  const logs = new LogRecorder(options.logLevel ?? 'silent');
  const logger = logs.logger;
  const built: BuiltCapabilities = {
    registry: new CapabilityRegistry().register(...capabilities),
    unavailable: options.unavailable ?? new Map(),
    specs: new Map(),
  };
  const service = new CapserveService({
    pool: new ModelPool([], { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 0 }, defaultLoaders),
    build: async () => built,
    batcher: { windowMs: options.windowMs ?? 2, maxBatchTexts: 64, mode: 'fixed', ...options.batcher },
    ...(options.resultCache === undefined ? {} : { resultCache: options.resultCache }),
    ...(options.maxQueuedTexts === undefined ? {} : { maxQueuedTexts: options.maxQueuedTexts }),
    loadFailure: 'fail',
    logger,
  });
  const persistence = options.jobsJournal === undefined ? undefined : { journal: options.jobsJournal, leaseMs: 30_000 };
  const jobs =
    options.jobs === undefined ? undefined : createJobs(service, service.metrics.registry, { ...testJobsSettings, ...options.jobs }, logger, persistence, options.speech);
  const app = await buildApp({
    service,
    config: {
      ...limits,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.maxUploadBytes === undefined ? {} : { maxUploadBytes: options.maxUploadBytes }),
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      ...(options.wsMaxMessagesPerSecond === undefined ? {} : { wsMaxMessagesPerSecond: options.wsMaxMessagesPerSecond }),
      ...(options.wsMaxBufferedBytes === undefined ? {} : { wsMaxBufferedBytes: options.wsMaxBufferedBytes }),
    },
    logger,
    ...(jobs === undefined ? {} : { frontEnd: jobs.frontEnd }),
    ...(options.apiKeys === undefined
      ? {}
      : { auth: { keys: new ApiKeys(options.apiKeys), exemptPaths: ['/health', '/health/ready', '/metrics'], ...(options.authFailureLimit === undefined ? {} : { failureLimit: options.authFailureLimit }) } }),
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
    ...(options.repository === undefined ? {} : { repository: new ModelRepository(options.repository) }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: { ...options.rateLimit, exemptPaths: ['/health', '/health/ready', '/metrics'] } }),
  });
  const url = await listenOnLoopback(t, app, service, async () => {
    await jobs?.close(1000);
  });
  if (options.start !== false) {
    await service.start();
    await jobs?.start();
  }
  return {
    app,
    service,
    url,
    jobs,
    logs,
    async post(path, body, headers = { 'content-type': 'application/json' }) {
      const response = await fetch(url + path, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined };
    },
    async get(path) {
      const response = await fetch(url + path);
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body, text, headers: response.headers };
    },
  };
}

/**
 * Listens on an ephemeral loopback port and, when the test ends, closes the app, then
 * `beforeStop` (jobs), then the service. Returns `http://127.0.0.1:<port>`.
 */
export async function listenOnLoopback(t: Test, app: FastifyInstance, service: CapserveService, beforeStop: () => Promise<void> = async () => {}): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    await beforeStop();
    await service.stop(1000);
  });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}
