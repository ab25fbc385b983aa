import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { runningTrainingThreads, TrainingThread } from '../../training/training-thread.js';
import { packVectors, runTrain, type TrainTask } from '../../training/training-tasks.js';
import { labelledTexts } from '../../scripts/labelled-corpus.js';
import { testDir } from '../helpers/full-server.js';
import { until } from '../helpers/until.js';

const limits = { timeLimitMs: 60_000, memoryMb: 256 };

function tfidfTask(count: number, epochs: number): TrainTask {
  const examples = labelledTexts(count, 3);
  const cut = Math.floor(count * 0.8);
  return {
    type: 'train',
    train: examples.slice(0, cut),
    test: examples.slice(cut),
    features: { kind: 'tfidf', dimensions: 2 ** 16, ngrams: [1, 2] },
    classifier: { algorithm: 'logistic-regression', c: 1, epochs },
    seed: 1,
  };
}

t.test('a task gives in the thread what it gives in-process, with its stages; load then predict use the model', async (t) => {
  const task = tfidfTask(120, 20);
  const stages: string[] = [];
  const thread = new TrainingThread(limits, new AbortController().signal);
  t.teardown(() => thread.close());
  const trained = await thread.run(task, (_fraction, stage) => stages.push(stage));
  const local = runTrain(task, () => {});
  t.equal(trained.file, local.file, 'the same model file, byte for byte');
  t.same(trained.metrics, local.metrics);
  t.same(stages, ['fit', 'evaluate']);

  const file = path.join(await testDir(t, 'training-thread'), 'model.json');
  await writeFile(file, trained.file);
  t.same(await thread.run({ type: 'load', path: file }), { labels: ['account', 'billing', 'shipping'] });
  const predicted = await thread.run({ type: 'predict', texts: ['the courier lost my parcel', 'reset my password'] });
  t.same(predicted.map((p) => p.label), ['shipping', 'account']);
  t.equal(runningTrainingThreads(), 1, 'one thread served all three tasks');
  await thread.close();
  t.equal(runningTrainingThreads(), 0);
  await t.rejects(thread.run({ type: 'predict', texts: ['x'] }), /closed/, 'a closed thread takes no task');
});

t.test('embedding features travel packed; a bad vector or a bad file fails the task with its message, not the thread', async (t) => {
  const examples = labelledTexts(40, 5);
  const vector = (label: string): number[] => ['account', 'billing', 'shipping'].map((l) => (l === label ? 1 : 0));
  const thread = new TrainingThread(limits, new AbortController().signal);
  t.teardown(() => thread.close());
  const trained = await thread.run({
    type: 'train',
    train: examples.slice(0, 30),
    test: examples.slice(30),
    features: { kind: 'embedding', capability: 'vector' },
    classifier: { algorithm: 'logistic-regression', c: 1, epochs: 200 },
    seed: 1,
    embeddings: packVectors(examples.map((e) => vector(e.label)), 'vector'),
  });
  t.equal(trained.metrics.accuracy, 1, 'the features decide the label');
  t.throws(() => packVectors([[1, 2], [3]], 'vector'), /"vector" did not produce 2-dimensional vectors \(text 1\)/);

  const dir = await testDir(t, 'training-thread-bad');
  await writeFile(path.join(dir, 'model.json'), '{"format":2}');
  await t.rejects(thread.run({ type: 'load', path: path.join(dir, 'model.json') }), /model\.json/);
  await t.rejects(thread.run({ type: 'load', path: path.join(dir, 'missing.json') }), { message: "cannot read the version's model.json (ENOENT)" }, 'no server path in the message');
  t.equal(runningTrainingThreads(), 1, 'a failed task leaves the thread serving');
});

t.test('past its time limit a task fails with TRAINING_LIMIT_EXCEEDED and the thread is terminated', async (t) => {
  const thread = new TrainingThread({ timeLimitMs: 300, memoryMb: 256 }, new AbortController().signal);
  t.teardown(() => thread.close());
  // 4,000 × 2,000 sparse steps: tens of seconds of fitting, stopped at the limit.
  await t.rejects(thread.run(tfidfTask(5000, 2000)), { code: 'TRAINING_LIMIT_EXCEEDED', message: /MAX_TRAINING_SECONDS \(0\.3 s\)/ });
  await until(() => runningTrainingThreads() === 0, { what: 'the thread to exit' });
  await t.rejects(thread.run(tfidfTask(20, 1)), { code: 'TRAINING_LIMIT_EXCEEDED' }, 'the job stays failed');
});

t.test('a thread over its heap limit fails the task with TRAINING_LIMIT_EXCEEDED', async (t) => {
  const thread = new TrainingThread({ timeLimitMs: 60_000, memoryMb: 16 }, new AbortController().signal);
  t.teardown(() => thread.close());
  // About 40 MB of text: more than the whole 16 MiB heap can hold.
  const long = labelledTexts(4000, 3).map((e, i) => ({ text: `${i} ${`${e.text} `.repeat(100)}`, label: e.label }));
  const task: TrainTask = { ...tfidfTask(10, 1), train: long.slice(0, 3200), test: long.slice(3200) };
  await t.rejects(thread.run(task), { code: 'TRAINING_LIMIT_EXCEEDED', message: /ran out of memory \(MAX_TRAINING_MEMORY_MB, 16 MiB\)/ });
  await until(() => runningTrainingThreads() === 0, { what: 'the thread to exit' });
});

t.test("aborting the job's signal terminates the thread mid-task: REQUEST_CANCELLED", async (t) => {
  const controller = new AbortController();
  const thread = new TrainingThread(limits, controller.signal);
  t.teardown(() => thread.close());
  const stages: string[] = [];
  const running = thread.run(tfidfTask(5000, 2000), (_fraction, stage) => stages.push(stage));
  await until(() => stages.includes('fit'), { what: 'the fit to start', timeoutMs: 30_000 });
  controller.abort();
  await t.rejects(running, { code: 'REQUEST_CANCELLED' });
  await until(() => runningTrainingThreads() === 0, { what: 'the thread to exit' });
  await t.rejects(thread.run(tfidfTask(20, 1)), { code: 'REQUEST_CANCELLED' });
});
