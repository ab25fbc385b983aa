import t, { type Test } from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { embeddingCapability } from '../../capabilities/builtin/model-capabilities.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { ManualTime } from '../../core/manual-time.js';
import { ModelPool } from '../../models/pool.js';
import { type BackendLoader, modelSpecSchema } from '../../models/types.js';
import { heldBackend } from '../helpers/held-backend.js';
import { until } from '../helpers/until.js';

/** A real pool and embedding capability over one model instance whose calls the test releases. */
async function setup(t: Test, capabilityTimeoutMs?: number) {
  const { backend, calls } = heldBackend();
  const loader: BackendLoader = async () => backend;
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'm', backend: 'onnx', task: 'embedding', path: 'unused' })],
    { modelsDir: '/tmp', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 },
    { onnx: loader, transformers: loader, tfjs: loader },
  );
  await pool.load('fail');
  const embed = embeddingCapability(
    { name: 'embed', kind: 'embedding', model: 'm', dependsOn: [] },
    { pool, configDir: '.', runCapability: async () => [], repository: undefined },
  );
  const time = new ManualTime();
  const batcher = new Batcher(
    new CapabilityRegistry().register(embed),
    { windowMs: 10, maxBatchTexts: 64, mode: 'fixed', ...(capabilityTimeoutMs === undefined ? {} : { capabilityTimeoutMs }) },
    { time },
  );
  t.teardown(async () => {
    for (const call of calls) call.release();
    await batcher.close();
    await pool.close();
  });
  return { pool, batcher, time, calls };
}

t.test('a queued model call is dropped once every request of its execution is cancelled; the others get their results', async (t) => {
  const { pool, batcher, time, calls } = await setup(t);
  const first = batcher.submit({ texts: ['x'], capabilities: ['embed'] });
  time.advance(10);
  await until(() => calls.length === 1, { what: 'the first model call', intervalMs: 1 });

  // Batch 2: both its requests will be cancelled while its model call waits behind batch 1's.
  const a = new AbortController();
  const b = new AbortController();
  const cancelledA = batcher.submit({ texts: ['a1'], capabilities: ['embed'], signal: a.signal });
  const cancelledB = batcher.submit({ texts: ['b1', 'shared'], capabilities: ['embed'], signal: b.signal });
  time.advance(10);
  await until(() => pool.depth('m') === 2, { what: 'two calls on the model', intervalMs: 1 });
  a.abort();
  await t.rejects(cancelledA, { code: 'REQUEST_CANCELLED' });
  t.equal(pool.depth('m'), 2, 'one request still waits, so the execution stays queued');
  b.abort();
  await t.rejects(cancelledB, { code: 'REQUEST_CANCELLED' });
  t.equal(pool.depth('m'), 1, 'nobody waits: the queued model call is withdrawn');

  // Batch 3: one request is cancelled, the other still needs the execution, so it runs for both.
  const d = new AbortController();
  const live = batcher.submit({ texts: ['c1'], capabilities: ['embed'] });
  const cancelledD = batcher.submit({ texts: ['d1'], capabilities: ['embed'], signal: d.signal });
  time.advance(10);
  await until(() => pool.depth('m') === 2, { what: 'two calls on the model', intervalMs: 1 });
  d.abort();
  await t.rejects(cancelledD, { code: 'REQUEST_CANCELLED' });

  calls[0]?.release();
  await until(() => calls.length === 2, { what: 'the second model call', intervalMs: 1 });
  t.same(calls[1]?.texts, ['c1', 'd1'], 'the texts of batch 2 never reach the model');
  calls[1]?.release();
  t.same((await first).results, [{ embed: [1] }]);
  const reply = await live;
  t.same(reply.results, [{ embed: [2] }]);
  t.same(reply.failures, []);
  t.equal(calls.length, 2);
});

t.test('a capability past its time limit withdraws its queued model call; the running one finishes', async (t) => {
  const { pool, batcher, time, calls } = await setup(t, 1000);
  const running = batcher.submit({ texts: ['running'], capabilities: ['embed'] });
  time.advance(10);
  await until(() => calls.length === 1, { what: 'the first model call', intervalMs: 1 });
  const queued = batcher.submit({ texts: ['queued'], capabilities: ['embed'] });
  time.advance(10);
  await until(() => pool.depth('m') === 2, { what: 'two calls on the model', intervalMs: 1 });
  time.advance(1000);
  const replies = await Promise.all([running, queued]);
  t.same(replies.map((r) => r.failures.map((f) => f.code)), [['CAPABILITY_TIMEOUT'], ['CAPABILITY_TIMEOUT']]);
  t.equal(pool.depth('m'), 1, 'only the call in the model is left');
  calls[0]?.release();
  await until(() => pool.depth('m') === 0, { what: 'the model queue to empty', intervalMs: 1 });
  t.same(calls.map((c) => c.texts), [['running']], 'the timed-out queued texts never reach the model');
});
