import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { until } from '../helpers/until.js';
import { startServerProcess } from '../helpers/server-process.js';


t.test('SIGTERM: the request in flight is answered, then the process exits 0', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-shutdown-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'capabilities.json');
  await writeFile(config, JSON.stringify({ models: [], capabilities: [{ name: 'chaos', kind: 'fault-injection', params: { slowMs: 1500 } }] }));
  const server = await startServerProcess(t, { CAPABILITIES_CONFIG: config, SHUTDOWN_GRACE_MS: '10000' });
  const { url } = server;

  const inFlight = fetch(`${url}/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts: ['take your time #slow'], capabilities: ['chaos'] }),
  });
  // SIGTERM once the text is running in the batcher, so the request is in flight, not yet to come.
  await until(async () => /capserve_queue_depth_texts\{state="running"\} 1\b/.test(await (await fetch(`${url}/metrics`)).text()), {
    what: 'the request to be running',
  });
  server.process.kill('SIGTERM');
  const response = await inFlight;
  t.equal(response.status, 200, 'accepted before SIGTERM, answered after it');
  t.same(((await response.json()) as any).results, [{ chaos: { ok: true } }]);
  t.equal(await server.exited, 0, `exit code (log: ${server.output.slice(-1500)})`);
  t.match(server.output, /shutting down[\s\S]*stopped/);
});
