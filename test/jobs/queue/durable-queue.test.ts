import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ManualTime } from '../../../core/manual-time.js';
import { DurableJobQueue, type DurableJobQueueOptions } from '../../../jobs/queue/durable-queue.js';
import { openStore } from '../../../store/open-store.js';
import { type Store } from '../../../store/types.js';
import { ManualProcessor, settle, textJob } from '../../helpers/job-fakes.js';
import { postgresSchema } from '../../helpers/postgres.js';
import { until } from '../../helpers/until.js';

const LEASE_MS = 30_000;
const TTL_MS = 60_000;

/** Opens the same database each time it is called: a process's store, before and after a restart. */
type StoreOpener = () => Promise<Store>;

/** One process: a store of its own on the shared database, a queue over it and a processor the test settles by hand. */
async function startProcess(t: Test, open: StoreOpener, owner: string, options: Partial<DurableJobQueueOptions> = {}) {
  const store = await open();
  const time = new ManualTime();
  const manual = new ManualProcessor();
  const errors: unknown[] = [];
  const queue = new DurableJobQueue('cpu_standard', manual.processor, {
    journal: store,
    owner,
    leaseMs: LEASE_MS,
    resultTtlMs: TTL_MS,
    concurrency: 1,
    time,
    onError: (error) => errors.push(error),
    ...options,
  });
  let crashed = false;
  /** Dies without draining: its store closes under it, so nothing it does afterwards reaches the database. */
  const crash = async (): Promise<void> => {
    crashed = true;
    await store.close();
  };
  t.teardown(async () => {
    for (const call of manual.calls) call.resolve(undefined);
    if (crashed) return;
    const closing = queue.close({ graceMs: 0 });
    time.advance(0);
    await closing;
    await store.close();
  });
  return { store, time, manual, queue, errors, crash };
}

async function stored(store: Store, id: string, status: string) {
  return until(async () => {
    const job = await store.getProcessJob(id);
    return job?.status === status ? job : undefined;
  }, { what: `job ${id} to be ${status} in the store` });
}

