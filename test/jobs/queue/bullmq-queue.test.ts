import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { BullmqJobQueue, type BullmqJobQueueOptions } from '../../../jobs/queue/bullmq-queue.js';
import { startBullmqWorker, type BullmqWorkerOptions } from '../../../jobs/queue/bullmq-worker.js';
import { type JobProcessor } from '../../../jobs/types.js';
import { projectRoot } from '../../../core/project-root.js';
import { startRedis } from '../../helpers/redis-server.js';
import { codedError, collect, textJob, waitForRecord } from '../../helpers/job-fakes.js';
import { until, within } from '../../helpers/until.js';

const redis = await startRedis(t);

if (redis !== undefined) {
  const redisUrl = redis.url;
  let prefixes = 0;
  const timing = { lockDurationMs: 1000, stalledIntervalMs: 1000 };

  /** A queue and (unless `processor` is null) one worker, on a prefix of their own, closed at the end of `t`. */
  async function setup(
    t: Test,
    processor: JobProcessor | null,
    options: { queue?: Partial<BullmqJobQueueOptions>; worker?: Partial<BullmqWorkerOptions> } = {},
  ) {
    prefixes += 1;
    const prefix = `capserve-test-${prefixes}`;
    const errors: unknown[] = [];
    const queue = new BullmqJobQueue('cpu_standard', { redisUrl, prefix, backoffMs: 50, onError: (e) => errors.push(e), ...options.queue });
    const worker =
      processor === null
        ? undefined
        : startBullmqWorker('cpu_standard', processor, { redisUrl, prefix, concurrency: 1, ...timing, ...options.worker });
    t.teardown(async () => {
      await worker?.close();
      await queue.close();
    });
    await queue.ready();
    return { queue, prefix, errors };
  }

  t.test('a job completes with its result; a subscriber sees progress then the result', async (t) => {
    // The job answers once its progress has been heard, so the progress event comes first.
    let progressHeard = (): void => {};
    const heard = new Promise<void>((resolve) => (progressHeard = resolve));
    const { queue } = await setup(t, async (payload, { progress }) => {
      progress(0.5, 'half');
      await within(heard, { what: 'a subscriber to hear the progress', timeoutMs: 5000 });
      return { label: `done:${payload.text}` };
    });
    const added = await queue.add(textJob('a'), { priority: 'normal' });
    t.match(added, { status: 'queued', attempts: 0, progress: 0, queue: 'cpu_standard' });
    t.match(added.id, /^[0-9a-f-]{36}$/);
    const events = collect(queue, added.id);
    queue.subscribe(added.id, (event) => {
      if (event.type === 'progress') progressHeard();
    });
    t.same(await within(events.done, { what: 'the result', timeoutMs: 5000 }), [
      { type: 'progress', jobId: added.id, progress: 0.5, stage: 'half' },
      { type: 'result', jobId: added.id, result: { label: 'done:a' } },
    ]);
    const record = await queue.get(added.id);
    t.match(record, { id: added.id, status: 'completed', attempts: 1, progress: 1, result: { label: 'done:a' }, createdAt: added.createdAt });
    t.ok((record?.finishedAt ?? 0) >= added.createdAt);
    t.same(await queue.counts(), { waiting: 0, running: 0 });

    const late = collect(queue, added.id);
    t.same(await within(late.done, { what: 'the late event', timeoutMs: 5000 }), [{ type: 'result', jobId: added.id, result: { label: 'done:a' } }]);
    t.equal(await queue.get('no-such-job'), undefined);
  });

  t.test('a failing try is retried with backoff, then succeeds', async (t) => {
    let tries = 0;
    const { queue } = await setup(t, async () => {
      tries += 1;
      if (tries < 3) throw new Error(`flaky ${tries}`);
      return 'ok';
    });
    const { id } = await queue.add(textJob('a'), { priority: 'high' });
    const events = collect(queue, id);
    t.same(await within(events.done, { what: 'the result', timeoutMs: 5000 }), [{ type: 'result', jobId: id, result: 'ok' }], 'no failed event between tries');
    t.match(await queue.get(id), { status: 'completed', attempts: 3, result: 'ok' });
  });

  t.test('a permanent error fails at once with its code; others fail after all attempts', async (t) => {
    const { queue } = await setup(t, async (payload) => {
      if (payload.text === 'bad media') throw codedError('UNSUPPORTED_MEDIA', 'cannot read this file');
      throw new Error('always broken');
    });
    const permanent = await queue.add(textJob('bad media'), { priority: 'normal', attempts: 5 });
    const events = collect(queue, permanent.id);
    t.same(await within(events.done, { what: 'the failure', timeoutMs: 5000 }), [
      { type: 'failed', jobId: permanent.id, error: { code: 'UNSUPPORTED_MEDIA', message: 'cannot read this file' } },
    ]);
    t.match(await queue.get(permanent.id), { status: 'failed', attempts: 1, error: { code: 'UNSUPPORTED_MEDIA' } });

    const exhausted = await queue.add(textJob('flaky'), { priority: 'low', attempts: 2 });
    const record = await waitForRecord(queue, exhausted.id, (r) => r?.status === 'failed');
    t.match(record, { status: 'failed', attempts: 2, error: { code: 'INTERNAL_ERROR', message: 'always broken' } });
  });

  t.test('cancelling a waiting job removes it and records it as cancelled', async (t) => {
    const { queue, prefix } = await setup(t, null);
    const other = new BullmqJobQueue('cpu_standard', { redisUrl, prefix });
    t.teardown(() => other.close());
    await other.ready();
    const { id } = await queue.add(textJob('a'), { priority: 'normal' });
    const events = collect(queue, id);
    const elsewhere = collect(other, id);
    t.same(await queue.counts(), { waiting: 1, running: 0 });

    t.equal(await queue.cancel(id), true);
    t.same(await events.done, [{ type: 'cancelled', jobId: id }]);
    t.same(await within(elsewhere.done, { what: 'the event in another front-end', timeoutMs: 5000 }), [{ type: 'cancelled', jobId: id }]);
    t.match(await queue.get(id), { status: 'cancelled', attempts: 0 });
    t.match(await other.get(id), { status: 'cancelled' });
    t.same(await queue.counts(), { waiting: 0, running: 0 });
    t.equal(await queue.cancel(id), false, 'already cancelled');
    t.equal(await queue.cancel('no-such-job'), false);
  });

  t.test('cancelling a running job aborts its signal in the worker and ends it cancelled', async (t) => {
    const aborted: string[] = [];
    const { queue } = await setup(t, (payload, { signal, progress }) => {
      progress(0.2, 'working');
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted.push(payload.text ?? '');
          // One honours the signal, the other ignores it and returns a result anyway.
          if (payload.text === 'honours') reject(signal.reason);
          else resolve('late result');
        });
      });
    });
    for (const text of ['honours', 'ignores']) {
      const { id } = await queue.add(textJob(text), { priority: 'normal' });
      const events = collect(queue, id);
      await waitForRecord(queue, id, (r) => r?.status === 'running' && r.progress === 0.2);
      t.equal(await queue.cancel(id), true, text);
      t.match(await queue.get(id), { status: 'cancelled', attempts: 1 }, `${text}: cancelled at once`);
      t.same(await events.done, [
        { type: 'progress', jobId: id, progress: 0.2, stage: 'working' },
        { type: 'cancelled', jobId: id },
      ]);
      await waitForRecord(queue, id, () => true);
      await until(async () => (await queue.counts()).running === 0, { what: 'the worker to let go', timeoutMs: 5000, intervalMs: 20 });
      const record = await queue.get(id);
      t.match(record, { status: 'cancelled', attempts: 1 }, `${text}: still cancelled after the worker stopped`);
      t.notOk(record !== undefined && 'result' in record, `${text}: no result`);
      t.equal(await queue.cancel(id), false);
    }
    t.same(aborted, ['honours', 'ignores']);
  });

  t.test('a job held by a worker that dies is recovered by another worker', async (t) => {
    const { queue, prefix } = await setup(t, null);
    const { id } = await queue.add(textJob('survivor'), { priority: 'normal' });
    const events = collect(queue, id);

    const child = spawnFixtureWorker(t, prefix);
    const running = await within(waitForLine(child, (line) => line.startsWith('running ')), { what: 'the child to take the job', timeoutMs: 15_000 });
    t.equal(running, `running ${id}`);
    t.match(await waitForRecord(queue, id, (r) => r?.status === 'running' && r.progress === 0.1), { attempts: 1 });

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const second = startBullmqWorker('cpu_standard', async (payload) => ({ worker: 'second', text: payload.text }), {
      redisUrl,
      prefix,
      concurrency: 1,
      ...timing,
    });
    t.teardown(() => second.close());
    const seen = await within(events.done, { what: 'the second worker to finish the job', timeoutMs: 15_000 });
    t.same(seen.at(-1), { type: 'result', jobId: id, result: { worker: 'second', text: 'survivor' } });
    t.match(await queue.get(id), { status: 'completed', attempts: 2, result: { worker: 'second', text: 'survivor' } });
    t.same(await queue.counts(), { waiting: 0, running: 0 }, 'nothing left behind');
  });

  function spawnFixtureWorker(t: Test, prefix: string): ChildProcess {
    const root = projectRoot();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'scripts', 'queue-worker-fixture.ts'),
        '--redis-url',
        redisUrl,
        '--queue',
        'cpu_standard',
        '--prefix',
        prefix,
        '--lock-ms',
        String(timing.lockDurationMs),
        '--stalled-ms',
        String(timing.stalledIntervalMs),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (stderr !== '') t.comment(`fixture stderr: ${stderr}`);
    });
    return child;
  }

  function waitForLine(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      if (child.stdout === null) {
        reject(new Error('no stdout'));
        return;
      }
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (match(line)) {
          lines.close();
          resolve(line);
        }
      });
      child.once('exit', (code, signal) => reject(new Error(`fixture exited (${String(code ?? signal)})`)));
    });
  }
}
