import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../core/project-root.js';
import { freePort } from '../free-port.js';

/** A server under test, in a process of its own. */
export interface BenchServer {
  readonly url: string;
  readonly pid: number;
  getJson(route: string): Promise<Record<string, any>>;
  stop(): Promise<void>;
}


const fromSource = import.meta.url.endsWith('.ts');

/**
 * Node's arguments to run `script` (a .ts path relative to the project root): with tsx from
 * source, or its compiled .js in the same tree as this file when compiled (the GPU bundle has no tsx).
 */
export function nodeArgs(script: string): string[] {
  const file = fileURLToPath(new URL(`../../${fromSource ? script : script.replace(/\.ts$/, '.js')}`, import.meta.url));
  return fromSource ? ['--import', 'tsx', file] : [file];
}

/**
 * Starts `script` (relative to the project root) with tsx on a free loopback port and waits
 * until `GET /health/ready` answers 200.
 */
export async function startBenchServer(script: string, env: Record<string, string>, timeoutMs = 120_000): Promise<BenchServer> {
  const port = await freePort();
  const root = projectRoot();
  const child: ChildProcess = spawn(process.execPath, nodeArgs(script), {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} was not ready after ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid ?? -1,
    getJson: async (route) => (await (await fetch(url + route)).json()) as Record<string, any>,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
