import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import t, { type Test } from 'tap';
import { openStore } from '../../store/open-store.js';
import { type Dataset, type ReviewItem, type Store, type ModelJob } from '../../store/types.js';
import { settle } from '../helpers/job-fakes.js';
import { until } from '../helpers/until.js';

/** Opens a store on one place (a file, a schema); every call is a new connection to the same data. */
type StoreFactory = () => Promise<Store>;
/** A fresh, empty place for one test; stores opened there are closed, and the place removed, when `t` ends. */
type FreshStore = (t: Test) => Promise<StoreFactory>;

function tracked(t: Test, open: StoreFactory, remove: () => Promise<void>): StoreFactory {
  const opened: Store[] = [];
  t.teardown(async () => {
    for (const store of opened) await store.close();
    await remove();
  });
  return async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
}

async function freshSqlite(t: Test): Promise<StoreFactory> {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-store-'));
  // A folder that does not exist yet: opening creates it.
  const sqlitePath = path.join(dir, 'data', 'capserve.db');
  return tracked(t, () => openStore({ sqlitePath }), () => rm(dir, { recursive: true, force: true }));
}

function freshPostgres(databaseUrl: string): FreshStore {
  return async (t) => {
    const postgresSchema = `capserve_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    return tracked(t, () => openStore({ databaseUrl, sqlitePath: ':memory:', postgresSchema }), async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${postgresSchema} CASCADE`);
      } finally {
        await client.end();
      }
    });
  };
}

const job = (id: string, fields: Partial<ModelJob> = {}): ModelJob => ({
  id,
  type: 'train',
  status: 'queued',
  progress: 0,
  request: { dataset: 'd1', epochs: 3 },
  createdAt: 1000,
  updatedAt: 1000,
  ...fields,
});

const review = (id: string, fields: Partial<ReviewItem> = {}): ReviewItem => ({
  id,
  capability: 'sentiment',
  text: 'not sure about this one',
  result: { label: 'positive', confidence: 0.41 },
  reason: 'confidence 0.41 below 0.6',
  status: 'pending',
  previousAssignees: [],
  escalations: 0,
  createdAt: 1000,
  ...fields,
});

const dataset = (id: string, size: number, createdAt: number): Dataset => ({
  id,
  name: `set ${id}`,
  source: 'upload',
  examples: Array.from({ length: size }, (_, i) => (i % 2 === 0 ? { text: `text ${i}`, label: 'positive' } : { text: `text ${i}` })),
  createdAt,
});

const ids = (items: readonly { readonly id: string }[]): string[] => items.map((item) => item.id);

/** Resolves once a second holder of the lock `name` is known to be held back by it, not merely late. */
type LockWaited = (name: string) => Promise<void>;

/** SQLite: the lock is a promise chain in this process, joined the moment `exclusive` is called; a holder let through by a broken lock would be inside within a few turns of the event loop. */
const sqliteLockWaited: LockWaited = () => settle();

/** PostgreSQL: its own view of the locks shows a session waiting for the advisory lock (see PostgresDatabase.exclusive). */
function postgresLockWaited(databaseUrl: string): LockWaited {
  return async (name) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      // A one-bigint advisory key is shown as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
      const sql = `SELECT count(*)::int AS waiting FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid::bigint = (hashtext($1)::bigint >> 32) & 4294967295
          AND objid::bigint = hashtext($1)::bigint & 4294967295`;
      await until(async () => ((await client.query<{ waiting: number }>(sql, [name])).rows[0]?.waiting ?? 0) > 0, {
        what: `a session waiting for the advisory lock "${name}"`,
      });
    } finally {
      await client.end();
    }
  };
}

