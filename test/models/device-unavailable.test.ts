import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { CapserveError } from '../../core/errors.js';
import { openPlacedSession } from '../../models/devices/open-session.js';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { loadTransformersBackend } from '../../models/transformers-backend.js';
import { type LoadOptions, type ModelBackend, modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

// Point the Vulkan loader at a driver that does not exist, before anything in this process opens
// WebGPU: Dawn then finds no adapter, as on a machine with no GPU driver and no lavapipe.
process.env.VK_DRIVER_FILES = '/nonexistent/capserve-no-such-icd.json';

const options: LoadOptions = { modelsDir: '/nonexistent-models-dir', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };

t.test('an explicit webgpu with no adapter is DEVICE_UNAVAILABLE naming the reason, never a silent CPU session', async (t) => {
  const dir = await tinyBertDir();
  for (const load of [loadOnnxBackend, loadTransformersBackend]) {
    const spec = modelSpecSchema.parse({ name: 'tiny', backend: load === loadOnnxBackend ? 'onnx' : 'transformers', task: 'embedding', path: dir, device: 'webgpu' });
    const error: unknown = await load(spec, options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    t.type(error, CapserveError, spec.backend);
    t.match(error, { code: 'DEVICE_UNAVAILABLE', statusCode: 503, details: { model: 'tiny', device: 'webgpu' } }, spec.backend);
    t.match((error as Error).message, /model "tiny": device "webgpu" cannot start: webgpu: .*adapter/i, `${spec.backend}: says there is no adapter`);
  }
});

t.test('an explicit cuda never falls back silently: it runs on cuda or fails with DEVICE_UNAVAILABLE saying why', async (t) => {
  const dir = await tinyBertDir();
  const ortDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const installed = existsSync(path.join(ortDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  for (const [backend, load] of [['onnx', loadOnnxBackend], ['transformers', loadTransformersBackend]] as const) {
    const outcome: unknown = await load(modelSpecSchema.parse({ name: 'tiny', backend, task: 'embedding', path: dir, device: 'cuda' }), options).catch((error: unknown) => error);
    if (installed && !(outcome instanceof Error)) {
      // The CUDA build on a machine with a GPU: it must really be on cuda.
      t.equal((outcome as ModelBackend).info.device, 'cuda', backend);
      await (outcome as ModelBackend).close();
      continue;
    }
    t.match(outcome, { code: 'DEVICE_UNAVAILABLE', details: { model: 'tiny', device: 'cuda' } }, backend);
    if (!installed) t.match((outcome as Error).message, /cuda: the CUDA execution provider cannot load .*ONNXRUNTIME_NODE_INSTALL=cuda12/, `${backend}: says the provider is missing`);
  }
});

t.test('auto falls back to the CPU silently, for both backends', async (t) => {
  const dir = await tinyBertDir();
  for (const backend of ['onnx', 'transformers'] as const) {
    const load = backend === 'onnx' ? loadOnnxBackend : loadTransformersBackend;
    const model = await load(modelSpecSchema.parse({ name: 'tiny', backend, task: 'embedding', path: dir }), { ...options, device: 'auto' });
    t.teardown(() => model.close());
    t.equal(model.info.device, 'cpu', `${backend} on cpu`);
    t.equal(model.info.adapter, undefined, `${backend}: no adapter on the cpu`);
    t.equal((await model.run(['still serves'])).length, 1);
  }
});

t.test('a model file onnxruntime cannot read stays a MODEL_LOAD_FAILED, whatever the device', async (t) => {
  const error: unknown = await openPlacedSession('/nonexistent/model.onnx', 'auto', {}).catch((caught: unknown) => caught);
  t.notMatch(error, { code: 'DEVICE_UNAVAILABLE' }, 'a bad file is not blamed on the device');
});
