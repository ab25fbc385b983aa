import path from 'node:path';
import t, { type Test } from 'tap';
import { labelledTexts } from '../../scripts/labelled-corpus.js';
import { runningTrainingThreads } from '../../training/training-thread.js';
import { finishedModelJob, type FullServer, startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { until } from '../helpers/until.js';

/**
 * The heaviest kind of job the bounds allow: 1,000 examples × 5,000 epochs (5,000,000 steps, the
 * most), TF-IDF of 2^18 dimensions and n-grams 1–3 (both the most). Tens of seconds of fitting:
 * every test here stops it long before it ends.
 */
const heavyJob = {
  model: 'heavy',
  examples: labelledTexts(1000, 3),
  features: { kind: 'tfidf', dimensions: 2 ** 18, ngrams: [1, 3] },
  classifier: { algorithm: 'logistic-regression', epochs: 5000 },
};

async function server(t: Test, env: Record<string, string> = {}): Promise<FullServer> {
  const dir = await testDir(t, 'training-off-thread');
  return startFullServer(t, { CAPABILITIES_CONFIG: await writeCapabilities(dir), MODEL_REPOSITORY: path.join(dir, 'repository'), SQLITE_PATH: ':memory:', ...env });
}

const classify = { texts: ['is the serving thread free?'], capabilities: ['stats'] };

t.test('while the heaviest allowed job fits in its thread, /health and /classify answer; a cancel terminates the thread', async (t) => {
  const app = await server(t);
  const submitted = await app.request('POST', '/train', heavyJob);
  t.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const id: string = submitted.body.job.id;
  // The stage the thread reports once it has built the features and begun fitting.
  await until(async () => (await app.request('GET', `/model-jobs/${id}`)).body.stage === 'fit', { what: 'the job to start fitting', timeoutMs: 60_000 });
  t.equal(runningTrainingThreads(), 1, 'the job computes in a training thread');

  const health = await app.request('GET', '/health');
  const classified = await app.request('POST', '/classify', classify);
  t.equal(health.status, 200);
  t.equal(classified.status, 200);
  t.match(classified.body.results[0].stats, { characters: classify.texts[0]?.length });
  t.match((await app.request('GET', `/model-jobs/${id}`)).body, { status: 'running', stage: 'fit' }, 'both answered while the job was still fitting');

  t.match(await app.request('DELETE', `/model-jobs/${id}`), { status: 200, body: { status: 'cancelled' } });
  await until(() => runningTrainingThreads() === 0, { what: 'the cancelled job\'s thread to exit' });
  t.equal((await app.request('GET', `/model-jobs/${id}`)).body.status, 'cancelled', 'and it stays cancelled');
  t.equal((await app.request('POST', '/classify', classify)).status, 200);
});

t.test('a job past MAX_TRAINING_SECONDS fails with TRAINING_LIMIT_EXCEEDED, its thread ended; the server serves on', async (t) => {
  const app = await server(t, { MAX_TRAINING_SECONDS: '1' });
  const submitted = await app.request('POST', '/train', heavyJob);
  t.equal(submitted.status, 202);
  const job = await finishedModelJob(app, submitted.body.job.id);
  t.equal(job.status, 'failed');
  t.match(job.error, { code: 'TRAINING_LIMIT_EXCEEDED', message: /MAX_TRAINING_SECONDS \(1 s\)/ });
  await until(() => runningTrainingThreads() === 0, { what: 'the thread to exit' });
  t.same((await app.request('GET', '/models')).body.models, [], 'no version was written');
  t.equal((await app.request('GET', '/health')).status, 200);
  t.equal((await app.request('POST', '/classify', classify)).status, 200);
});

t.test('training parameters past their bounds are 400 VALIDATION_ERROR at the request, naming the field; nothing is queued', async (t) => {
  const app = await server(t);
  const examples = labelledTexts(600, 1);
  const dataset = await app.request('POST', '/datasets', { name: 'six-hundred', examples });
  t.equal(dataset.status, 201);
  const cases: [string, Record<string, unknown>, string][] = [
    ['2^19 TF-IDF dimensions', { features: { kind: 'tfidf', dimensions: 2 ** 19 } }, '/features/dimensions'],
    ['2^22 TF-IDF dimensions (allowed before)', { features: { kind: 'tfidf', dimensions: 2 ** 22 } }, '/features/dimensions'],
    ['4-grams', { features: { kind: 'tfidf', ngrams: [1, 4] } }, '/features/ngrams/1'],
    ['5-grams (allowed before)', { features: { kind: 'tfidf', ngrams: [3, 5] } }, '/features/ngrams/1'],
    ['n-gram lengths reversed', { features: { kind: 'tfidf', ngrams: [3, 1] } }, '/features/ngrams'],
    ['10,000 epochs × 600 inline examples', { features: { kind: 'tfidf' }, classifier: { epochs: 10_000 } }, '/classifier/epochs'],
    ['10,000 epochs × a data set of 600', { features: { kind: 'tfidf' }, classifier: { epochs: 10_000 }, examples: undefined, dataset: dataset.body.id }, '/classifier/epochs'],
    ['10,001 epochs', { features: { kind: 'tfidf' }, classifier: { epochs: 10_001 } }, '/classifier/epochs'],
  ];
  for (const [name, change, pointer] of cases) {
    const response = await app.request('POST', '/train', { model: 'bounded', examples, ...change });
    t.equal(response.status, 400, name);
    t.equal(response.body.error?.code, 'VALIDATION_ERROR', name);
    t.ok(response.body.error?.issues?.some((issue: { path: string }) => issue.path === pointer), `${name}: ${JSON.stringify(response.body.error?.issues)}`);
  }
  const steps = await app.request('POST', '/train', { model: 'bounded', examples, features: { kind: 'tfidf' }, classifier: { epochs: 10_000 } });
  t.match(steps.body.error.issues[0].message, /epochs × examples is 10000 × 600; at most 5000000 \(at most 8333 epochs for 600 examples\)/);
  t.same((await app.request('GET', '/model-jobs')).body.jobs, [], 'nothing was queued');
  t.equal(runningTrainingThreads(), 0, 'no thread was started');
  t.equal((await app.request('GET', '/health')).status, 200);
  t.equal((await app.request('POST', '/classify', classify)).status, 200, 'the server answers after');
});
