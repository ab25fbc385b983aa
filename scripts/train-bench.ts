/**
 * Times POST /train end to end on the real server (default capabilities, USE-lite embeddings),
 * over a seeded three-topic labelled set: each recipe's job time, held-out accuracy against the
 * majority baseline, and the size of the model file it wrote. `npm run bench:train`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import { createServer } from '../server/create-server.js';
import { labelledTexts } from './labelled-corpus.js';

const recipes = [
  { name: 'tfidf + logistic regression', examples: 5000, features: { kind: 'tfidf' }, classifier: { algorithm: 'logistic-regression' } },
  { name: 'tfidf + linear SVM', examples: 5000, features: { kind: 'tfidf' }, classifier: { algorithm: 'linear-svm' } },
  { name: 'USE-lite embedding + logistic regression', examples: 1000, features: { kind: 'embedding', capability: 'embedding' }, classifier: { algorithm: 'logistic-regression' } },
  { name: 'USE-lite embedding + linear SVM', examples: 1000, features: { kind: 'embedding', capability: 'embedding' }, classifier: { algorithm: 'linear-svm' } },
];

const dir = await mkdtemp(path.join(tmpdir(), 'capserve-train-bench-'));
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn', SQLITE_PATH: path.join(dir, 'store.db'), MODEL_REPOSITORY: path.join(dir, 'repository') });
const server = await createServer(config, pino({ level: 'warn' }));
await server.app.listen({ host: '127.0.0.1', port: 0 });
await server.start();
const address = server.app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
const post = async (route: string, body: unknown) =>
  (await (await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as any;

console.log(`| recipe | examples | request → done s | job s | held-out accuracy | macro-F1 | majority baseline | model.json KiB |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const [i, recipe] of recipes.entries()) {
  const model = `bench-${i}`;
  const started = performance.now();
  const submitted = await post('/train', { model, examples: labelledTexts(recipe.examples, 11, 0.05), features: recipe.features, classifier: recipe.classifier });
  let job: any;
  do {
    await new Promise((resolve) => setTimeout(resolve, 50));
    job = await (await fetch(`${url}/model-jobs/${submitted.job.id}`)).json();
  } while (job.status === 'queued' || job.status === 'running');
  // From the request leaving to the job seen finished (validation, queueing, features, fit, evaluation, writing the version).
  const seconds = (performance.now() - started) / 1000;
  const jobSeconds = (job.finishedAt - job.createdAt) / 1000;
  if (job.status !== 'completed') throw new Error(`${recipe.name}: ${JSON.stringify(job.error)}`);
  const { metrics } = job.result;
  const bytes = (await stat(path.join(dir, 'repository', model, '1', 'model.json'))).size;
  console.log(`| ${recipe.name} | ${recipe.examples} | ${seconds.toFixed(2)} | ${jobSeconds.toFixed(2)} | ${metrics.accuracy} | ${metrics.macroF1} | ${metrics.majorityBaseline} | ${Math.round(bytes / 1024)} |`);
}
await server.stop(1000);
await rm(dir, { recursive: true, force: true });
