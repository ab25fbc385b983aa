import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type LevelWithSilent } from 'pino';
import { type Test } from 'tap';
import { loadConfig } from '../../server/config.js';
import { createServer, type Server } from '../../server/create-server.js';
import { untilFinished } from './job-http.js';
import { LogRecorder } from './log-records.js';

export interface FullServer {
  readonly server: Server;
  readonly url: string;
  /** What the server logged, parsed (empty unless started with a `logLevel`). */
  readonly logs: LogRecorder;
  request(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
  /** Stops the server now (the teardown then does nothing). */
  stop(): Promise<void>;
}

/** A temporary folder for a test's files, removed when the test ends. */
export async function testDir(t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `capserve-${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a capabilities file into `dir`: by default one model-free capability, `stats` (text-stats). */
export async function writeCapabilities(dir: string, capabilities: unknown[] = [{ name: 'stats', kind: 'text-stats' }], models: unknown[] = []): Promise<string> {
  const file = path.join(dir, 'capabilities.json');
  await writeFile(file, JSON.stringify({ models, capabilities }));
  return file;
}

/**
 * The whole server as `npm start` wires it (store, repository, model jobs, review queue,
 * queues), from environment variables, listening on loopback and started; stopped at teardown.
 */
export async function startFullServer(
  t: Test,
  env: Record<string, string>,
  options: {
    /** Logs at this level into `logs`. @default 'silent' */
    logLevel?: LevelWithSilent;
  } = {},
): Promise<FullServer> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', MODEL_THREADS: 'main', ...env });
  const logs = new LogRecorder(options.logLevel ?? 'silent');
  const server = await createServer(config, logs.logger);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= server.stop(1000));
  t.teardown(stop);
  await server.start();
  const address = server.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    server,
    url,
    stop,
    logs,
    async request(method, route, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const response = await fetch(url + route, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // CSV and other text bodies stay text.
      }
      return { status: response.status, body: parsed, text };
    },
  };
}

/** Polls `GET /model-jobs/:id` until the job has finished. */
export async function finishedModelJob(server: FullServer, id: string, timeoutMs = 60_000): Promise<Record<string, any>> {
  return untilFinished(() => server.request('GET', `/model-jobs/${id}`), `/model-jobs/${id}`, timeoutMs);
}
