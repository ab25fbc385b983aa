import path from 'node:path';
import t from 'tap';
import { CapserveError } from '../../core/errors.js';
import { wallTime } from '../../core/time.js';
import { openStore } from '../../store/open-store.js';
import { type ModelJob, type Store } from '../../store/types.js';
import { ModelJobs, type ModelJobRunner } from '../../training/model-jobs.js';
import { testDir } from '../helpers/full-server.js';
import { settle } from '../helpers/job-fakes.js';
import { until } from '../helpers/until.js';

/** A runner whose jobs wait for `release(id)`, report progress, and give up when aborted. */
function gatedRunner() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const run: ModelJobRunner = async (job, { signal, progress }) => {
    started.push(job.id);
    progress(0.5, 'fit');
    await new Promise<void>((resolve, reject) => {
      gates.set(job.id, resolve);
      signal.addEventListener('abort', () => reject(new CapserveError('REQUEST_CANCELLED')), { once: true });
    });
    return { echo: job.request };
  };
  return { run, started, release: (id: string) => gates.get(id)?.() };
}

interface JobWrite {
  readonly job: ModelJob;
  readonly owner: string | undefined;
  readonly accepted: boolean;
}

/** `store`, recording each conditional job write with the store's answer: shows a late write being refused. */
function recordingWrites(store: Store): { store: Store; writes: JobWrite[] } {
  const writes: JobWrite[] = [];
  const recording = new Proxy(store, {
    get(target, key) {
      if (key === 'updateUnfinishedModelJob') {
        return async (job: ModelJob, owner?: string): Promise<boolean> => {
          const accepted = await target.updateUnfinishedModelJob(job, owner);
          writes.push({ job, owner, accepted });
          return accepted;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: recording, writes };
}

t.test('jobs interrupted by a stop are queued again by the next start, and finish', async (t) => {
  const sqlitePath = path.join(await testDir(t, 'model-jobs'), 'store.db');
  const store = await openStore({ sqlitePath });
  const gated = gatedRunner();
  const jobs = new ModelJobs({ store, run: gated.run, concurrency: 1 });
  const first = await jobs.submit('train', { n: 1 });
  const second = await jobs.submit('evaluate', { n: 2 });
  await until(async () => (await jobs.get(first.id)).stage === 'fit', { what: 'the first job to report its stage' });
  t.match(await jobs.get(first.id), { status: 'running', progress: 0.5, stage: 'fit' }, 'progress is in the store');
  t.equal((await jobs.get(second.id)).status, 'queued');
  await jobs.close(10);
  await t.rejects(jobs.submit('train', {}), { code: 'SHUTTING_DOWN' });
  await store.close();

  const reopened = await openStore({ sqlitePath });
  t.teardown(() => reopened.close());
  const done: ModelJobRunner = async (job) => ({ echo: job.request });
  const next = new ModelJobs({ store: reopened, run: done, concurrency: 1 });
  t.equal(await next.resume(), 2);
  await until(async () => (await next.list({ statuses: ['completed'] })).length === 2, { what: 'both resumed jobs to complete' });
  t.match(await next.get(first.id), { status: 'completed', progress: 1, result: { echo: { n: 1 } } });
  t.notOk('stage' in (await next.get(first.id)), 'a finished job has no stage');
  t.match(await next.get(second.id), { status: 'completed', result: { echo: { n: 2 } } });
  await next.close(100);
});

t.test('cancel, failure codes, and unknown jobs', async (t) => {
  const store = await openStore({ sqlitePath: ':memory:' });
  t.teardown(() => store.close());
  const gated = gatedRunner();
  const jobs = new ModelJobs({
    store,
    concurrency: 2,
    run: async (job, context) => {
      if ((job.request as { fail?: boolean }).fail) throw new CapserveError('TRAINING_DATA_INVALID', 'need two labels');
      return gated.run(job, context);
    },
  });
  t.teardown(() => jobs.close(100));
  const running = await jobs.submit('train', {});
  await until(() => gated.started.includes(running.id), { what: 'the job to start' });
  const cancelled = await jobs.cancel(running.id);
  t.match(cancelled, { status: 'cancelled', finishedAt: Number });
  await t.rejects(jobs.cancel(running.id), { code: 'JOB_FINISHED' });
  // The runner gave up at the abort; releasing it now is a late answer. What is left of the job
  // after its runner are promise continuations (no timer, no I/O on this path): a few turns of
  // the event loop finish them.
  gated.release(running.id);
  await settle();
  t.equal((await jobs.get(running.id)).status, 'cancelled', 'a late result does not revive it');

  const failing = await jobs.submit('train', { fail: true });
  await until(async () => (await jobs.get(failing.id)).status === 'failed', { what: 'the failing job to fail' });
  t.same((await jobs.get(failing.id)).error, { code: 'TRAINING_DATA_INVALID', message: 'need two labels' });
  await t.rejects(jobs.get('nope'), { code: 'JOB_NOT_FOUND' });
  const listed: ModelJob[] = await jobs.list({ type: 'train' });
  t.same(listed.map((job) => job.id), [failing.id, running.id], 'newest first');
});

t.test('two processes on one store: a live lease is left alone, a lapsed one is taken over, a cancel works from either side', async (t) => {
  const sqlitePath = path.join(await testDir(t, 'model-jobs-shared'), 'store.db');
  const [storeA, storeB] = [await openStore({ sqlitePath }), await openStore({ sqlitePath })];
  const writesOfA = recordingWrites(storeA);
  let now = 1_000_000;
  // The lease clock moves only when the test says so; the grace timers are real.
  const time = { now: () => now, schedule: wallTime.schedule };
  const gated = gatedRunner();
  const a = new ModelJobs({ store: writesOfA.store, run: gated.run, concurrency: 2, owner: 'a', leaseMs: 30_000, time });
  const finishedByB: string[] = [];
  const b = new ModelJobs({
    store: storeB,
    concurrency: 2,
    owner: 'b',
    leaseMs: 30_000,
    time,
    run: async (job) => {
      finishedByB.push(job.id);
      return { by: 'b' };
    },
  });
  t.teardown(async () => {
    await Promise.all([a.close(50), b.close(50)]);
    await Promise.all([storeA.close(), storeB.close()]);
  });

  const stalled = await a.submit('train', { n: 1 });
  const doomed = await a.submit('train', { n: 2 });
  await until(() => gated.started.length === 2, { what: 'both jobs to start on a' });
  now += 20_000;
  t.equal(await b.heartbeat(), 0, "a's leases are still valid");
  t.equal(await a.heartbeat(), 0, 'a renews its own and takes nothing new');
  now += 20_000;
  t.equal(await b.heartbeat(), 0, "renewed 20 s ago: still a's");

  const cancelled = await b.cancel(doomed.id);
  t.equal(cancelled.status, 'cancelled', 'b cancels a job a is running');
  await until(async () => (await a.get(doomed.id)).status === 'cancelled', { what: 'the cancel to reach a' });
  gated.release(doomed.id);

  // a stalls: no heartbeat for longer than the lease. b takes the job over and finishes it.
  now += 31_000;
  t.equal(await b.heartbeat(), 1);
  await until(async () => (await b.get(stalled.id)).status === 'completed', { what: 'b to complete the lapsed job' });
  t.same(finishedByB, [stalled.id], 'b ran only the lapsed job, not the cancelled one');
  t.match(await b.get(stalled.id), { result: { by: 'b' } });
  gated.release(stalled.id);
  const late = await until(() => writesOfA.writes.find((write) => write.job.id === stalled.id && write.job.status === 'completed'), {
    what: "a's late answer to reach the store",
  });
  t.match(late, { owner: 'a', accepted: false }, "the store refuses a's late answer");
  t.match(await a.get(stalled.id), { status: 'completed', result: { by: 'b' } }, "a's late answer does not overwrite b's");
  t.equal((await a.get(doomed.id)).status, 'cancelled');
});
