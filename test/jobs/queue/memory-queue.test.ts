import t, { type Test } from 'tap';
import { MemoryJobQueue, type MemoryJobQueueOptions } from '../../../jobs/queue/memory-queue.js';
import { type JobProcessor } from '../../../jobs/types.js';
import { CapserveError } from '../../../core/errors.js';
import { ManualTime } from '../../../core/manual-time.js';
import { codedError, collect, ManualProcessor, settle, textJob } from '../../helpers/job-fakes.js';

function setup(t: Test, options: Partial<MemoryJobQueueOptions> = {}, processor?: JobProcessor) {
  const time = new ManualTime();
  const manual = new ManualProcessor();
  const queue = new MemoryJobQueue('cpu_standard', processor ?? manual.processor, {
    concurrency: 1,
    time,
    ...options,
  });
  t.teardown(async () => {
    const closing = queue.close({ graceMs: 0 });
    time.advance(0);
    for (const call of manual.calls) call.resolve(undefined);
    await closing;
  });
  return { time, manual, queue };
}

t.test('a high job added after normal ones runs first among the waiting', async (t) => {
  const { manual, queue } = setup(t);
  const first = await queue.add(textJob('n1'), { priority: 'normal' });
  await queue.add(textJob('n2'), { priority: 'normal' });
  await queue.add(textJob('l1'), { priority: 'low' });
  await queue.add(textJob('n3'), { priority: 'normal' });
  await queue.add(textJob('h1'), { priority: 'high' });
  t.equal(first.status, 'queued');
  t.match(first.id, /^[0-9a-f-]{36}$/);
  t.same(await queue.counts(), { waiting: 4, running: 1 });
  for (let i = 0; i < 5; i += 1) (await manual.call(i)).resolve(i);
  await settle();
  t.same(manual.texts, ['n1', 'h1', 'n2', 'n3', 'l1']);
  t.same(await queue.counts(), { waiting: 0, running: 0 });
});

t.test('a failing try is retried after an exponential backoff, then succeeds', async (t) => {
  const { time, manual, queue } = setup(t, { backoffMs: 500 });
  const { id } = await queue.add(textJob('a'), { priority: 'normal' });
  const events = collect(queue, id);

  (await manual.call(0)).reject(new Error('flaky'));
  await settle();
  t.match(await queue.get(id), { status: 'queued', attempts: 1 });
  t.equal(time.pending, 1, 'one backoff timer');
  time.advance(499);
  await settle();
  t.equal(manual.calls.length, 1, 'not before 500 ms');
  time.advance(1);
  (await manual.call(1)).reject(new Error('flaky again'));
  await settle();
  t.match(await queue.get(id), { status: 'queued', attempts: 2 });
  time.advance(999);
  await settle();
  t.equal(manual.calls.length, 2, 'the second backoff is 1000 ms');
  time.advance(1);
  (await manual.call(2)).resolve({ label: 'ok' });

  t.same(await events.done, [{ type: 'result', jobId: id, result: { label: 'ok' } }], 'no failed event between tries');
  const record = await queue.get(id);
  t.match(record, { status: 'completed', attempts: 3, progress: 1, result: { label: 'ok' }, finishedAt: 1500 });
  t.notOk(record?.error);
});

t.test('a permanent error fails at once with its code', async (t) => {
  const cases: [string, unknown, string][] = [
    ['a listed code', codedError('UNSUPPORTED_MEDIA', 'no such format'), 'UNSUPPORTED_MEDIA'],
    ['retryable: false on a code the registry does not know (reported as INTERNAL_ERROR)', codedError('OCR_BROKEN', 'bad scan', { retryable: false }), 'INTERNAL_ERROR'],
    ['a 4xx CapserveError', new CapserveError('VALIDATION_ERROR', 'no text'), 'VALIDATION_ERROR'],
  ];
  for (const [name, error, code] of cases) {
    const { time, manual, queue } = setup(t);
    const { id } = await queue.add(textJob(name), { priority: 'normal', attempts: 5 });
    const events = collect(queue, id);
    (await manual.call(0)).reject(error);
    const [event] = await events.done;
    t.match(event, { type: 'failed', jobId: id, error: { code } }, name);
    t.match(await queue.get(id), { status: 'failed', attempts: 1, error: { code } }, name);
    t.equal(time.pending, 0, `${name}: no retry scheduled`);
  }
});

