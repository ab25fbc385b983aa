import t from 'tap';
import { InstanceRunner } from '../../models/instance-runner.js';
import { heldBackend, settle } from '../helpers/held-backend.js';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';


t.test('calls that queue while the instance is busy run as one merged call, each getting its own outputs', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  const first = runner.run(['a']);
  await settle();
  const queued = [runner.run(['bb', 'ccc']), runner.run(['dddd'])];
  await settle();
  t.same(calls.map((c) => c.texts), [['a']], 'one call at a time');
  calls[0]?.release();
  await settle();
  t.same(calls.map((c) => c.texts), [['a'], ['bb', 'ccc', 'dddd']], 'the two queued calls merged');
  calls[1]?.release();
  t.same((await first).map((v) => v[0]), [1]);
  const [two, three] = await Promise.all(queued);
  t.same(two?.map((v) => v[0]), [2, 3]);
  t.same(three?.map((v) => v[0]), [4]);
  t.same(runner.stats(), { calls: 2, texts: 4 });
});

t.test('the backlog counts the running call and the waiting ones, in texts', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  t.equal(runner.backlogTexts, 0);
  const first = runner.run(['a', 'b']);
  await settle();
  const second = runner.run(['c', 'd', 'e']);
  t.equal(runner.backlogTexts, 5, '2 running, 3 waiting');
  calls[0]?.release();
  await first;
  await settle();
  t.equal(runner.backlogTexts, 3, 'the waiting call now runs');
  calls[1]?.release();
  await second;
  t.equal(runner.backlogTexts, 0);
});

t.test('merging stops at maxCallTexts; the rest run next', async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 3);
  void runner.run(['x']);
  await settle();
  const rest = [runner.run(['a', 'b']), runner.run(['c', 'd']), runner.run(['e'])];
  await settle();
  calls[0]?.release();
  await settle();
  t.same(calls[1]?.texts, ['a', 'b', 'e'], 'a call that does not fit waits; a smaller later one joins');
  calls[1]?.release();
  await settle();
  t.same(calls[2]?.texts, ['c', 'd']);
  calls[2]?.release();
  await Promise.all(rest);
});

t.test("a merged call that fails is retried call by call: one request's bad input fails only it", async (t) => {
  const { backend, calls } = heldBackend();
  const runner = new InstanceRunner(backend, 64);
  void runner.run(['x']);
  await settle();
  const good = runner.run(['fine']);
  const bad = runner.run(['bad']);
  await settle();
  calls[0]?.release();
  await settle();
  calls[1]?.release();
  await settle();
  t.same(calls[2]?.texts, ['fine'], 'retried alone');
  calls[2]?.release();
  await settle();
  t.same(calls[3]?.texts, ['bad']);
  calls[3]?.release();
  t.same((await good).map((v) => v[0]), [4]);
  await t.rejects(bad, /bad input/);
});

t.test('with a real ONNX session, merged outputs equal each call run alone', async (t) => {
  const backend = await loadOnnxBackend(modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: await tinyBertDir() }), {
    modelsDir: '.',
    device: 'cpu',
    allowRemoteModels: false,
    intraOpThreads: 1,
  });
  t.teardown(() => backend.close());
  const runner = new InstanceRunner(backend, 64);
  const requests = [['one short text'], ['two', 'a somewhat longer text than the others here'], ['three']];
  const merged = await Promise.all(requests.map((texts) => runner.run(texts)));
  t.ok(runner.stats().calls < requests.length, `${runner.stats().calls} backend calls for ${requests.length} requests`);
  for (const [i, texts] of requests.entries()) {
    const alone = await backend.run(texts);
    const diff = Math.max(...alone.flatMap((vector, k) => [...vector].map((v, j) => Math.abs(v - (merged[i]?.[k]?.[j] ?? NaN)))));
    t.ok(diff < 1e-4, `request ${i}: max diff ${diff}`);
  }
});
