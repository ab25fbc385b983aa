import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { toCsv } from '../../training/parse-csv.js';
import { finishedModelJob, startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { labelledTexts } from '../../scripts/labelled-corpus.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

t.test('train (CSV data set, TF-IDF) → metrics beat the majority baseline → register → classify → evaluate → predict', async (t) => {
  const dir = await testDir(t, 'train');
  const server = await startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    SQLITE_PATH: path.join(dir, 'capserve.db'),
  });
  const training = labelledTexts(450, 7, 0.05);
  const csv = toCsv(['text', 'label'], training.map((e) => [e.text, e.label]));
  const uploaded = await server.request('POST', '/datasets?name=tickets', csv, { 'content-type': 'text/csv' });
  t.equal(uploaded.status, 201);
  t.match(uploaded.body, { name: 'tickets', size: 450, labelled: 450 });

  const submitted = await server.request('POST', '/train', {
    model: 'tickets',
    dataset: uploaded.body.id,
    features: { kind: 'tfidf' },
    classifier: { algorithm: 'logistic-regression' },
    register: { capability: 'ticket-topic' },
  });
  t.equal(submitted.status, 202);
  t.equal(submitted.body.job.status, 'queued');
  const job = await finishedModelJob(server, submitted.body.job.id);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  const { metrics } = job.result;
  t.equal(job.result.version, 1);
  t.equal(job.result.examples.test, 90, 'a fifth of each class held out');
  t.ok(metrics.accuracy >= metrics.majorityBaseline + 0.4, `held-out accuracy ${metrics.accuracy} vs majority baseline ${metrics.majorityBaseline}`);
  t.ok(metrics.macroF1 > 0.7, `macro-F1 ${metrics.macroF1}`);
  t.same(metrics.labels, ['account', 'billing', 'shipping']);
  t.equal(metrics.confusion.flat().reduce((a: number, b: number) => a + b, 0), 90, 'the confusion matrix counts the held-out set');

  const model = await server.request('GET', '/models/tickets');
  t.equal(model.body.defaultVersion, 1);
  t.match(model.body.versions[0], { backend: 'linear', task: 'classification', labels: ['account', 'billing', 'shipping'], files: { 'model.json': /^[0-9a-f]{64}$/ } });
  t.equal(model.body.versions[0].metrics.accuracy, metrics.accuracy);

  const capabilities = await server.request('GET', '/capabilities');
  t.match(capabilities.body.capabilities.find((c: { name: string }) => c.name === 'ticket-topic'), { kind: 'trained-classifier', available: true });
  const classified = await server.request('POST', '/classify', {
    texts: ['my parcel is late and the courier tracking shows nothing', 'I cannot login, reset my password please'],
    capabilities: ['ticket-topic', 'stats'],
  });
  t.equal(classified.status, 200);
  t.equal(classified.body.results[0]['ticket-topic'].label, 'shipping');
  t.equal(classified.body.results[1]['ticket-topic'].label, 'account');

  const fresh = labelledTexts(150, 99, 0);
  const evaluated = await server.request('POST', '/evaluate', { model: 'tickets', examples: fresh });
  t.equal(evaluated.status, 202);
  const evaluation = await finishedModelJob(server, evaluated.body.job.id);
  t.equal(evaluation.status, 'completed');
  t.equal(evaluation.result.version, 1);
  t.ok(evaluation.result.metrics.accuracy > 0.8, `accuracy on a fresh set ${evaluation.result.metrics.accuracy}`);

  const predicted = await server.request('POST', '/model-jobs/predict', { model: 'tickets', version: 1, examples: fresh.slice(0, 5).map(({ text }) => ({ text })) });
  const predictions = await finishedModelJob(server, predicted.body.job.id);
  t.equal(predictions.result.predictions.length, 5);
  t.match(predictions.result.predictions[0], { text: fresh[0]?.text, label: /^(account|billing|shipping)$/, score: Number });
  t.equal(predicted.body.job.request.examples, 5, 'job views count the examples instead of echoing them');

  // A second version, not made default: the capability keeps serving version 1.
  const second = await server.request('POST', '/train', { model: 'tickets', examples: training, features: { kind: 'tfidf' }, classifier: { algorithm: 'linear-svm' }, setDefault: false });
  const secondJob = await finishedModelJob(server, second.body.job.id);
  t.equal(secondJob.result.version, 2);
  t.equal((await server.request('GET', '/models/tickets')).body.defaultVersion, 1);
  const diff = await server.request('GET', '/models/tickets/diff?from=1&to=2');
  t.same(diff.body.files.changed, ['model.json']);
  t.ok('accuracy' in diff.body.metrics);
  const probe = { texts: ['my parcel is late and the courier tracking shows nothing'], capabilities: ['ticket-topic'] };
  const servedByV1 = (await server.request('POST', '/classify', probe)).body.results;
  t.same(servedByV1, [{ 'ticket-topic': classified.body.results[0]['ticket-topic'] }], 'still version 1');

  // A third version made default: the registered capability reloads onto it by itself.
  const third = await server.request('POST', '/train', { model: 'tickets', examples: training, features: { kind: 'tfidf' }, classifier: { algorithm: 'linear-svm', c: 0.5 } });
  t.equal((await finishedModelJob(server, third.body.job.id)).result.version, 3);
  t.equal((await server.request('GET', '/models/tickets')).body.defaultVersion, 3);
  const servedByV3 = (await server.request('POST', '/classify', probe)).body.results;
  t.equal(servedByV3[0]['ticket-topic'].label, 'shipping');
  t.not(servedByV3[0]['ticket-topic'].score, servedByV1[0]['ticket-topic'].score, 'the new default answers');
});