t.test('a retryable error is tried `attempts` times, then fails with the last error', async (t) => {
  const { time, manual, queue } = setup(t, { attempts: 3, backoffMs: 10 });
  const { id } = await queue.add(textJob('a'), { priority: 'normal' });
  for (let i = 0; i < 3; i += 1) {
    (await manual.call(i)).reject(codedError('MODEL_LOAD_FAILED', `try ${i + 1}`, { retryable: true }));
    await settle();
    time.advance(1000);
  }
  await settle();
  t.equal(manual.calls.length, 3);
  t.match(await queue.get(id), { status: 'failed', attempts: 3, error: { code: 'MODEL_LOAD_FAILED', message: 'try 3' } });

  const once = await queue.add(textJob('b'), { priority: 'normal', attempts: 1 });
  (await manual.call(3)).reject(new Error('no luck'));
  await settle();
  t.match(await queue.get(once.id), { status: 'failed', attempts: 1, error: { code: 'INTERNAL_ERROR', message: 'no luck' } });
  await t.rejects(queue.add(textJob('c'), { priority: 'normal', attempts: 0 }), RangeError);
});

t.test('cancelling a queued job removes it; it never runs', async (t) => {
  const { manual, queue } = setup(t);
  const running = await queue.add(textJob('first'), { priority: 'normal' });
  const queued = await queue.add(textJob('second'), { priority: 'normal' });
  const events = collect(queue, queued.id);
  await manual.call(0);

  t.equal(await queue.cancel(queued.id), true);
  t.same(await events.done, [{ type: 'cancelled', jobId: queued.id }]);
  t.match(await queue.get(queued.id), { status: 'cancelled', attempts: 0, finishedAt: 0 });
  t.same(await queue.counts(), { waiting: 0, running: 1 });
  t.equal(await queue.cancel(queued.id), false, 'already finished');
  t.equal(await queue.cancel('no-such-job'), false);

  (await manual.call(0)).resolve('done');
  const third = await queue.add(textJob('third'), { priority: 'normal' });
  (await manual.call(1)).resolve('done');
  await settle();
  t.same(manual.texts, ['first', 'third']);
  t.equal(await queue.cancel(running.id), false, 'a completed job cannot be cancelled');
  t.match(await queue.get(third.id), { status: 'completed' });
});

t.test('cancelling a job waiting out a backoff stops the retry', async (t) => {
  const { time, manual, queue } = setup(t);
  const { id } = await queue.add(textJob('a'), { priority: 'normal' });
  (await manual.call(0)).reject(new Error('flaky'));
  await settle();
  t.equal(time.pending, 1);
  t.equal(await queue.cancel(id), true);
  t.equal(time.pending, 0, 'backoff timer cancelled');
  time.advance(10_000);
  await settle();
  t.equal(manual.calls.length, 1);
  t.match(await queue.get(id), { status: 'cancelled', attempts: 1 });
});

t.test('cancelling a running job aborts its signal, ends it cancelled and drops its result', async (t) => {
  const { manual, queue } = setup(t);
  const { id } = await queue.add(textJob('slow'), { priority: 'normal' });
  const next = await queue.add(textJob('next'), { priority: 'normal' });
  const events = collect(queue, id);
  const call = await manual.call(0);
  call.progress(0.25, 'reading');

  t.equal(await queue.cancel(id), true);
  t.equal(call.signal.aborted, true);
  t.match(call.signal.reason, { code: 'REQUEST_CANCELLED' });
  t.same(await events.done, [
    { type: 'progress', jobId: id, progress: 0.25, stage: 'reading' },
    { type: 'cancelled', jobId: id },
  ]);
  t.same(await queue.counts(), { waiting: 1, running: 0 });
  await settle();
  t.equal(manual.calls.length, 1, 'the processor keeps its slot until it returns');

  call.progress(0.9);
  call.resolve('late result');
  (await manual.call(1)).resolve('next result');
  await settle();
  const record = await queue.get(id);
  t.match(record, { status: 'cancelled', progress: 0.25, attempts: 1 });
  t.notOk(record !== undefined && 'result' in record, 'the late result is dropped');
  t.match(await queue.get(next.id), { status: 'completed', result: 'next result' });
  t.equal(events.events.length, 2, 'nothing after the final event');
});

