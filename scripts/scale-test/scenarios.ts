import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Redis } from 'ioredis';
import { projectRoot } from '../../core/project-root.js';
import { type Child, type Children, waitFor } from './children.js';
import { type ClassifyLoad, copyCounts, countsSince, emptyTally, jobEnd, type JobEnd, type JobTrickle, type LoadCounts, type Loss, queuedText, submitJob } from './load.js';
import { type Balancer, LONG_JOB_MS, type Replica, startReplica, startWorker } from './parts.js';

/** One scenario's outcome: its counts, the facts it measured, and what broke an invariant. */
export interface ScenarioResult {
  readonly name: string;
  /** Every invariant held (a pending scenario is not counted as failed). */
  readonly ok: boolean;
  /** Why the scenario could not be judged yet, when it could not. */
  readonly pending?: string;
  readonly durationMs: number;
  /** The /classify load during the scenario. */
  readonly classify: LoadCounts;
  /** The /process submissions during the scenario. */
  readonly jobs: LoadCounts;
  readonly facts: Record<string, string | number>;
  readonly problems: string[];
}

/** The running deployment the scenarios act on. */
export interface Deployment {
  readonly children: Children;
  readonly balancer: Balancer;
  readonly replicas: Replica[];
  readonly workers: { name: string; child: Child }[];
  readonly replicaEnv: Record<string, string>;
  readonly workerEnv: Record<string, string>;
  readonly redis: Redis;
  readonly load: ClassifyLoad;
  readonly trickle: JobTrickle;
  /** HAProxy's check interval and fall count, for the routing-around bound. */
  readonly checkIntervalMs: number;
  readonly fall: number;
}

/** Runs `body` between two snapshots of the load's counts. */
async function measured(
  deployment: Deployment,
  name: string,
  body: (facts: Record<string, string | number>, problems: string[]) => Promise<string | void>,
): Promise<ScenarioResult> {
  const started = Date.now();
  const classifyBefore = copyCounts(deployment.load.tally.counts);
  const jobsBefore = copyCounts(deployment.trickle.tally.counts);
  const facts: Record<string, string | number> = {};
  const problems: string[] = [];
  let pending: string | void = undefined;
  try {
    pending = await body(facts, problems);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return {
    name,
    ok: problems.length === 0,
    ...(pending === undefined ? {} : { pending }),
    durationMs: Date.now() - started,
    classify: countsSince(classifyBefore, deployment.load.tally.counts),
    jobs: countsSince(jobsBefore, deployment.trickle.tally.counts),
    facts,
    problems,
  };
}

/** Waits until HAProxy has `name` in state `state` (`UP`, or anything not UP for `DOWN`). */
async function untilBalancer(balancer: Balancer, name: string, state: 'UP' | 'DOWN', timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const now = (await balancer.states()).get(name) ?? '';
      return state === 'UP' ? now === 'UP' : now.startsWith('DOWN') || now === 'MAINT';
    },
    `haproxy to see ${name} ${state}`,
    timeoutMs,
    20,
  );
}

/**
 * SIGTERM one replica, wait for it to exit, start it again, wait until HAProxy has it back; then
 * the other. Invariant: no request lost (429/503 answers were retried by the client).
 */
export function rollingRestart(deployment: Deployment): Promise<ScenarioResult> {
  return measured(deployment, 'rolling restart', async (facts, problems) => {
    const mark = lossMark(deployment);
    for (const [index, replica] of deployment.replicas.entries()) {
      const stopping = Date.now();
      replica.child.process.kill('SIGTERM');
      const code = await replica.child.exited;
      facts[`${replica.name} drain+exit ms`] = Date.now() - stopping;
      if (code !== 0) problems.push(`${replica.name} exited with ${String(code)} on SIGTERM:\n${replica.child.output().slice(-1500)}`);
      const starting = Date.now();
      deployment.replicas[index] = await startReplica(deployment.children, replica, deployment.replicaEnv);
      facts[`${replica.name} start→ready ms`] = Date.now() - starting;
      await untilBalancer(deployment.balancer, replica.name, 'UP');
      facts[`${replica.name} start→haproxy UP ms`] = Date.now() - starting;
    }
    const { losses, drops } = lossesSince(deployment, mark);
    facts['attempts dropped (retried when idempotent)'] = drops.length;
    if (losses.length > 0) problems.push(`${losses.length} requests lost: ${JSON.stringify(tally(losses.map((loss) => loss.outcome)))}`);
  });
}

