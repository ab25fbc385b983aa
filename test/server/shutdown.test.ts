import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { projectRoot as findProjectRoot } from '../../core/project-root.js';
import { freePort } from '../../scripts/free-port.js';
import { until } from '../helpers/until.js';

const projectRoot = findProjectRoot();


t.test('SIGTERM: the request in flight is answered, then the process exits 0', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-shutdown-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'capabilities.json');
  await writeFile(config, JSON.stringify({ models: [], capabilities: [{ name: 'chaos', kind: 'fault-injection', params: { slowMs: 1500 } }] }));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'server', 'main.ts')], {
    cwd: projectRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), CAPABILITIES_CONFIG: config, SHUTDOWN_GRACE_MS: '10000', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  await until(() => fetch(`${url}/health/ready`).then((r) => r.ok, () => false), { what: () => `the server to be ready: ${output}`, timeoutMs: 30_000, intervalMs: 50 });

  const inFlight = fetch(`${url}/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts: ['take your time #slow'], capabilities: ['chaos'] }),
  });
  // SIGTERM once the text is running in the batcher, so the request is in flight, not yet to come.
  await until(async () => /capserve_queue_depth_texts\{state="running"\} 1\b/.test(await (await fetch(`${url}/metrics`)).text()), {
    what: 'the request to be running',
  });
  child.kill('SIGTERM');
  const response = await inFlight;
  t.equal(response.status, 200, 'accepted before SIGTERM, answered after it');
  t.same(((await response.json()) as any).results, [{ chaos: { ok: true } }]);
  t.equal(await exited, 0, `exit code (log: ${output.slice(-1500)})`);
  t.match(output, /shutting down[\s\S]*stopped/);
});
