import t from 'tap';
import { CapserveError } from '../../core/errors.js';
import { InstanceRunner } from '../../models/instance-runner.js';
import { heldBackend, settle } from '../helpers/held-backend.js';


const firsts = (outputs: Float32Array[]): number[] => outputs.map((v) => v[0] ?? NaN);

t.test('a queued call whose signal aborts leaves the queue: the merged call carries only the live texts', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  const busy = runner.run(['x']);
  await settle();
  const a = new AbortController();
  const cancelled = runner.run(['a1', 'a2'], { signal: a.signal });
  const kept = runner.run(['bb', 'ccc']);
  await settle();
  t.equal(runner.depth, 3);
  a.abort();
  await t.rejects(cancelled, { code: 'REQUEST_CANCELLED' }, 'rejects at once, before the instance is free');
  t.equal(runner.depth, 2, 'out of the queue');
  calls[0]?.release();
  await settle();
  t.same(calls.map((c) => c.texts), [['x'], ['bb', 'ccc']], "the next model call holds only the live call's texts");
  calls[1]?.release();
  t.same(firsts(await busy), [1]);
  t.same(firsts(await kept), [2, 3], 'the live call gets its own outputs');
  await runner.onIdle();
  t.same(runner.stats(), { calls: 2, texts: 3 });
});

t.test('an abort reason that is already a coded error is kept; an aborted signal never queues', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  void runner.run(['x']);
  await settle();
  const deadline = new AbortController();
  const late = runner.run(['late'], { signal: deadline.signal });
  deadline.abort(new CapserveError('DEADLINE_EXCEEDED'));
  await t.rejects(late, { code: 'DEADLINE_EXCEEDED' });
  await t.rejects(runner.run(['gone'], { signal: AbortSignal.abort() }), { code: 'REQUEST_CANCELLED' });
  t.equal(runner.depth, 1, 'only the running call is left');
  calls[0]?.release();
  await runner.onIdle();
  t.same(calls.map((c) => c.texts), [['x']], 'no model call for withdrawn texts');
});

t.test('when every queued call is withdrawn, no model call is made for them', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  void runner.run(['x']);
  await settle();
  const controller = new AbortController();
  const queued = [runner.run(['a'], { signal: controller.signal }), runner.run(['b'], { signal: controller.signal })];
  controller.abort();
  for (const call of queued) await t.rejects(call, { code: 'REQUEST_CANCELLED' });
  calls[0]?.release();
  await runner.onIdle();
  t.equal(calls.length, 1);
  t.equal(runner.depth, 0);
});

t.test('a call already running in the model is not interrupted', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  const controller = new AbortController();
  const running = runner.run(['alone'], { signal: controller.signal });
  await settle();
  controller.abort();
  calls[0]?.release();
  t.same(firsts(await running), [5], 'it resolves with its outputs');

  // The same holds for calls dispatched together in one merged call.
  void runner.run(['x']);
  await settle();
  const one = new AbortController();
  const merged = [runner.run(['aa'], { signal: one.signal }), runner.run(['bbb'])];
  await settle();
  calls[1]?.release();
  await settle();
  t.same(calls[2]?.texts, ['aa', 'bbb']);
  one.abort();
  calls[2]?.release();
  const [aa, bbb] = await Promise.all(merged);
  t.same([firsts(aa ?? []), firsts(bbb ?? [])], [[2], [3]]);
});

t.test('after a merged call fails, a caller that gave up meanwhile is not retried', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  void runner.run(['x']);
  await settle();
  const controller = new AbortController();
  const bad = runner.run(['bad']);
  const fine = runner.run(['fine'], { signal: controller.signal });
  await settle();
  calls[0]?.release();
  await settle();
  t.same(calls[1]?.texts, ['bad', 'fine']);
  calls[1]?.release();
  await settle();
  t.same(calls[2]?.texts, ['bad'], 'retried alone first');
  controller.abort();
  calls[2]?.release();
  await t.rejects(bad, /bad input/);
  await t.rejects(fine, { code: 'REQUEST_CANCELLED' });
  t.equal(calls.length, 3, 'no retry for the cancelled caller');
});