/**
 * SIGKILL one replica under load: counts the attempts it held (dropped: the connection closed with
 * no answer, or a 502 from HAProxy), and measures how long HAProxy went on routing to it.
 * Invariants: it is marked down within its check interval × fall (plus one interval, since the
 * first failed check may come that late); nothing is dropped after that; no /classify request is
 * lost (its client sends a dropped one again). The replica is started again afterwards.
 */
export function killReplica(deployment: Deployment): Promise<ScenarioResult> {
  return measured(deployment, 'SIGKILL replica', async (facts, problems) => {
    const [replica] = deployment.replicas;
    if (replica === undefined) throw new Error('no replica');
    const mark = lossMark(deployment);
    const killedAt = Date.now();
    replica.child.process.kill('SIGKILL');
    await untilBalancer(deployment.balancer, replica.name, 'DOWN', 10_000);
    const downAt = Date.now();
    const bound = deployment.checkIntervalMs * (deployment.fall + 1);
    facts['kill→haproxy DOWN ms'] = downAt - killedAt;
    facts['bound ms (inter×(fall+1))'] = bound;
    if (downAt - killedAt > bound) problems.push(`HAProxy took ${downAt - killedAt} ms to take ${replica.name} out (bound ${bound} ms)`);
    await replica.child.exited;
    const starting = Date.now();
    deployment.replicas[0] = await startReplica(deployment.children, replica, deployment.replicaEnv);
    await untilBalancer(deployment.balancer, replica.name, 'UP');
    facts['restart→haproxy UP ms'] = Date.now() - starting;
    const { losses, drops } = lossesSince(deployment, mark);
    const held = drops.filter((drop) => drop.at <= downAt);
    facts['attempts the killed replica held (dropped)'] = held.length;
    facts['dropped by outcome'] = JSON.stringify(tally(held.map((drop) => drop.outcome)));
    facts['requests lost (/process ones it held; /classify is retried)'] = losses.length;
    const late = [...losses, ...drops].filter((loss) => loss.at > downAt);
    if (late.length > 0) problems.push(`${late.length} requests lost or dropped after HAProxy had taken ${replica.name} out: ${JSON.stringify(late.slice(0, 5))}`);
    const classifyLost = losses.length - (deployment.trickle.tally.losses.length - (mark[2] ?? 0));
    if (classifyLost > 0) problems.push(`${classifyLost} /classify requests lost although the client retries dropped ones`);
  });
}

/** Where the loss and drop lists of the load and the trickle stand now. */
const lossMark = (deployment: Deployment): readonly number[] => [deployment.load.tally, deployment.trickle.tally].flatMap((tally) => [tally.losses.length, tally.drops.length]);

/** The requests of the load and the trickle lost since `mark`, and the attempts dropped since. */
function lossesSince(deployment: Deployment, mark: readonly number[]): { readonly losses: Loss[]; readonly drops: Loss[] } {
  const [load, trickle] = [deployment.load.tally, deployment.trickle.tally];
  return {
    losses: [...load.losses.slice(mark[0]), ...trickle.losses.slice(mark[2])],
    drops: [...load.drops.slice(mark[1]), ...trickle.drops.slice(mark[3])],
  };
}

const tally = (keys: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
};

/** The worker BullMQ recorded as running `jobId` (its `processedBy`), on whichever queue holds it. */
async function jobHolder(redis: Redis, jobId: string): Promise<string | undefined> {
  for (const queue of ['cpu_standard', 'gpu_fallback']) {
    const holder = await redis.hget(`capserve:${queue}:${jobId}`, 'pb');
    if (holder !== null) return holder;
  }
  return undefined;
}

/**
 * SIGKILL the queue worker running a `/process` job (one that takes LONG_JOB_MS) while a second
 * worker runs. Invariant: the job completes, run by the other worker (BullMQ's stalled-job
 * recovery, with the short QUEUE_LOCK_MS and QUEUE_STALLED_CHECK_MS the workers run with).
 * The killed worker is started again afterwards.
 */
