import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type Test } from 'tap';
import { projectRoot } from '../../core/project-root.js';
import { freePort } from '../../scripts/free-port.js';
import { until } from './until.js';

/** An entry point (`server/main.ts`, `server/worker.ts`) running as an operator runs it, in a process of its own. */
export interface EntryPointProcess {
  readonly process: ChildProcess;
  /** Its stdout and stderr so far. */
  output: string;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `server/<script>` with tsx, LOG_LEVEL=info and `env`; killed when `t` ends if still running.
 * A worker's listener is off (WORKER_PORT=0) unless `env` sets a port: test files run in parallel,
 * and two workers on the default port would collide.
 */
export function runEntryPoint(t: Test, script: string, env: Record<string, string>): EntryPointProcess {
  const root = projectRoot();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server', script)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', WORKER_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const record: EntryPointProcess = {
    process: child,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => (record.output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (record.output += chunk.toString()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return record;
}

/** `server/main.ts` on a free loopback port, once `/health/ready` answers 200. */
export async function startServerProcess(t: Test, env: Record<string, string>): Promise<EntryPointProcess & { readonly url: string; readonly port: number }> {
  const port = await freePort();
  const server = runEntryPoint(t, 'main.ts', { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await until(() => fetch(`${url}/health/ready`).then((r) => r.ok, () => false), { what: () => `the server to be ready: ${server.output}`, timeoutMs: 30_000, intervalMs: 50 });
  return Object.assign(server, { url, port });
}

/** `server/worker.ts` with its health and metrics listener on a free loopback port, once its `/health/ready` answers 200. */
export async function startWorkerProcess(t: Test, env: Record<string, string>): Promise<EntryPointProcess & { readonly url: string; readonly port: number }> {
  const port = await freePort();
  const worker = runEntryPoint(t, 'worker.ts', { HOST: '127.0.0.1', WORKER_PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await until(
    () => {
      if (worker.process.exitCode !== null) throw new Error(`the worker exited with code ${worker.process.exitCode}: ${worker.output}`);
      return fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    },
    { what: () => `the worker to be ready: ${worker.output}`, timeoutMs: 30_000, intervalMs: 50 },
  );
  return Object.assign(worker, { url, port });
}
