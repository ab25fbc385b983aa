import path from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../server/config.js';
import { createServer } from '../../server/create-server.js';
import { LogRecorder } from '../helpers/log-records.js';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

// No Vulkan driver for this process (set before anything opens WebGPU): Dawn finds no adapter.
process.env.VK_DRIVER_FILES = '/nonexistent/capserve-no-such-icd.json';

async function capabilitiesFile(t: Test): Promise<{ file: string; modelsDir: string }> {
  const model = await tinyBertDir();
  const file = await writeCapabilities(
    await testDir(t, 'device-unavailable'),
    [
      { name: 'vector', kind: 'embedding', model: 'tiny-embedder' },
      { name: 'stats', kind: 'text-stats' },
    ],
    [{ name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: model }],
  );
  return { file, modelsDir: path.dirname(model) };
}

t.test('DEVICE=webgpu with no adapter and MODEL_LOAD_FAILURE=fail stops start-up with DEVICE_UNAVAILABLE naming the model and the reason', async (t) => {
  const { file, modelsDir } = await capabilitiesFile(t);
  const config = loadConfig({ PORT: '0', DEVICE: 'webgpu', MODEL_LOAD_FAILURE: 'fail', MODEL_THREADS: 'worker', CAPABILITIES_CONFIG: file, MODELS_DIR: modelsDir, SQLITE_PATH: ':memory:' });
  const server = await createServer(config, new LogRecorder('silent').logger);
  t.teardown(() => server.stop(1000));
  await t.rejects(server.start(), { code: 'DEVICE_UNAVAILABLE', message: /model "tiny-embedder": device "webgpu" cannot start: webgpu: no WebGPU adapter/, details: { model: "tiny-embedder" } });
});

t.test('MODEL_LOAD_FAILURE=degrade serves the rest and says why the model is out', async (t) => {
  const { file, modelsDir } = await capabilitiesFile(t);
  const server = await startFullServer(t, { DEVICE: 'webgpu', MODEL_LOAD_FAILURE: 'degrade', CAPABILITIES_CONFIG: file, MODELS_DIR: modelsDir, SQLITE_PATH: ':memory:' });
  t.equal((await server.request('GET', '/health/ready')).status, 200);
  const refused = await server.request('POST', '/classify', { texts: ['x'], capabilities: ['vector'] });
  t.equal(refused.status, 503);
  t.equal(refused.body.error.code, 'CAPABILITY_UNAVAILABLE');
  const served = await server.request('POST', '/classify', { texts: ['x'], capabilities: ['stats'] });
  t.equal(served.status, 200, 'capabilities without the model still serve');
  const listed = await server.request('GET', '/capabilities');
  t.match(listed.body.capabilities.find((c: { name: string }) => c.name === 'vector'), { available: false, reason: /no WebGPU adapter/ });
});

t.test('DEVICE=auto falls back to the CPU and says so', async (t) => {
  const { file, modelsDir } = await capabilitiesFile(t);
  const server = await startFullServer(t, { DEVICE: 'auto', CAPABILITIES_CONFIG: file, MODELS_DIR: modelsDir, SQLITE_PATH: ':memory:' });
  const listed = await server.request('GET', '/capabilities');
  t.match(listed.body.capabilities.find((c: { name: string }) => c.name === 'vector'), { device: 'cpu', available: true });
  t.equal((await server.request('POST', '/classify', { texts: ['x'], capabilities: ['vector'] })).status, 200);
});