export function killWorker(deployment: Deployment): Promise<ScenarioResult> {
  return measured(deployment, 'SIGKILL queue worker', async (facts, problems) => {
    const submission = emptyTally();
    const jobId = await submitJob(deployment.balancer.url, { text: queuedText(' #slow'), capabilities: ['long-job'] }, submission);
    if (jobId === undefined) throw new Error(`the long job was not accepted: ${JSON.stringify(submission.counts.outcomes)}`);
    const holder = await waitFor(() => jobHolder(deployment.redis, jobId), 'a worker to take the long job', 20_000);
    const index = deployment.workers.findIndex((worker) => worker.name === holder);
    const worker = deployment.workers[index];
    if (worker === undefined) throw new Error(`the long job is held by ${holder}, not a worker of this test`);
    const killedAt = Date.now();
    worker.child.process.kill('SIGKILL');
    facts['killed worker'] = worker.name;
    const end: JobEnd = await jobEnd(deployment.balancer.url, jobId, 30_000);
    facts['kill→job completed ms'] = Date.now() - killedAt;
    facts['job run time ms'] = LONG_JOB_MS;
    const finisher = await jobHolder(deployment.redis, jobId);
    facts['finished by'] = finisher ?? '?';
    if (end !== 'completed') problems.push(`the long job ended ${end}`);
    if (finisher === worker.name) problems.push(`the long job was finished by the killed worker ${worker.name}?`);
    await worker.child.exited;
    const starting = Date.now();
    deployment.workers[index] = { name: worker.name, child: await startWorker(deployment.children, worker.name, deployment.workerEnv) };
    facts['worker restart→ready ms'] = Date.now() - starting;
  });
}

/** Whether server/rate-limit.ts counts in Redis yet (the shared store of issue 15, item 5). */
async function sharedRateLimitLanded(): Promise<boolean> {
  const source = await readFile(path.join(projectRoot(), 'server', 'rate-limit.ts'), 'utf8').catch(() => '');
  return /redis/i.test(source);
}

/**
 * Both replicas restarted with RATE_LIMIT_MAX=`max` (a long window), then 3 × `max` /classify
 * requests through HAProxy, one after another, with no retries. Invariant: `max` are answered,
 * the rest get 429: one limit for the deployment, not one per replica. Run with the load stopped.
 */
export function sharedRateLimit(deployment: Deployment, max: number): Promise<ScenarioResult> {
  return measured(deployment, 'shared rate limit', async (facts, problems) => {
    const env = { ...deployment.replicaEnv, RATE_LIMIT_MAX: String(max), RATE_LIMIT_WINDOW_MS: '60000' };
    for (const replica of deployment.replicas) replica.child.process.kill('SIGTERM');
    await Promise.all(deployment.replicas.map((replica) => replica.child.exited));
    const restarted = await Promise.all(deployment.replicas.map((replica) => startReplica(deployment.children, replica, env)));
    deployment.replicas.splice(0, restarted.length, ...restarted);
    await Promise.all(restarted.map((replica) => untilBalancer(deployment.balancer, replica.name, 'UP')));
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 3 * max; i += 1) {
      const response = await fetch(`${deployment.balancer.url}/classify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: [`limit ${i}`], capabilities: ['sentiment'] }),
      });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
    const answered = statuses['200'] ?? 0;
    facts['RATE_LIMIT_MAX'] = max;
    facts['requests sent'] = 3 * max;
    facts['answered 200'] = answered;
    facts['refused 429'] = statuses['429'] ?? 0;
    const landed = await sharedRateLimitLanded();
    facts['shared store in server/rate-limit.ts'] = landed ? 'yes' : 'no';
    if (answered === max) return;
    const problem = `${answered} requests answered through ${deployment.replicas.length} replicas, limit ${max}: ${answered === deployment.replicas.length * max ? 'one limit per replica' : JSON.stringify(statuses)}`;
    if (!landed) return `${problem} (the Redis rate-limit store has not landed in server/rate-limit.ts)`;
    problems.push(problem);
  });
}
