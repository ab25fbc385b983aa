import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../free-port.js';
import { Children, sleep } from './children.js';
import { ClassifyLoad, type JobEnd, JobTrickle } from './load.js';
import { postgresSchema, type Replica, startHaproxy, startRedis, startReplica, startWorker, writeCapabilities } from './parts.js';
import { type Deployment, killReplica, killWorker, rollingRestart, type ScenarioResult, sharedRateLimit } from './scenarios.js';

export interface ScaleTestOptions {
  /** Concurrent /classify clients. @default 8 */
  readonly clients?: number;
  /** Milliseconds between two /process jobs of the trickle. @default 500 */
  readonly jobIntervalMs?: number;
  /** Load before the first scenario and between scenarios, in milliseconds. @default 2000 */
  readonly steadyMs?: number;
  /** RATE_LIMIT_MAX of the shared-rate-limit scenario. @default 10 */
  readonly rateLimitMax?: number;
  /** Progress lines. @default nothing */
  readonly log?: (line: string) => void;
}

export interface ScaleReport {
  /** Every scenario's invariants held (pending ones aside). */
  readonly ok: boolean;
  readonly setupMs: number;
  readonly totalMs: number;
  readonly scenarios: ScenarioResult[];
  /** How the accepted /process jobs of the trickle ended. */
  readonly jobEnds: Record<JobEnd, number>;
  /** Failures outside the scenarios (a part that would not start), with the output of the parts. */
  readonly problems: string[];
}

/** HAProxy's check settings: a replica is out after two failed checks half a second apart, back after two good ones. */
const CHECK = { checkIntervalMs: 500, fall: 2, rise: 2 } as const;

/**
 * The multi-replica test of issue 15: redis-server, PostgreSQL, two capserve replicas fronting
 * the queues, two queue workers and HAProxy, all on loopback, under steady /classify load and a
 * trickle of /process jobs; then a rolling restart, a replica killed, a worker killed mid-job and
 * one rate limit across the replicas. Every process it started is stopped before it resolves,
 * and killed if the script dies.
 */
export async function runScaleTest(options: ScaleTestOptions = {}): Promise<ScaleReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const children = new Children();
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-scale-'));
  const scenarios: ScenarioResult[] = [];
  const problems: string[] = [];
  let jobEnds: Record<JobEnd, number> = { completed: 0, failed: 0, cancelled: 0, unfinished: 0 };
  let setupMs = 0;
  let dropSchema = async (): Promise<void> => {};
  let redisClient: Redis | undefined;
  let deployment: Deployment | undefined;
  try {
    log('starting redis-server, PostgreSQL and generating the tiny BERT');
    const [redis, database, capabilities] = await Promise.all([startRedis(children), postgresSchema(), writeCapabilities(dir)]);
    dropSchema = database.drop;
    redisClient = new Redis(redis.url);
    redisClient.on('error', () => {});
    const common = {
      REDIS_URL: redis.url,
      DATABASE_URL: database.url,
      DATABASE_SCHEMA: database.schema,
      CAPABILITIES_CONFIG: capabilities,
      MEASURE_COST_CURVE: '0',
      MODEL_THREADS: 'main',
      LOG_LEVEL: 'warn',
      SPOOL_DIR: path.join(dir, 'spool'),
      // Queued /process texts: anything over 16 tokens goes to a worker.
      MAX_INLINE_TOKENS: '16',
    };
    const replicaEnv = { ...common, QUEUE_LOCAL_WORKERS: '0', SHUTDOWN_GRACE_MS: '10000', SHUTDOWN_DELAY_MS: '1500', REFUSAL_DELAY_MS: '0' };
    const workerEnv = { ...common, QUEUE_LOCK_MS: '2000', QUEUE_STALLED_CHECK_MS: '1000', SHUTDOWN_GRACE_MS: '5000' };

    log('starting replicas a and b, workers 1 and 2');
    const ports = [await freePort(), await freePort()];
    // One replica first: it creates the PostgreSQL tables the other then finds.
    const first = await startReplica(children, { name: 'a', port: ports[0] ?? 0 }, replicaEnv);
    const [second, worker1, worker2] = await Promise.all([
      startReplica(children, { name: 'b', port: ports[1] ?? 0 }, replicaEnv),
      startWorker(children, 'worker-1', workerEnv),
      startWorker(children, 'worker-2', workerEnv),
    ]);
    const replicas: Replica[] = [first, second];
    const balancer = await startHaproxy(children, dir, { ...CHECK, replicas: replicas.map(({ name, port }) => ({ name, port })) });
    setupMs = Date.now() - started;
    log(`deployment up after ${setupMs} ms; HAProxy on ${balancer.url}`);

    const load = new ClassifyLoad(balancer.url, options.clients ?? 8);
    const trickle = new JobTrickle(balancer.url, options.jobIntervalMs ?? 500);
    deployment = {
      children,
      balancer,
      replicas,
      workers: [
        { name: 'worker-1', child: worker1 },
        { name: 'worker-2', child: worker2 },
      ],
      replicaEnv,
      workerEnv,
      redis: redisClient,
      load,
      trickle,
      ...CHECK,
    };
    load.start();
    trickle.start();
    const steadyMs = options.steadyMs ?? 2000;
    await sleep(steadyMs);

    for (const scenario of [rollingRestart, killReplica, killWorker]) {
      log(`scenario: ${scenario.name}`);
      scenarios.push(await scenario(deployment));
      await sleep(steadyMs / 2);
    }
    log('stopping the load and following the last jobs to their end');
    await Promise.all([load.stop(), trickle.stop()]);
    jobEnds = { ...trickle.ends };
    if (jobEnds.completed === 0 || jobEnds.failed + jobEnds.cancelled + jobEnds.unfinished > 0) problems.push(`/process jobs did not all complete: ${JSON.stringify(jobEnds)}`);

    log('scenario: shared rate limit');
    scenarios.push(await sharedRateLimit(deployment, options.rateLimitMax ?? 10));
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    await Promise.all([deployment?.load.stop(), deployment?.trickle.stop()]);
    redisClient?.disconnect();
    await children.stopAll();
    children.detach();
    await dropSchema().catch((error: unknown) => problems.push(`dropping the PostgreSQL schema: ${String(error)}`));
    await rm(dir, { recursive: true, force: true });
  }
  return {
    ok: problems.length === 0 && scenarios.length === 4 && scenarios.every((scenario) => scenario.ok),
    setupMs,
    totalMs: Date.now() - started,
    scenarios,
    jobEnds,
    problems,
  };
}