t.test('bad training requests are refused before they are queued', async (t) => {
  const dir = await testDir(t, 'train-bad');
  const server = await startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    SQLITE_PATH: ':memory:',
    MAX_TRAINING_EXAMPLES: '100',
  });
  const examples = labelledTexts(30, 1);
  const cases: [string, string, unknown, number, string][] = [
    ['one label', '/train', { model: 'm', examples: examples.map((e) => ({ ...e, label: 'same' })), features: { kind: 'tfidf' } }, 422, 'TRAINING_DATA_INVALID'],
    ['an unlabelled example', '/train', { model: 'm', examples: [...examples, { text: 'no label' }], features: { kind: 'tfidf' } }, 422, 'TRAINING_DATA_INVALID'],
    ['examples and csv both', '/train', { model: 'm', examples, csv: 'text,label\na,b\n', features: { kind: 'tfidf' } }, 400, 'VALIDATION_ERROR'],
    ['no examples at all', '/train', { model: 'm', features: { kind: 'tfidf' } }, 400, 'VALIDATION_ERROR'],
    ['malformed CSV', '/train', { model: 'm', csv: 'text,label\n"unclosed,b\n', features: { kind: 'tfidf' } }, 400, 'VALIDATION_ERROR'],
    ['CSV without a text column', '/train', { model: 'm', csv: 'body,label\na,b\n', features: { kind: 'tfidf' } }, 400, 'VALIDATION_ERROR'],
    ['too many examples', '/train', { model: 'm', examples: labelledTexts(101, 2), features: { kind: 'tfidf' } }, 413, 'TOO_MANY_TEXTS'],
    ['an unknown data set', '/train', { model: 'm', dataset: 'nope', features: { kind: 'tfidf' } }, 404, 'DATASET_NOT_FOUND'],
    ['features from an unknown capability', '/train', { model: 'm', examples, features: { kind: 'embedding', capability: 'ghost' } }, 400, 'UNKNOWN_CAPABILITY'],
    ['registering over a configured capability', '/train', { model: 'm', examples, features: { kind: 'tfidf' }, register: { capability: 'stats' } }, 409, 'CAPABILITY_EXISTS'],
    ['a bad model name', '/train', { model: '../etc', examples, features: { kind: 'tfidf' } }, 400, 'VALIDATION_ERROR'],
    ['an unknown algorithm', '/train', { model: 'm', examples, classifier: { algorithm: 'forest' } }, 400, 'VALIDATION_ERROR'],
    ['evaluating an unknown model', '/evaluate', { model: 'ghost', examples }, 404, 'MODEL_NOT_FOUND'],
    ['predicting with an unknown model', '/model-jobs/predict', { model: 'ghost', examples }, 404, 'MODEL_NOT_FOUND'],
  ];
  for (const [name, route, body, status, code] of cases) {
    const response = await server.request('POST', route, body);
    t.equal(response.status, status, name);
    t.equal(response.body.error?.code, code, name);
  }
  t.same((await server.request('GET', '/model-jobs')).body.jobs, [], 'nothing was queued');
  t.equal((await server.request('GET', '/model-jobs/nope')).body.error.code, 'JOB_NOT_FOUND');
  t.equal((await server.request('GET', '/datasets/nope')).status, 404);
});

t.test('embedding features (a real ONNX embedder, the tiny random BERT): the registered capability reads its dependency; a tampered version is refused', async (t) => {
  const dir = await testDir(t, 'train-embedding');
  const bert = await tinyBertDir();
  const repository = path.join(dir, 'repository');
  const server = await startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir, [{ name: 'vector', kind: 'embedding', model: 'tiny' }], [
      { name: 'tiny', backend: 'onnx', task: 'embedding', path: bert },
    ]),
    MODEL_REPOSITORY: repository,
    SQLITE_PATH: ':memory:',
  });
  const submitted = await server.request('POST', '/train', {
    model: 'tiny-topics',
    examples: labelledTexts(60, 5, 0),
    features: { kind: 'embedding', capability: 'vector' },
    register: { capability: 'tiny-topic' },
  });
  t.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const job = await finishedModelJob(server, submitted.body.job.id);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.same(job.result.examples, { train: 48, test: 12 });
  const listed = (await server.request('GET', '/capabilities')).body.capabilities.find((c: { name: string }) => c.name === 'tiny-topic');
  t.match(listed, { kind: 'trained-classifier', dependsOn: ['vector'], available: true });
  const classified = await server.request('POST', '/classify', { texts: ['the courier lost my parcel'], capabilities: ['tiny-topic'] });
  t.equal(classified.status, 200);
  t.match(classified.body.results[0]['tiny-topic'], { label: /^(account|billing|shipping)$/, scores: { account: Number, billing: Number, shipping: Number } });

  // Change one byte of the trained model: verification and the next reload refuse that version.
  const file = path.join(repository, 'tiny-topics', '1', 'model.json');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('"format":1', '"format":1 '));
  t.match(await server.request('POST', '/models/tiny-topics/versions/1/verify'), { status: 422, body: { error: { code: 'MODEL_CHECKSUM_MISMATCH', message: /model\.json/ } } });
  t.match(await server.request('POST', '/admin/reload'), { status: 422, body: { error: { code: 'RELOAD_REJECTED', message: /SHA-256/ } } });
  t.equal((await server.request('POST', '/classify', { texts: ['still served'], capabilities: ['tiny-topic'] })).status, 200, 'the running configuration stays');
});
