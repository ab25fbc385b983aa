import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { type Test } from 'tap';
import { freePort } from '../../scripts/free-port.js';
import { until } from './until.js';

export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM), as an outage would; `start()` brings it back on the same port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A throwaway redis-server on a free port, without persistence, killed when `t` ends.
 * Resolves undefined (with a skipped test) when the binary is missing on a developer machine;
 * in CI (`CI` set) a missing binary fails the test instead.
 */
export async function startRedis(t: Test): Promise<RedisServer | undefined> {
  if (!existsSync(REDIS_SERVER_BIN)) {
    if (process.env.CI !== undefined && process.env.CI !== '') {
      throw new Error(`${REDIS_SERVER_BIN} is missing; CI must install it (apt-get install redis-server)`);
    }
    t.skip(`${REDIS_SERVER_BIN} is not installed`, () => {});
    return undefined;
  }
  let lastError: unknown;
  // The free port can be taken between probing and binding; try a few.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    try {
      let child = await spawnRedis(port);
      t.teardown(() => stop(child));
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => stop(child),
        start: async () => {
          child = await spawnRedis(port);
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitForPing(port, child, 10_000);
    return child;
  } catch (error) {
    await stop(child);
    throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
}


async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
      return ping(port);
    },
    { what: 'a PONG', timeoutMs, intervalMs: 25 },
  );
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
