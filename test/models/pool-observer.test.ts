import t from 'tap';
import { type ModelCallEvent, ModelPool } from '../../models/pool.js';
import { type BackendLoader, type ModelBackend, modelSpecSchema } from '../../models/types.js';
import { until } from '../helpers/until.js';

/** A backend whose every call takes 7 ms on the pool's clock; "bad" fails its call; `crash()` kills it. */
function fakeBackends(clock: { now: number }) {
  const created: { backend: ModelBackend; crash(): void }[] = [];
  let failNextLoads = 0;
  const loader: BackendLoader = async (spec) => {
    if (created.length > 0 && failNextLoads > 0) {
      failNextLoads -= 1;
      throw new Error('the files are gone');
    }
    let alive = true;
    const backend: ModelBackend = {
      info: { name: spec.name, backend: 'onnx', task: 'embedding', device: 'cpu', source: 'fake', dimensions: 1, maxTokens: 8 },
      async run(texts) {
        clock.now += 7;
        if (texts.includes('bad')) throw new Error('bad input');
        return texts.map(() => new Float32Array([1]));
      },
      async close() {},
      alive: () => alive,
    };
    created.push({ backend, crash: () => (alive = false) });
    return backend;
  };
  return { loader, created, failNextLoad: (n: number) => (failNextLoads = n) };
}

t.test('the pool tells its observers each backend call (model, device, texts, time, outcome) and each reload attempt', async (t) => {
  const clock = { now: 0 };
  const fake = fakeBackends(clock);
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: 'unused' })],
    { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 },
    { onnx: fake.loader, transformers: fake.loader, tfjs: fake.loader },
    { time: { now: () => clock.now } },
  );
  t.teardown(() => pool.close());
  const calls: ModelCallEvent[] = [];
  const reloads: { model: string; ok: boolean }[] = [];
  pool.observe({ modelCalled: (event) => calls.push(event), instanceReloaded: (event) => reloads.push(event) });
  // A broken observer loses its own report, never the call it watches.
  pool.observe({
    modelCalled: () => {
      throw new Error('observer bug');
    },
  });
  await pool.load('fail');

  t.equal((await pool.run('tiny', ['a', 'b', 'c'])).length, 3);
  await t.rejects(pool.run('tiny', ['bad']));
  t.same(calls, [
    { model: 'tiny', device: 'cpu', texts: 3, durationMs: 7, ok: true },
    { model: 'tiny', device: 'cpu', texts: 1, durationMs: 7, ok: false },
  ]);

  // The instance dies; its first reload fails, the next one works.
  fake.failNextLoad(1);
  fake.created[0]?.crash();
  await t.rejects(pool.run('tiny', ['a']), { code: 'CAPABILITY_UNAVAILABLE' });
  await until(() => !pool.reloading, { what: 'the instance to reload', timeoutMs: 10_000 });
  t.same(reloads, [
    { model: 'tiny', ok: false },
    { model: 'tiny', ok: true },
  ]);
  t.equal((await pool.run('tiny', ['a'])).length, 1, 'the reloaded instance serves');
  t.equal(calls.at(-1)?.ok, true);
});