t.test('a subscriber sees progress then the result; a late one gets the final event at once', async (t) => {
  const errors: unknown[] = [];
  const { manual, queue } = setup(t, { onError: (error) => errors.push(error) });
  const { id } = await queue.add(textJob('a'), { priority: 'normal' });
  const early = collect(queue, id);
  const dropped = collect(queue, id);
  dropped.unsubscribe();
  queue.subscribe(id, () => {
    throw new Error('a broken listener');
  });
  const call = await manual.call(0);
  call.progress(0.5, 'half');
  call.progress(7);
  call.progress(Number.NaN);
  call.resolve(['labels']);

  t.same(await early.done, [
    { type: 'progress', jobId: id, progress: 0.5, stage: 'half' },
    { type: 'progress', jobId: id, progress: 1 },
    { type: 'result', jobId: id, result: ['labels'] },
  ]);
  t.same(dropped.events, []);
  t.equal(errors.length, 3, 'the throwing listener was reported, not fatal');

  const late = collect(queue, id);
  t.same(late.events, [], 'delivered on a later tick');
  t.same(await late.done, [{ type: 'result', jobId: id, result: ['labels'] }]);
  const cancelledLate = collect(queue, id);
  cancelledLate.unsubscribe();
  await settle();
  t.same(cancelledLate.events, []);
  t.same(collect(queue, 'unknown').events, []);
});

t.test('finished records expire after the TTL', async (t) => {
  const { time, manual, queue } = setup(t, { resultTtlMs: 1000 });
  const { id } = await queue.add(textJob('a'), { priority: 'normal' });
  time.advance(50);
  (await manual.call(0)).resolve('ok');
  await settle();
  t.match(await queue.get(id), { status: 'completed', createdAt: 0, finishedAt: 50 });
  time.advance(999);
  t.ok(await queue.get(id), 'still there just before the TTL');
  time.advance(1);
  t.equal(await queue.get(id), undefined);
  t.equal(await queue.cancel(id), false);
});

t.test('a processor that throws a non-Error, or throws synchronously, does not crash', async (t) => {
  const thrown: unknown[] = ['boom', undefined, { code: 42 }];
  let calls = 0;
  const { queue } = setup(t, { attempts: 1 }, () => {
    calls += 1;
    throw thrown[calls - 1];
  });
  const records = [];
  for (const name of ['a', 'b', 'c']) {
    const { id } = await queue.add(textJob(name), { priority: 'normal' });
    await settle();
    records.push(await queue.get(id));
  }
  t.match(records, [
    { status: 'failed', error: { code: 'INTERNAL_ERROR', message: 'boom' } },
    { status: 'failed', error: { code: 'INTERNAL_ERROR', message: 'undefined' } },
    { status: 'failed', error: { code: 'INTERNAL_ERROR', message: '[object Object]' } },
  ]);
});

t.test('close drains accepted jobs and refuses new ones', async (t) => {
  const { manual, queue } = setup(t);
  const a = await queue.add(textJob('a'), { priority: 'normal' });
  const b = await queue.add(textJob('b'), { priority: 'normal' });
  let closed = false;
  const closing = queue.close().then(() => {
    closed = true;
  });
  await t.rejects(queue.add(textJob('c'), { priority: 'normal' }), { code: 'SHUTTING_DOWN' });
  (await manual.call(0)).resolve(1);
  await settle();
  t.equal(closed, false, 'still draining b');
  (await manual.call(1)).resolve(2);
  await closing;
  t.match(await queue.get(a.id), { status: 'completed' });
  t.match(await queue.get(b.id), { status: 'completed' });
  t.equal(queue.close(), queue.close(), 'idempotent');
});

t.test('close with a grace period fails what did not finish in time', async (t) => {
  const { time, manual, queue } = setup(t);
  const running = await queue.add(textJob('a'), { priority: 'normal' });
  const queued = await queue.add(textJob('b'), { priority: 'normal' });
  const events = collect(queue, running.id);
  const call = await manual.call(0);
  call.signal.addEventListener('abort', () => call.reject(call.signal.reason));
  const closing = queue.close({ graceMs: 100 });
  time.advance(100);
  await closing;
  t.match(await events.done, [{ type: 'failed', error: { code: 'SHUTTING_DOWN' } }]);
  t.match(await queue.get(running.id), { status: 'failed', error: { code: 'SHUTTING_DOWN' } });
  t.match(await queue.get(queued.id), { status: 'failed', attempts: 0, error: { code: 'SHUTTING_DOWN' } });
  t.equal(manual.calls.length, 1);
});