/** The behaviour every `Store` promises, whatever database is under it. */
function storeContract(t: Test, kind: Store['kind'], fresh: FreshStore, lockWaited: LockWaited): void {
  const open = async (t: Test): Promise<Store> => (await fresh(t))();

  t.test('jobs: an upsert replaces the record, optional fields stay absent, an unknown id is undefined', async (t) => {
    const store = await open(t);
    t.equal(store.kind, kind);
    const finished = job('j1', { status: 'failed', stage: 'fit', progress: 0.5, error: { code: 'TRAINING_DATA_INVALID', message: 'no labels' }, finishedAt: 2000, updatedAt: 2000 });
    await store.putModelJob(finished);
    t.same(await store.getModelJob('j1'), finished);
    await store.putModelJob(job('j1', { status: 'running', progress: 0.25 }));
    const replaced = await store.getModelJob('j1');
    t.same(replaced, job('j1', { status: 'running', progress: 0.25 }));
    t.same(Object.keys(replaced ?? {}).sort(), ['createdAt', 'id', 'progress', 'request', 'status', 'type', 'updatedAt']);
    t.equal(await store.getModelJob('nope'), undefined);
    t.same(ids(await store.listModelJobs()), ['j1'], 'replaced, not added');
  });

  t.test('jobs: leases are claimed only when free or lapsed, renewed and released; owner-bound writes stop when the lease or the job is gone', async (t) => {
    const store = await open(t);
    await store.putModelJob(job('j1', { status: 'queued' }));
    t.ok(await store.claimModelJob('j1', 'a', 5000, 1000), 'a free job is claimed');
    t.notOk(await store.claimModelJob('j1', 'b', 5000, 1000), 'a valid lease is kept');
    t.ok(await store.claimModelJob('j1', 'a', 6000, 1000), 'its owner may claim again');
    await store.putModelJob(job('j0', { status: 'queued', createdAt: 500 }));
    await store.putModelJob(job('jdone', { status: 'completed' }));
    t.same(await store.claimableModelJobIds(1000), ['j0'], 'unfinished and unleased only, oldest first');
    t.same(await store.claimableModelJobIds(6001), ['j0', 'j1'], 'and those whose lease lapsed');
    t.equal(await store.renewModelJobLeases('a', 9000), 1);
    t.notOk(await store.claimModelJob('j1', 'b', 20_000, 8999), 'renewed until 9000');
    t.ok(await store.updateUnfinishedModelJob(job('j1', { status: 'running', progress: 0.5 }), 'a'));
    t.notOk(await store.updateUnfinishedModelJob(job('j1', { status: 'running', progress: 0.9 }), 'b'), 'not the owner');
    t.ok(await store.claimModelJob('j1', 'b', 20_000, 9001), 'a lapsed lease is taken over');
    t.notOk(await store.updateUnfinishedModelJob(job('j1', { status: 'completed' }), 'a'), 'the old owner can no longer write');
    t.equal((await store.getModelJob('j1'))?.progress, 0.5);
    t.ok(await store.updateUnfinishedModelJob(job('j1', { status: 'cancelled' })), 'a write without an owner (a cancel) lands while unfinished');
    t.notOk(await store.updateUnfinishedModelJob(job('j1', { status: 'completed' }), 'b'), 'nothing lands after it finished');
    t.notOk(await store.claimModelJob('j1', 'c', 30_000, 50_000), 'a finished job has no lease to claim');
    t.equal(await store.renewModelJobLeases('b', 40_000), 0);
    t.equal((await store.getModelJob('j1'))?.status, 'cancelled');
    t.notOk(await store.updateUnfinishedModelJob(job('nope', { status: 'running' })), 'an unknown job');

    await store.putModelJob(job('j2', { status: 'running' }));
    t.ok(await store.claimModelJob('j2', 'a', 100_000, 1000));
    t.equal(await store.renewModelJobLeases('a', 0), 1, 'released');
    t.ok(await store.claimModelJob('j2', 'b', 100_000, 1000), 'a released lease is free at once');
  });

  t.test('jobs: lists filter by type and statuses, newest first with ties broken by id, limited', async (t) => {
    const store = await open(t);
    await store.putModelJob(job('old', { createdAt: 100 }));
    await store.putModelJob(job('eval', { type: 'evaluate', status: 'running', createdAt: 300 }));
    // Same time: ordered by id in code points ('a' > 'B'), whatever the database's locale.
    await store.putModelJob(job('job-B', { type: 'predict', status: 'completed', createdAt: 200 }));
    await store.putModelJob(job('job-a', { status: 'failed', createdAt: 200 }));
    t.same(ids(await store.listModelJobs()), ['eval', 'job-a', 'job-B', 'old']);
    t.same(ids(await store.listModelJobs({ type: 'train' })), ['job-a', 'old']);
    t.same(ids(await store.listModelJobs({ statuses: ['completed', 'running'] })), ['eval', 'job-B']);
    t.same(ids(await store.listModelJobs({ type: 'train', statuses: ['queued'] })), ['old']);
    t.same(await store.listModelJobs({ statuses: [] }), [], 'no statuses match nothing');
    t.same(ids(await store.listModelJobs({ limit: 2 })), ['eval', 'job-a']);
    t.same(await store.listModelJobs({ limit: 0 }), []);
    await t.rejects(store.listModelJobs({ limit: -1 }), RangeError);
    await Promise.all(Array.from({ length: 101 }, (_, i) => store.putModelJob(job(`bulk-${String(i).padStart(3, '0')}`, { createdAt: 1000 + i }))));
    const page = await store.listModelJobs();
    t.equal(page.length, 100, 'the default limit is 100');
    t.equal(page[0]?.id, 'bulk-100');
  });

  t.test('data sets: listed newest first with their size and without examples', async (t) => {
    const store = await open(t);
    const d1 = dataset('d1', 3, 100);
    await store.putDataset(d1);
    await store.putDataset(dataset('d2', 1, 200));
    t.same(await store.getDataset('d1'), d1);
    t.notOk('label' in ((await store.getDataset('d1'))?.examples[1] ?? {}), 'an unlabelled example stays unlabelled');
    t.same(await store.listDatasets(), [
      { id: 'd2', name: 'set d2', source: 'upload', createdAt: 200, size: 1 },
      { id: 'd1', name: 'set d1', source: 'upload', createdAt: 100, size: 3 },
    ]);
    t.notOk((await store.listDatasets()).some((listed) => 'examples' in listed));
    await store.putDataset(dataset('d1', 5, 100));
    t.same((await store.listDatasets(1)).map((d) => [d.id, d.size]), [['d2', 1]]);
    t.same((await store.listDatasets()).map((d) => [d.id, d.size]), [['d2', 1], ['d1', 5]]);
    t.equal(await store.getDataset('nope'), undefined);
  });

  t.test('capabilities: upserted, listed by name, deleted once', async (t) => {
    const store = await open(t);
    await store.putCapability({ name: 'zeta', spec: { kind: 'keywords', params: { words: ['a'] } }, createdAt: 1 });
    await store.putCapability({ name: 'alpha', spec: { kind: 'classification', model: 'reviews' }, createdAt: 2 });
    await store.putCapability({ name: 'alpha', spec: { kind: 'classification', model: 'reviews', version: 3 }, createdAt: 3 });
    t.same(await store.listCapabilities(), [
      { name: 'alpha', spec: { kind: 'classification', model: 'reviews', version: 3 }, createdAt: 3 },
      { name: 'zeta', spec: { kind: 'keywords', params: { words: ['a'] } }, createdAt: 1 },
    ]);
    t.equal(await store.deleteCapability('alpha'), true);
    t.equal(await store.deleteCapability('alpha'), false, 'already gone');
    t.equal(await store.deleteCapability('never'), false);
    t.same((await store.listCapabilities()).map((c) => c.name), ['zeta']);
  });

  t.test('reviewers: upserted, listed oldest first', async (t) => {
    const store = await open(t);
    await store.putReviewer({ id: 'r2', name: 'Bea', specialisations: ['*'], capacity: 5, createdAt: 200 });
    await store.putReviewer({ id: 'r1', name: 'Ana', specialisations: ['sentiment'], capacity: 2, createdAt: 100 });
    await store.putReviewer({ id: 'r0', name: 'Cy', specialisations: [], capacity: 1, createdAt: 100 });
    await store.putReviewer({ id: 'r1', name: 'Ana', specialisations: ['sentiment', 'language'], capacity: 3, createdAt: 100 });
    t.same(await store.getReviewer('r1'), { id: 'r1', name: 'Ana', specialisations: ['sentiment', 'language'], capacity: 3, createdAt: 100 });
    t.same(ids(await store.listReviewers()), ['r0', 'r1', 'r2']);
    t.equal(await store.getReviewer('nope'), undefined);
  });

  t.test('reviews: filters by status, assignee and capability, oldest first, limited; cleared fields are gone', async (t) => {
    const store = await open(t);
    await store.putReview(review('rv3', { createdAt: 300, capability: 'language' }));
    await store.putReview(review('rv1', { createdAt: 100, status: 'assigned', assignee: 'ana', assignedAt: 150, dueAt: 450 }));
    await store.putReview(review('rv2', { createdAt: 200, status: 'resolved', assignee: 'bea', correctedLabel: 'negative', resolvedBy: 'bea', resolvedAt: 250 }));
    await store.putReview(review('rv0', { createdAt: 100 }));
    t.same(ids(await store.listReviews()), ['rv0', 'rv1', 'rv2', 'rv3']);
    t.same(ids(await store.listReviews({ statuses: ['pending'] })), ['rv0', 'rv3']);
    t.same(ids(await store.listReviews({ statuses: ['assigned', 'resolved'] })), ['rv1', 'rv2']);
    t.same(await store.listReviews({ statuses: [] }), []);
    t.same(ids(await store.listReviews({ assignee: 'ana' })), ['rv1']);
    t.same(ids(await store.listReviews({ capability: 'language' })), ['rv3']);
    t.same(ids(await store.listReviews({ capability: 'sentiment', statuses: ['pending', 'resolved'] })), ['rv0', 'rv2']);
    t.same(ids(await store.listReviews({ limit: 3 })), ['rv0', 'rv1', 'rv2']);
    t.same(await store.getReview('rv2'), review('rv2', { createdAt: 200, status: 'resolved', assignee: 'bea', correctedLabel: 'negative', resolvedBy: 'bea', resolvedAt: 250 }));

    // Escalated back to the queue: the assignment fields go, and the assignee filter no longer finds it.
    await store.putReview(review('rv1', { createdAt: 100, previousAssignees: ['ana'], escalations: 1 }));
    const back = await store.getReview('rv1');
    t.same(back, review('rv1', { createdAt: 100, previousAssignees: ['ana'], escalations: 1 }));
    for (const field of ['assignee', 'assignedAt', 'dueAt', 'correctedLabel', 'resolvedBy', 'resolvedAt']) t.notOk(field in (back ?? {}), `${field} is absent`);
    t.same(await store.listReviews({ assignee: 'ana' }), []);
    t.equal(await store.getReview('nope'), undefined);
  });

  t.test('audit: seq increases, afterSeq and subject filter, concurrent appends keep order', async (t) => {
    const store = await open(t);
    const first = await store.appendAudit({ at: 10, actor: 'system', action: 'review.created', subject: 'review:rv1', details: { reason: 'low confidence' } });
    t.same(first, { seq: first.seq, at: 10, actor: 'system', action: 'review.created', subject: 'review:rv1', details: { reason: 'low confidence' } });
    const second = await store.appendAudit({ at: 11, actor: 'r1', action: 'review.assigned', subject: 'review:rv1', details: {} });
    const third = await store.appendAudit({ at: 12, actor: 'api:ab12', action: 'model.default', subject: 'model:reviews', details: { version: 2 } });
    t.ok(first.seq < second.seq && second.seq < third.seq, 'seq increases');
    t.same(await store.listAudit(), [first, second, third]);
    t.same(await store.listAudit({ afterSeq: first.seq }), [second, third]);
    t.same(await store.listAudit({ subject: 'review:rv1' }), [first, second]);
    t.same(await store.listAudit({ subject: 'review:rv1', afterSeq: first.seq }), [second]);
    t.same(await store.listAudit({ limit: 1 }), [first]);
    t.same(await store.listAudit({ afterSeq: third.seq }), []);

    const appended = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendAudit({ at: 100 + i, actor: 'system', action: 'test', subject: 'bulk', details: { i } })));
    const seqs = appended.map((entry) => entry.seq);
    t.equal(new Set(seqs).size, 20, 'every append gets its own seq');
    t.same((await store.listAudit({ subject: 'bulk' })).map((entry) => entry.seq), [...seqs].sort((a, b) => a - b));
  });

  t.test('model versions: marking one default clears the others of that model, atomically', async (t) => {
    const store = await open(t);
    await store.putModelVersion({ model: 'reviews', version: 1, manifest: { backend: 'onnx' }, isDefault: true, recordedAt: 1 });
    await store.putModelVersion({ model: 'reviews', version: 2, manifest: { backend: 'onnx', tags: ['candidate'] }, isDefault: false, recordedAt: 2 });
    await store.putModelVersion({ model: 'lang', version: 1, manifest: {}, isDefault: true, recordedAt: 3 });
    const defaults = async (): Promise<string[]> => (await store.listModelVersions()).map((r) => `${r.model}@${r.version}${r.isDefault ? '*' : ''}`);
    t.same(await defaults(), ['lang@1*', 'reviews@1*', 'reviews@2']);
    await store.putModelVersion({ model: 'reviews', version: 2, manifest: { backend: 'onnx', tags: [] }, isDefault: true, recordedAt: 4 });
    t.same(await defaults(), ['lang@1*', 'reviews@1', 'reviews@2*'], 'the default moved; the other model kept its own');
    t.same(await store.listModelVersions('reviews'), [
      { model: 'reviews', version: 1, manifest: { backend: 'onnx' }, isDefault: false, recordedAt: 1 },
      { model: 'reviews', version: 2, manifest: { backend: 'onnx', tags: [] }, isDefault: true, recordedAt: 4 },
    ]);
    t.same(await store.listModelVersions('none'), []);

    await Promise.all([3, 4, 5, 6].map((version) => store.putModelVersion({ model: 'reviews', version, manifest: {}, isDefault: true, recordedAt: 10 + version })));
    t.equal((await store.listModelVersions('reviews')).filter((r) => r.isDefault).length, 1, 'concurrent defaults leave exactly one');
  });

  t.test('exclusive: holders of one lock run one after another (across stores on PostgreSQL), other names do not wait, a failure releases it', async (t) => {
    const place = await fresh(t);
    const [first, second] = [await place(), await place()];
    const log: string[] = [];
    // A holder stays inside until the test lets it go, so the test decides when each lock is free.
    const inside = new Map<string, () => void>();
    const hold = (store: Store, name: string, tag: string) =>
      store.exclusive(name, async () => {
        log.push(`${tag}+`);
        await new Promise<void>((resolve) => inside.set(tag, resolve));
        inside.delete(tag);
        log.push(`${tag}-`);
        return tag;
      });
    const letGo = (tag: string): void => inside.get(tag)?.();
    const holderOtherThan = (tag?: string): Promise<string> =>
      until(() => [...inside.keys()].find((held) => held !== tag), { what: `a holder${tag === undefined ? '' : ` other than ${tag}`} inside the lock` });
    const other = kind === 'postgres' ? second : first;
    const results = Promise.all([hold(first, 'lock', 'a'), hold(other, 'lock', 'b')]);
    // Two clients race for the lock on PostgreSQL, so either may win; neither may start inside the other.
    const winner = await holderOtherThan();
    await lockWaited('lock');
    t.same(log, [`${winner}+`], 'the other holder waits while the lock is held');
    letGo(winner);
    letGo(await holderOtherThan(winner));
    t.same(await results, ['a', 'b']);
    t.ok(['a+,a-,b+,b-', 'b+,b-,a+,a-'].includes(log.join(',')), `one after the other: ${log.join(',')}`);
    log.length = 0;
    const sideBySide = Promise.all([hold(first, 'one', 'x'), hold(other, 'two', 'y')]);
    await until(() => inside.size === 2, { what: 'holders of two names inside at once' });
    t.same(log.slice().sort(), ['x+', 'y+'], 'different names run side by side');
    letGo('x');
    letGo('y');
    t.same(await sideBySide, ['x', 'y']);
    await t.rejects(first.exclusive('lock', async () => Promise.reject(new Error('boom'))), { message: 'boom' });
    t.equal(await other.exclusive('lock', async () => 'free'), 'free', 'released after a failure');
  });

  t.test('unicode text round-trips unchanged', async (t) => {
    const store = await open(t);
    const text = 'naïve café — 日本語のテキスト, עברית, emoji 👩🏽‍💻🎉, e\u0301, NUL \u0000 and a lone surrogate \ud800';
    await store.putReview(review('rv-ünï', { text, capability: 'sentiment-ü' }));
    t.equal((await store.getReview('rv-ünï'))?.text, text);
    t.same(ids(await store.listReviews({ capability: 'sentiment-ü' })), ['rv-ünï']);
    await store.putDataset({ id: 'd-日本', name: text, source: 'upload', examples: [{ text, label: 'ラベル' }], createdAt: 1 });
    t.same(await store.getDataset('d-日本'), { id: 'd-日本', name: text, source: 'upload', examples: [{ text, label: 'ラベル' }], createdAt: 1 });
    const entry = await store.appendAudit({ at: 1, actor: 'système', action: 'review.resolved', subject: 'review:日本', details: { note: text } });
    t.same(await store.listAudit({ subject: 'review:日本' }), [entry]);
  });

  t.test('everything survives closing the store and opening another on the same data', async (t) => {
    const reopen = await fresh(t);
    const before = await reopen();
    const theJob = job('j1', { status: 'completed', result: { accuracy: 0.9 }, finishedAt: 5 });
    const theSet = dataset('d1', 2, 1);
    const theReview = review('rv1', { status: 'assigned', assignee: 'r1', assignedAt: 2 });
    await before.putModelJob(theJob);
    await before.putDataset(theSet);
    await before.putCapability({ name: 'reviews-sentiment', spec: { kind: 'classification' }, createdAt: 1 });
    await before.putReviewer({ id: 'r1', name: 'Ana', specialisations: ['*'], capacity: 2, createdAt: 1 });
    await before.putReview(theReview);
    const entry = await before.appendAudit({ at: 1, actor: 'system', action: 'review.created', subject: 'review:rv1', details: {} });
    await before.putModelVersion({ model: 'reviews', version: 1, manifest: { labels: ['a', 'b'] }, isDefault: true, recordedAt: 1 });
    await before.close();

    const after = await reopen();
    t.same(await after.getModelJob('j1'), theJob);
    t.same(await after.getDataset('d1'), theSet);
    t.same(await after.listCapabilities(), [{ name: 'reviews-sentiment', spec: { kind: 'classification' }, createdAt: 1 }]);
    t.same(await after.listReviewers(), [{ id: 'r1', name: 'Ana', specialisations: ['*'], capacity: 2, createdAt: 1 }]);
    t.same(await after.listReviews({ assignee: 'r1' }), [theReview]);
    t.same(await after.listAudit(), [entry]);
    t.same(await after.listModelVersions(), [{ model: 'reviews', version: 1, manifest: { labels: ['a', 'b'] }, isDefault: true, recordedAt: 1 }]);
    t.ok((await after.appendAudit({ at: 2, actor: 'system', action: 'x', subject: 's', details: {} })).seq > entry.seq, 'seq goes on after a restart');
  });
}

