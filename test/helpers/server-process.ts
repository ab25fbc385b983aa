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

/** Starts `server/<script>` with tsx, LOG_LEVEL=info and `env`; killed when `t` ends if still running. */
export function runEntryPoint(t: Test, script: string, env: Record<string, string>): EntryPointProcess {
  const root = projectRoot();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server', script)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
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