function suite(t: Test, opener: (t: Test) => Promise<StoreOpener | undefined>): void {
  t.test('a crash loses nothing: finished jobs stay readable, queued and running ones run again', async (t) => {
    const open = await opener(t);
    if (open === undefined) return;
    const a = await startProcess(t, open, 'a');
    t.equal(await a.queue.start(), 0);
    const done = await a.queue.add(textJob('done'), { priority: 'normal' });
    t.match(await a.store.getProcessJob(done.id), { id: done.id, queue: 'cpu_standard', maxAttempts: 3, priority: 'normal' }, 'in the store before add resolves');
    const running = await a.queue.add(textJob('running'), { priority: 'high' });
    const waiting = await a.queue.add(textJob('waiting'), { priority: 'low' });
    (await a.manual.call(0)).resolve({ label: 'ok' });
    await stored(a.store, done.id, 'completed');
    t.equal((await a.manual.call(1)).text, 'running');
    await stored(a.store, running.id, 'running');
    await a.crash();

    const b = await startProcess(t, open, 'b');
    b.time.advance(1000);
    t.equal(await b.queue.start(), 0, "the crashed process's lease still holds");
    t.match(await b.queue.get(done.id), { status: 'completed', result: { label: 'ok' }, attempts: 1 }, 'a finished job is read from the store');
    t.match(await b.queue.get(running.id), { status: 'running' });
    // The heartbeat due by then finds the lease lapsed and takes both unfinished jobs.
    b.time.advance(LEASE_MS);
    for (const index of [0, 1]) {
      const call = await b.manual.call(index);
      call.resolve({ label: call.text === 'running' ? 'again' : 'late' });
    }
    t.same(b.manual.texts.sort(), ['running', 'waiting'], 'each ran once more');
    t.match(await stored(b.store, running.id, 'completed'), { result: { label: 'again' }, attempts: 2 }, 'the try the crash cut short counts');
    t.match(await stored(b.store, waiting.id, 'completed'), { result: { label: 'late' }, attempts: 1 });
    t.equal(await b.store.getProcessJobPayload(running.id), undefined, 'a finished job drops its payload');
    t.same(b.errors, []);

    b.time.advance(TTL_MS);
    t.equal(await b.queue.get(done.id), undefined, 'gone after the result TTL');
    await b.queue.heartbeat();
    t.equal(await b.store.getProcessJob(done.id), undefined, 'and deleted from the store at the next heartbeat');
  });

  t.test('a graceful stop leaves unfinished jobs queued and released; the next start takes them at once', async (t) => {
    const open = await opener(t);
    if (open === undefined) return;
    const a = await startProcess(t, open, 'a');
    await a.queue.start();
    const running = await a.queue.add(textJob('running'), { priority: 'normal' });
    const waiting = await a.queue.add(textJob('waiting'), { priority: 'normal' });
    const call = await a.manual.call(0);
    const closing = a.queue.close({ graceMs: 100 });
    await settle();
    a.time.advance(100);
    // A processor returns once aborted; close waits for it.
    await until(() => call.signal.aborted, { what: 'the running try to be aborted' });
    call.reject(call.signal.reason);
    await closing;
    t.match(await a.store.getProcessJob(running.id), { status: 'queued', attempts: 0, progress: 0 }, 'the try the shutdown cut short does not count');
    t.match(await a.store.getProcessJob(waiting.id), { status: 'queued', attempts: 0 });

    const b = await startProcess(t, open, 'b');
    b.time.advance(1);
    t.equal(await b.queue.start(), 2, 'no lease to wait for');
    (await b.manual.call(0)).resolve('one');
    (await b.manual.call(1)).resolve('two');
    await stored(b.store, running.id, 'completed');
    await stored(b.store, waiting.id, 'completed');
  });

  t.test('a job whose input is gone, or that was running on its last try, fails with a code at the restart', async (t) => {
    const open = await opener(t);
    if (open === undefined) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'durable-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'upload');
    await writeFile(file, 'hello');
    const a = await startProcess(t, open, 'a');
    await a.queue.start();
    const last = await a.queue.add(textJob('crashes every time'), { priority: 'high', attempts: 1 });
    const spooled = await a.queue.add({ ...textJob(''), kind: 'document', text: undefined, filePath: file }, { priority: 'normal' });
    await a.manual.call(0);
    await stored(a.store, last.id, 'running');
    await a.crash();
    await rm(file);

    const b = await startProcess(t, open, 'b');
    b.time.advance(LEASE_MS + 1);
    t.equal(await b.queue.start(), 0);
    t.match(await b.queue.get(last.id), { status: 'failed', attempts: 1, error: { code: 'JOB_INTERRUPTED' } });
    t.match(await b.queue.get(spooled.id), { status: 'failed', error: { code: 'JOB_INPUT_LOST' } });
    t.equal(b.manual.calls.length, 0, 'neither ran');
  });

  t.test('a cancel from another process stops the job where it runs', async (t) => {
    const open = await opener(t);
    if (open === undefined) return;
    const a = await startProcess(t, open, 'a');
    const b = await startProcess(t, open, 'b');
    await a.queue.start();
    await b.queue.start();
    const job = await a.queue.add(textJob('long'), { priority: 'normal' });
    const call = await a.manual.call(0);
    await stored(a.store, job.id, 'running');
    t.equal(await b.queue.cancel(job.id), true);
    t.match(await b.queue.get(job.id), { status: 'cancelled' });
    t.equal(await b.queue.cancel(job.id), false, 'once');
    a.time.advance(1000);
    call.progress(0.5);
    await until(() => call.signal.aborted, { what: 'the running try to be aborted' });
    t.match(await a.queue.get(job.id), { status: 'cancelled' }, 'the holder reads the stored record');
  });
}

t.test('SQLite', async (t) => {
  suite(t, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'durable-sqlite-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const sqlitePath = path.join(dir, 'capserve.db');
    return () => openStore({ sqlitePath });
  });
});

t.test('PostgreSQL', async (t) => {
  suite(t, async (t) => {
    const database = postgresSchema(t, 'durable');
    if (database === undefined) return undefined;
    return () => openStore({ sqlitePath: ':memory:', databaseUrl: database.url, postgresSchema: database.schema });
  });
});
