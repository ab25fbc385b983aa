import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { projectRoot } from '../../core/project-root.js';
import { freePort } from '../free-port.js';
import { tinySentimentExamples } from '../fixtures/sentiment-examples.js';
import { generateBertModel } from '../generate-bert-onnx.js';
import { type Child, type Children, waitFor } from './children.js';
import { haproxyConfig, type HaproxyConfigOptions, serverStates } from './haproxy-config.js';

const run = promisify(execFile);

/** Slow requests in the steady load, so that a replica always holds some when it is stopped. */
export const HELD_MS = 300;
/** The /process job a queue worker is killed in the middle of. */
export const LONG_JOB_MS = 2500;

/** A redis-server on a free loopback port, without persistence. */
export async function startRedis(children: Children): Promise<{ readonly url: string; readonly child: Child }> {
  const port = await freePort();
  const child = children.spawn('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await waitFor(async () => {
      if (!child.alive()) throw new Error(`redis-server exited: ${child.output()}`);
      return client.connect().then(
        () => client.ping().then((reply) => reply === 'PONG'),
        () => false,
      );
    }, 'redis-server to answer PING', 10_000);
  } finally {
    client.disconnect();
  }
  return { url, child };
}

/**
 * A PostgreSQL schema of this run's own: on TEST_DATABASE_URL when set, else on the local
 * cluster that `.ci/start-postgres.sh` starts (it prints the URL). `drop()` removes it.
 */
export async function postgresSchema(): Promise<{ readonly url: string; readonly schema: string; drop(): Promise<void> }> {
  let url = process.env.TEST_DATABASE_URL ?? '';
  if (url === '') url = (await run('bash', [path.join(projectRoot(), '.ci', 'start-postgres.sh')])).stdout.trim();
  const schema = `capserve_scale_${process.pid}_${Date.now().toString(36)}`;
  return {
    url,
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/**
 * The tiny random-weight BERT (as the tests use) behind `embedding` and `sentiment`, plus two
 * model-free fault-injection capabilities that take a fixed time on texts marked `#slow`:
 * `held` for a share of the steady load and `long-job` for the job a worker dies in.
 */
export async function writeCapabilities(dir: string): Promise<string> {
  const modelDir = path.join(dir, 'tiny-bert');
  await generateBertModel({ out: modelDir, preset: 'tiny' });
  const examples = path.join(dir, 'sentiment-examples.json');
  await writeFile(
    examples,
    JSON.stringify(tinySentimentExamples),
  );
  const file = path.join(dir, 'capabilities.json');
  await writeFile(
    file,
    JSON.stringify({
      models: [{ name: 'tiny', backend: 'onnx', task: 'embedding', path: modelDir, instances: 1 }],
      capabilities: [
        { name: 'embedding', kind: 'embedding', model: 'tiny' },
        { name: 'sentiment', kind: 'embedding-classifier', dependsOn: ['embedding'], params: { examples } },
        { name: 'held', kind: 'fault-injection', params: { slowMs: HELD_MS } },
        { name: 'long-job', kind: 'fault-injection', params: { slowMs: LONG_JOB_MS } },
      ],
    }),
  );
  return file;
}

/** A capserve process started with tsx from the sources, as the tests start one. */
export interface Replica {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  child: Child;
}

function entryPoint(children: Children, name: string, script: string, env: Record<string, string>): Child {
  const root = projectRoot();
  return children.spawn(name, process.execPath, ['--import', 'tsx', path.join(root, 'server', script)], { cwd: root, env });
}

/** Starts (or starts again) `server/main.ts` for `replica` and waits for `/health/ready`. */
export async function startReplica(children: Children, replica: { readonly name: string; readonly port: number }, env: Record<string, string>): Promise<Replica> {
  const url = `http://127.0.0.1:${replica.port}`;
  const child = entryPoint(children, replica.name, 'main.ts', { ...env, HOST: '127.0.0.1', PORT: String(replica.port), WORKER_ID: replica.name });
  await waitFor(
    async () => {
      if (!child.alive()) throw new Error(`${replica.name} exited before it was ready:\n${child.output()}`);
      return fetch(`${url}/health/ready`).then((response) => response.ok, () => false);
    },
    () => `${replica.name} to be ready:\n${child.output().slice(-2000)}`,
    60_000,
    50,
  );
  return { ...replica, url, child };
}

/** Starts `server/worker.ts` (a queue worker) on a port of its own and waits for its `/health/ready`. */
export async function startWorker(children: Children, name: string, env: Record<string, string>): Promise<Child> {
  // Several workers share this host: each needs its own health and metrics port.
  const url = `http://127.0.0.1:${await freePort()}`;
  const child = entryPoint(children, name, 'worker.ts', { ...env, WORKER_ID: name, LOG_LEVEL: 'info', HOST: '127.0.0.1', WORKER_PORT: new URL(url).port });
  await waitFor(
    async () => {
      if (!child.alive()) throw new Error(`${name} exited before it was ready:\n${child.output()}`);
      return fetch(`${url}/health/ready`).then((response) => response.ok, () => false);
    },
    () => `${name} to be ready:\n${child.output().slice(-2000)}`,
    60_000,
    50,
  );
  return child;
}

/** HAProxy in the foreground over `replicas`, with its stats page for reading what it sees. */
export interface Balancer {
  readonly url: string;
  readonly child: Child;
  /** Each replica's state as HAProxy has it now (`UP`, `DOWN`, `UP 1/2`, …). */
  states(): Promise<Map<string, string>>;
}

export async function startHaproxy(children: Children, dir: string, options: Omit<HaproxyConfigOptions, 'port' | 'statsPort'>): Promise<Balancer> {
  const port = await freePort();
  const statsPort = await freePort();
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, haproxyConfig({ ...options, port, statsPort }));
  await run('haproxy', ['-c', '-q', '-f', file]);
  const child = children.spawn('haproxy', 'haproxy', ['-db', '-f', file]);
  const states = async (): Promise<Map<string, string>> => serverStates(await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text(), 'replicas');
  const names = options.replicas.map((replica) => replica.name);
  await waitFor(
    async () => {
      if (!child.alive()) throw new Error(`haproxy exited: ${child.output()}`);
      const now = await states().catch(() => undefined);
      return now !== undefined && names.every((name) => now.get(name) === 'UP');
    },
    () => `haproxy to see every replica up: ${child.output()}`,
    15_000,
    50,
  );
  return { url: `http://127.0.0.1:${port}`, child, states };
}
