import path from 'node:path';
import t, { type Test } from 'tap';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { hasWebgpu, maxAbsDiff } from '../helpers/webgpu.js';

/** The tiny BERT as an onnx classifier and a transformers embedder, each in a worker thread, on `device`. */
async function serve(t: Test, device: 'cpu' | 'webgpu') {
  const model = await tinyBertDir();
  const file = await writeCapabilities(
    await testDir(t, `webgpu-${device}`),
    [
      { name: 'classification', kind: 'classifier', model: 'tiny-classifier' },
      { name: 'vector', kind: 'embedding', model: 'tiny-embedder' },
    ],
    [
      { name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: model },
      { name: 'tiny-embedder', backend: 'transformers', task: 'embedding', path: model },
    ],
  );
  return startFullServer(t, { DEVICE: device, MODEL_THREADS: process.env.MT ?? 'worker', CAPABILITIES_CONFIG: file, SQLITE_PATH: ':memory:', MODELS_DIR: path.dirname(model) });
}

t.test('DEVICE=webgpu: /classify is served on WebGPU with the CPU results, and every report says where it runs', async (t) => {
  if (!(await hasWebgpu(t))) return;
  const [cpu, gpu] = [await serve(t, 'cpu'), await serve(t, 'webgpu')];
  const texts = ['the parcel came late and broken', 'great service, thank you', 'ok'];
  const body = { texts, capabilities: ['classification', 'vector'] };
  const [onCpu, onGpu] = [await cpu.request('POST', '/classify', body), await gpu.request('POST', '/classify', body)];
  t.equal(onGpu.status, 200, onGpu.text);
  const vectors = (reply: { body: { results: { vector: number[] }[] } }) => reply.body.results.map((result) => Float32Array.from(result.vector));
  const diff = maxAbsDiff(vectors(onCpu), vectors(onGpu));
  t.ok(diff <= 1e-3, `embeddings match the CPU server's (max abs ${diff.toExponential(2)})`);
  const scores = (reply: { body: { results: { classification: { scores: Record<string, number> } }[] } }) =>
    reply.body.results.map((result) => Float32Array.from(Object.values(result.classification.scores)));
  t.ok(maxAbsDiff(scores(onCpu), scores(onGpu)) <= 1e-3, 'classifier scores match too');

  const listed = await gpu.request('GET', '/capabilities');
  for (const name of ['classification', 'vector']) {
    t.match(listed.body.capabilities.find((c: { name: string }) => c.name === name), { device: 'webgpu', adapter: String }, `${name} reports webgpu and its adapter`);
  }
  const ready = await gpu.request('GET', '/health/ready');
  t.match(ready.body.models, [{ device: 'webgpu', adapter: String }, { device: 'webgpu', adapter: String }]);
  const stats = await gpu.request('GET', '/stats');
  t.ok(stats.body.models.every((m: { info: { device: string } }) => m.info.device === 'webgpu'), '/stats says webgpu');
  const metrics = await gpu.request('GET', '/metrics');
  t.match(metrics.text, /capserve_model_info\{model="tiny-classifier",backend="onnx",device="webgpu",adapter="[^"]+"\} 1/);
  const cpuMetrics = await cpu.request('GET', '/metrics');
  t.match(cpuMetrics.text, /capserve_model_info\{model="tiny-embedder",backend="transformers",device="cpu",adapter=""\} 1/);
});
