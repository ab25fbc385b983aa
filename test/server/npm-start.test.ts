import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { projectRoot } from '../../core/project-root.js';
import { freePort } from '../../scripts/free-port.js';
import { startRedis } from '../helpers/redis-server.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { until } from '../helpers/until.js';

/**
 * `npm start` and `npm run worker` as a process supervisor runs them: the build is reused when
 * current, and a SIGTERM sent to the npm process stops the server cleanly (its shutdown lines
 * logged, its port closed) and leaves no node process behind.
 */

// The first `npm start` may have to compile dist/ (tsc takes half a minute or more on 2 cores).
t.setTimeout(300_000);

const root = projectRoot();
const { staleReason } = (await import(pathToFileURL(path.join(root, 'scripts', 'start.mjs')).href)) as {
  staleReason(projectRoot: string): string | undefined;
};

t.test('the start script rebuilds only when dist is missing or older than a source', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-start-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const write = async (file: string, text: string, seconds: number): Promise<void> => {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
    await utimes(path.join(dir, file), seconds, seconds);
  };
  await write('tsconfig.json', '{}', 1000);
  await write('tsconfig.build.json', JSON.stringify({ include: ['server', 'core'] }), 1000);
  await write('server/main.ts', '', 1000);
  await write('server/worker.ts', '', 1000);
  await write('core/types.d.ts', '', 5000);
  t.equal(staleReason(dir), 'dist/server/main.js is missing');
  await write('dist/server/main.js', '', 2000);
  await write('dist/server/worker.js', '', 2000);
  t.equal(staleReason(dir), undefined, 'every output newer than its source: current (declarations compile to nothing)');
  await write('server/main.ts', '', 3000);
  t.equal(staleReason(dir), 'server/main.ts changed since the last build');
  await write('dist/server/main.js', '', 3000);
  await write('core/new-file.ts', '', 1000);
  t.equal(staleReason(dir), 'dist has no output for core/new-file.ts');
  await write('dist/core/new-file.js', '', 2000);
  t.equal(staleReason(dir), undefined);
  await write('tsconfig.json', '{}', 2500);
  t.equal(staleReason(dir), 'a tsconfig changed since the last build');
});

interface NpmRun {
  readonly npm: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
  /** The parsed pino lines so far. */
  records(): Record<string, any>[];
}

