import t from 'tap';
import { isSoftwareAdapter } from '../../models/devices/place.js';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { loadTransformersBackend } from '../../models/transformers-backend.js';
import { type BackendLoader, type LoadOptions, modelSpecSchema, type ModelTask } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { hasWebgpu, maxAbsDiff } from '../helpers/webgpu.js';

/** The same texts on the CPU and on WebGPU (lavapipe in CI, a real GPU elsewhere) give the same outputs. */
const TOLERANCE = 1e-3;
const options: LoadOptions = { modelsDir: '/nonexistent-models-dir', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };
const texts = ['the service was great', 'terrible, slow delivery and nobody answers the phone', 'hello', 'a b c d e f g h i j k l m n o p'];

const loaders: [string, BackendLoader][] = [
  ['onnx', loadOnnxBackend],
  ['transformers', loadTransformersBackend],
];
const tasks: ModelTask[] = ['embedding', 'classification'];

for (const [backend, load] of loaders) {
  for (const task of tasks) {
    t.test(`${backend} ${task}: webgpu matches cpu within ${TOLERANCE}`, async (t) => {
      if (!(await hasWebgpu(t))) return;
      const dir = await tinyBertDir();
      const spec = (device: 'cpu' | 'webgpu') => modelSpecSchema.parse({ name: `tiny-${device}`, backend, task, path: dir, device });
      const cpu = await load(spec('cpu'), options);
      t.teardown(() => cpu.close());
      const gpu = await load(spec('webgpu'), options);
      t.teardown(() => gpu.close());
      t.equal(cpu.info.device, 'cpu');
      t.equal(gpu.info.device, 'webgpu', 'the model says it runs on webgpu');
      t.type(gpu.info.adapter, 'string', `names its adapter (${gpu.info.adapter})`);
      const [onCpu, onGpu] = [await cpu.run(texts), await gpu.run(texts)];
      const diff = maxAbsDiff(onCpu, onGpu);
      t.ok(diff <= TOLERANCE, `max abs difference ${diff.toExponential(2)}`);
      t.ok(onGpu.every((row) => row.length === gpu.info.dimensions && row.some((value) => value !== 0)), 'real outputs, not zeros');
    });
  }
}

t.test('auto passes a software adapter by: lavapipe emulates the GPU on the CPU, slower than the CPU provider', async (t) => {
  if (!(await hasWebgpu(t))) return;
  const dir = await tinyBertDir();
  for (const [backend, load] of loaders) {
    const model = await load(modelSpecSchema.parse({ name: 'tiny', backend, task: 'embedding', path: dir, device: 'auto' }), options);
    t.teardown(() => model.close());
    const explicit = await load(modelSpecSchema.parse({ name: 'tiny', backend, task: 'embedding', path: dir, device: 'webgpu' }), options);
    t.teardown(() => explicit.close());
    const software = isSoftwareAdapter(explicit.info.adapter ?? '');
    t.equal(model.info.device, software ? 'cpu' : 'webgpu', `${backend}: the adapter is ${explicit.info.adapter}`);
  }
});
