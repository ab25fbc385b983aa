import path from 'node:path';
import t, { type Test } from 'tap';
import { finishedModelJob, startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { labelledTexts } from '../../scripts/labelled-corpus.js';
import { postgresSchema } from '../helpers/postgres.js';
import { until } from '../helpers/until.js';

/**
 * Everything a client created survives a restart: the trained model and its registered
 * capability, data sets, jobs, reviewers, review items and the audit log.
 */
async function restartKeepsEverything(t: Test, storeEnv: Record<string, string>): Promise<void> {
  const dir = await testDir(t, 'restart');
  const env = { CAPABILITIES_CONFIG: await writeCapabilities(dir), MODEL_REPOSITORY: path.join(dir, 'repository'), ...storeEnv };

  const first = await startFullServer(t, env);
  const dataset = await first.request('POST', '/datasets', { name: 'tickets', examples: labelledTexts(120, 3) });
  const trained = await first.request('POST', '/train', {
    model: 'tickets',
    dataset: dataset.body.id,
    features: { kind: 'tfidf' },
    register: { capability: 'ticket-topic', review: { confidenceBelow: 0.999 } },
  });
  const job = await finishedModelJob(first, trained.body.job.id);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal((await first.request('POST', '/reviewers', { id: 'ana', name: 'Ana', specialisations: ['ticket-topic'], capacity: 3 })).status, 201);
  const before = await first.request('POST', '/classify', { texts: ['where is my parcel, the courier is late'], capabilities: ['ticket-topic'] });
  t.equal(before.status, 200);
  // Review items are written after the reply, created then assigned, and the assignment is
  // audited after the item is stored: wait for the audit entry, the last of those writes.
  let reviews: any[] = [];
  let audit: any[] = [];
  await until(
    async () => {
      reviews = (await first.request('GET', '/reviews')).body.reviews;
      audit = (await first.request('GET', '/audit')).body.entries;
      return reviews[0]?.status === 'assigned' && audit.some((entry) => entry.action === 'review.assigned');
    },
    { what: () => `the review item to be assigned and audited: ${JSON.stringify({ reviews, audit })}` },
  );
  t.match(reviews, [{ capability: 'ticket-topic', status: 'assigned', assignee: 'ana' }], 'the low-confidence result went to review');
  const metrics = (await first.request('GET', '/metrics')).text;
  t.match(metrics, /capserve_model_jobs_total\{type="train",status="completed"\} 1/);
  t.match(metrics, /capserve_review_events_total\{action="review\.assigned"\} 1/);
  await first.stop();

  const second = await startFullServer(t, env);
  t.match((await second.request('GET', `/model-jobs/${job.id}`)).body, { status: 'completed', result: { version: 1 } });
  t.match((await second.request('GET', '/datasets')).body.datasets, [{ id: dataset.body.id, name: 'tickets', size: 120 }]);
  t.match((await second.request('GET', '/reviewers')).body.reviewers, [{ id: 'ana', assigned: 1 }]);
  t.same((await second.request('GET', '/reviews')).body.reviews, reviews);
  t.same((await second.request('GET', '/audit')).body.entries, audit);
  const after = await second.request('POST', '/classify', { texts: ['where is my parcel, the courier is late'], capabilities: ['ticket-topic'] });
  t.same(after.body.results, before.body.results, 'the registered capability is back, serving the same model');
  const resolved = await second.request('POST', `/reviews/${reviews[0].id}`, { reviewer: 'ana', label: 'shipping' });
  t.match(resolved.body, { status: 'resolved', correctedLabel: 'shipping' });
  const exported = await second.request('POST', '/reviews/export', { capability: 'ticket-topic' });
  t.equal(exported.body.size, 1);
  const csv = await second.request('GET', '/reviews/export?format=csv');
  t.equal(csv.text, 'text,label\r\nwhere is my parcel, the courier is late,shipping\r\n'.replace('where is my parcel, the courier is late', '"where is my parcel, the courier is late"'));
}

t.test('SQLite: a restart loses nothing', async (t) => {
  const dir = await testDir(t, 'sqlite');
  await restartKeepsEverything(t, { SQLITE_PATH: path.join(dir, 'capserve.db') });
});

t.test('PostgreSQL: a restart loses nothing', async (t) => {
  const database = postgresSchema(t, 'restart');
  if (database !== undefined) await restartKeepsEverything(t, { DATABASE_URL: database.url, DATABASE_SCHEMA: database.schema });
});