/** `npm <args>` in the project, as an operator types it; killed at the end of `t` if still running. */
function runNpm(t: Test, args: string[], env: Record<string, string>): NpmRun {
  const npm = spawn('npm', args, { cwd: root, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: NpmRun = {
    npm,
    output: '',
    exited: new Promise((resolve) => npm.once('exit', (code) => resolve(code))),
    records: () =>
      run.output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
  npm.stdout?.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  t.teardown(() => {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    // The process the npm script started, if a failed test left it running.
    for (const record of run.records()) {
      if (typeof record.pid === 'number' && alive(record.pid)) process.kill(record.pid, 'SIGKILL');
    }
  });
  return run;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits for a line with `message`; fails at once, with the output, if npm exits first (a failed build, a bad setting). */
async function untilLogged(run: NpmRun, message: string, timeoutMs: number): Promise<void> {
  let exited: number | null | undefined;
  void run.exited.then((code) => (exited = code));
  await until(
    () => {
      if (exited !== undefined) throw new Error(`npm exited with ${exited} before logging '${message}':\n${run.output.slice(-3000)}`);
      return run.records().some((r) => r.msg === message);
    },
    { what: () => `'${message}' in the log\n${run.output.slice(-2000)}`, timeoutMs, intervalMs: 100 },
  );
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** SIGTERM to npm itself: npm exits 0, the stopped line is logged, and the node process that served is gone. */
async function stopWithSigterm(t: Test, run: NpmRun, readyMessage: string, stoppedMessage: string): Promise<void> {
  const ready = run.records().find((r) => r.msg === readyMessage);
  const pid = ready?.pid as number;
  t.not(pid, run.npm.pid, 'the server runs in a process of its own under npm');
  run.npm.kill('SIGTERM');
  const code = await run.exited;
  if (code !== 0) t.comment(run.output.slice(-3000));
  t.equal(code, 0, 'npm exits 0 after SIGTERM');
  const messages = run.records().map((r) => r.msg);
  t.ok(messages.includes(stoppedMessage), `the '${stoppedMessage}' line is logged`);
  await until(() => !alive(pid), { what: `process ${pid} to be gone`, timeoutMs: 10_000 });
  t.pass('no orphan node process remains');
}

const tinyBertCapabilities = async (dir: string): Promise<Record<string, string>> => {
  const bert = await tinyBertDir();
  const config = path.join(dir, 'capabilities.json');
  await writeFile(
    config,
    JSON.stringify({
      models: [{ name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: path.basename(bert) }],
      capabilities: [{ name: 'embedding', kind: 'embedding', model: 'tiny-embedder' }],
    }),
  );
  return {
    CAPABILITIES_CONFIG: config,
    MODELS_DIR: path.dirname(bert),
    SQLITE_PATH: path.join(dir, 'capserve.db'),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    MEASURE_COST_CURVE: '0',
  };
};

const redis = await startRedis(t);

t.test('npm start serves, and SIGTERM to npm stops it cleanly; then npm run worker, without a rebuild', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-npm-start-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = await tinyBertCapabilities(dir);
  const port = await freePort();
  const server = runNpm(t, ['start'], { ...env, HOST: '127.0.0.1', PORT: String(port) });
  await untilLogged(server, 'ready', 240_000);
  const health = await fetch(`http://127.0.0.1:${port}/health/ready`, { headers: { 'x-request-id': 'supervisor-1' } });
  t.equal(health.status, 200);
  t.equal(health.headers.get('x-request-id'), 'supervisor-1');
  await stopWithSigterm(t, server, 'ready', 'stopped');
  t.ok(server.records().some((r) => r.msg === 'shutting down' && r.signal === 'SIGTERM'), 'the shutdown names the signal');
  t.notOk(await accepts(port), 'the port is closed');
  t.equal(staleReason(root), undefined, 'dist is current after npm start');

  if (redis === undefined) return;
  // WORKER_PORT=0: no health listener, so no clash with any other worker on this host's default port.
  const worker = runNpm(t, ['run', 'worker'], { ...env, REDIS_URL: redis.url, WORKER_ID: 'npm-worker', WORKER_PORT: '0' });
  await untilLogged(worker, 'worker ready', 60_000);
  t.notMatch(worker.output, /capserve: building/, 'a current build is not compiled again');
  await stopWithSigterm(t, worker, 'worker ready', 'worker stopped');
});

t.test('--help prints the settings reference and starts nothing; an unknown argument exits 2', async (t) => {
  for (const script of ['main.ts', 'worker.ts']) {
    // An invalid PORT and no REDIS_URL: had it read the settings or started, it would fail.
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server', script), ...args], {
          cwd: root,
          env: { ...process.env, PORT: 'not-a-port', REDIS_URL: '' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    for (const flag of ['--help', '-h']) {
      const help = await run([flag]);
      t.equal(help.code, 0, `${script} ${flag} exits 0: ${help.stderr}`);
      t.match(help.stdout, /^Usage: npm (start|run worker) \[--help\]/);
      for (const variable of ['HOST', 'PORT', 'LOG_LEVEL', 'CAPABILITIES_CONFIG', 'REDIS_URL', 'API_KEYS']) {
        t.match(help.stdout, new RegExp(`^  ${variable} \\(\\w+\\), default `, 'm'), `${script} ${flag} lists ${variable}`);
      }
      t.match(help.stdout, /^ {2}PORT \(port\), default 8080\n {6}Port to listen on; 0 picks a free one\.$/m);
    }
    const unknown = await run(['--port', '9000']);
    t.equal(unknown.code, 2, `${script} refuses an unknown argument`);
    t.match(unknown.stderr, /unknown argument "--port"; settings are environment variables/);
    t.equal(unknown.stdout, '');
  }
});
