/**
 * The "traditional approach" the benchmark compares against: a plain fastify server over the
 * same models and capability code, with no batcher and no sharing. Each request runs on its
 * own, and each requested capability runs its whole dependency chain again for that request
 * (so `sentiment` and `alerts` each compute their own embedding).
 *
 *   CAPABILITIES_CONFIG=... PORT=... tsx scripts/bench/naive-server.ts
 */
import Fastify from 'fastify';
import { buildCapabilities } from '../../capabilities/build.js';
import { loadCapabilitiesConfig } from '../../capabilities/load-config.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { loadConfig } from '../../server/config.js';

const config = loadConfig();
const capabilities = await loadCapabilitiesConfig(config.capabilitiesConfig);
const pool = new ModelPool(
  capabilities.models,
  { modelsDir: config.modelsDir, device: config.device, allowRemoteModels: false, intraOpThreads: config.intraOpThreads },
  defaultLoaders,
);
await pool.load('fail');
const { registry } = await buildCapabilities(capabilities, pool, config.capabilitiesConfig);

let requests = 0;
let executions = 0;
const app = Fastify({ bodyLimit: config.bodyLimitBytes });
app.get('/health/ready', async () => ({ ready: true }));
app.get('/stats', async () => ({ requests, executions }));
app.post<{ Body: { texts: string[]; capabilities: string[] } }>('/classify', async (request) => {
  const { texts, capabilities: wanted } = request.body;
  requests += 1;
  const results: Record<string, unknown>[] = texts.map(() => ({}));
  for (const name of wanted) {
    // This capability's own chain, from scratch.
    const computed = new Map<string, readonly unknown[]>();
    for (const step of registry.resolve([name])) {
      const capability = registry.get(step);
      const dependencies = new Map(capability.dependsOn.map((dependency) => [dependency, computed.get(dependency) ?? []]));
      executions += 1;
      computed.set(step, await capability.run(texts, { dependencies, signal: new AbortController().signal }));
    }
    computed.get(name)?.forEach((result, i) => {
      const slot = results[i];
      if (slot !== undefined) slot[name] = result;
    });
  }
  return { results };
});
await app.listen({ host: config.host, port: config.port });
process.stdout.write(`naive server on ${config.host}:${config.port}\n`);
