import t from 'tap';
import { MemoryJobQueue } from '../../../jobs/queue/memory-queue.js';
import { ResultBudget } from '../../../jobs/queue/result-budget.js';
import { type JobEvent } from '../../../jobs/types.js';
import { ManualTime } from '../../../core/manual-time.js';
import { textJob } from '../../helpers/job-fakes.js';

t.test('the budget drops the oldest results first, and one larger than it at once', async (t) => {
  const budget = new ResultBudget(100);
  t.same(budget.add('a', 'x'.repeat(38)), []); // 40 bytes as JSON
  t.same(budget.add('b', 'x'.repeat(38)), []);
  t.same(budget.add('c', 'x'.repeat(38)), ['a']);
  t.equal(budget.usedBytes, 80);
  budget.remove('b');
  t.equal(budget.usedBytes, 40);
  t.same(budget.add('huge', 'x'.repeat(200)), ['c', 'huge']);
  t.equal(budget.usedBytes, 0);
});

t.test('a memory queue past MAX_RESULT_BYTES keeps the status of the oldest jobs and drops their results', async (t) => {
  const time = new ManualTime();
  const queue = new MemoryJobQueue('cpu_standard', async (payload) => ({ text: payload.text, pad: 'x'.repeat(400) }), {
    concurrency: 1,
    time,
    maxResultBytes: 1000,
  });
  t.teardown(() => queue.close());
  const ids: string[] = [];
  for (const text of ['one', 'two', 'three']) {
    const { id } = await queue.add(textJob(text), { priority: 'normal' });
    ids.push(id);
    const events: JobEvent[] = [];
    await new Promise<void>((resolve) =>
      queue.subscribe(id, (event) => {
        events.push(event);
        if (event.type !== 'progress') resolve();
      }),
    );
    t.equal(events.at(-1)?.type, 'result', 'subscribers get the result as it finishes');
  }
  const [first, second, third] = await Promise.all(ids.map((id) => queue.get(id)));
  t.equal(first?.status, 'completed');
  t.equal(first?.result, undefined, 'the oldest result was dropped');
  t.equal(first?.error?.code, 'RESULT_EVICTED');
  t.match(second, { status: 'completed', result: { text: 'two' } });
  t.match(third, { status: 'completed', result: { text: 'three' } });
  t.equal(second?.error, undefined);

  const late = await new Promise<JobEvent>((resolve) => queue.subscribe(ids[0] ?? '', resolve));
  t.match(late, { type: 'failed', error: { code: 'RESULT_EVICTED' } }, 'a late subscriber hears why there is no result');
});