t.test('SQLite', async (t) => {
  storeContract(t, 'sqlite', freshSqlite, sqliteLockWaited);

  t.test('a database from a newer capserve is refused, not guessed at', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'capserve-store-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const sqlitePath = path.join(dir, 'capserve.db');
    await (await openStore({ sqlitePath })).close();
    const raw = new Database(sqlitePath);
    raw.prepare('UPDATE schema_version SET version = 99').run();
    raw.close();
    await t.rejects(openStore({ sqlitePath }), { message: /schema is at version 99/ });
  });

  t.test(':memory: and an empty DATABASE_URL give SQLite', async (t) => {
    const store = await openStore({ databaseUrl: '', sqlitePath: ':memory:' });
    t.teardown(() => store.close());
    t.equal(store.kind, 'sqlite');
    await store.putModelJob(job('j1'));
    t.same(ids(await store.listModelJobs()), ['j1']);
    await store.close();
    await store.close();
    t.pass('close is idempotent');
  });
});

t.test('PostgreSQL', async (t) => {
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    if (process.env.CI === 'true') t.fail('TEST_DATABASE_URL is not set: CI must start PostgreSQL and export it (.ci/start-postgres.sh)');
    else t.skip('TEST_DATABASE_URL is not set (e.g. postgres://capserve:capserve@127.0.0.1:5432/capserve_test)', () => {});
    return;
  }
  storeContract(t, 'postgres', freshPostgres(url), postgresLockWaited(url));
});

t.test('openStore refuses other URL schemes with CONFIG_INVALID, never showing the password', async (t) => {
  const secret = 's3cret-Passw0rd';
  for (const databaseUrl of [`mysql://capserve:${secret}@db.example:3306/app`, `sqlite:///var/db.sqlite?password=${secret}`, `mysql:${secret}@[bad`]) {
    const error = await openStore({ databaseUrl, sqlitePath: ':memory:' }).then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );
    t.equal(error?.code, 'CONFIG_INVALID', databaseUrl.slice(0, 6));
    t.notMatch(error?.message ?? '', secret, 'the password is hidden');
    t.match(error?.message ?? '', /postgres:\/\//, 'the message says what is accepted');
  }
  await t.rejects(openStore({ databaseUrl: 'postgres://u:p@127.0.0.1:1/db', sqlitePath: ':memory:', postgresSchema: 'Robert"; DROP' }), {
    code: 'CONFIG_INVALID',
    message: /schema/,
  });
});
