import t from 'tap';
import { replyError } from '../../batcher/reply-error.js';
import { Batcher } from '../../batcher/batcher.js';
import { embeddingCapability } from '../../capabilities/builtin/model-capabilities.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { CapserveError } from '../../core/errors.js';
import { DeviceGuard } from '../../models/devices/device-guard.js';
import { ModelPool } from '../../models/pool.js';
import { type BackendLoader, type ModelBackend, modelSpecSchema } from '../../models/types.js';
import { until } from '../helpers/until.js';

t.test('DeviceGuard: on the CPU errors pass through; on an accelerator a failed run loses the device', async (t) => {
  const cpu = new DeviceGuard('m', { device: 'cpu' });
  await t.rejects(cpu.run(async () => Promise.reject(new Error('bad input'))), { message: 'bad input' });
  t.equal(cpu.alive, true, 'a CPU failure is the input’s, not the device’s');

  const gpu = new DeviceGuard('m', { device: 'webgpu', adapter: 'test' });
  t.equal(await gpu.run(async () => 7), 7);
  await t.rejects(gpu.run(async () => Promise.reject(new Error('VK_ERROR_DEVICE_LOST'))), {
    code: 'DEVICE_UNAVAILABLE',
    statusCode: 503,
    message: /model "m": a run on webgpu failed \(VK_ERROR_DEVICE_LOST\); the instance reloads/,
  });
  t.equal(gpu.alive, false);
  let ran = false;
  await t.rejects(
    gpu.run(async () => {
      ran = true;
    }),
    { code: 'DEVICE_UNAVAILABLE' },
  );
  t.equal(ran, false, 'a lost device takes no more work');
});

/** A model on a (pretend) GPU whose next run can be made to lose the device; each load is a new device context. */
function gpuModel() {
  const state = { loads: 0, breakNext: false };
  const loader: BackendLoader = async (spec) => {
    state.loads += 1;
    const guard = new DeviceGuard(spec.name, { device: 'webgpu', adapter: 'test' });
    const backend: ModelBackend = {
      info: { name: spec.name, backend: 'onnx', task: 'embedding', device: 'webgpu', adapter: 'test', source: '-', dimensions: 1, maxTokens: 128 },
      run: (texts) =>
        guard.run(async () => {
          if (state.breakNext) {
            state.breakNext = false;
            throw new Error('VK_ERROR_DEVICE_LOST');
          }
          return texts.map((text) => Float32Array.of(text.length));
        }),
      alive: () => guard.alive,
      close: async () => {},
    };
    return backend;
  };
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'gpu-model', backend: 'onnx', task: 'embedding', path: 'unused', instances: 2 })],
    { modelsDir: '/tmp', device: 'webgpu', allowRemoteModels: false, intraOpThreads: 1 },
    { onnx: loader, transformers: loader, tfjs: loader },
  );
  return { pool, state };
}

t.test('a device lost mid-run: its requests get 503 DEVICE_UNAVAILABLE, the instance reloads, the other serves meanwhile', async (t) => {
  const { pool, state } = gpuModel();
  t.teardown(() => pool.close());
  await pool.load('fail');
  t.equal(state.loads, 2, 'two instances');
  const batcher = new Batcher(new CapabilityRegistry().register(
      embeddingCapability({ name: 'vector', kind: 'embedding', model: 'gpu-model', dependsOn: [] }, { pool, configDir: '.', runCapability: async () => [], repository: undefined }),
    ), { windowMs: 0, maxBatchTexts: 64 });
  t.teardown(() => batcher.close());

  state.breakNext = true;
  const broken = await batcher.submit({ texts: ['lost'], capabilities: ['vector'] });
  t.match(broken.failures, [{ capability: 'vector', code: 'DEVICE_UNAVAILABLE', message: /VK_ERROR_DEVICE_LOST/ }]);
  const error = replyError(broken);
  t.type(error, CapserveError);
  t.equal(error?.statusCode, 503, '/classify answers 503 with the code');

  const served = await batcher.submit({ texts: ['abc'], capabilities: ['vector'] });
  t.same(served.failures, [], 'the healthy instance serves while the other reloads');
  t.same(served.results[0]?.vector, [3]);

  await until(() => !pool.reloading, { what: 'the instance with the lost device to reload' });
  t.equal(state.loads, 3, 'only the instance that lost its device was loaded again');
  t.equal(pool.status()[0]?.state, 'ready');
  const after = await Promise.all(['a', 'bb', 'ccc', 'dddd'].map((text) => batcher.submit({ texts: [text], capabilities: ['vector'] })));
  t.same(after.map((reply) => reply.results[0]?.vector), [[1], [2], [3], [4]], 'both instances serve again');
});
