import t, { type Test } from 'tap';
import { type BatchReply } from '../../batcher/types.js';
import { type CapabilitySpec } from '../../capabilities/config-schema.js';
import { ReviewQueue } from '../../review/review-queue.js';
import { openStore } from '../../store/open-store.js';
import { type Store } from '../../store/types.js';
import { ManualTime } from '../../core/manual-time.js';
import { postgresSchema } from '../helpers/postgres.js';

const specs = new Map<string, CapabilitySpec>([
  ['topic', { name: 'topic', kind: 'text-stats', dependsOn: [], review: { confidenceBelow: 0.6 } }],
  ['alerts', { name: 'alerts', kind: 'text-stats', dependsOn: [], review: { whenFired: true } }],
  ['quiet', { name: 'quiet', kind: 'text-stats', dependsOn: [] }],
]);

const reply = (results: Record<string, unknown>[]): BatchReply => ({ results, failures: [], batch: { id: 1, texts: results.length, requests: 1, waitedMs: 0 } });
const topic = (label: string, score: number) => ({ label, score, scores: { [label]: score } });

async function setup(t: Test, timeoutMs = 60_000): Promise<{ store: Store; queue: ReviewQueue; time: ManualTime }> {
  const store = await openStore({ sqlitePath: ':memory:' });
  const time = new ManualTime();
  time.advance(1_000_000);
  const queue = new ReviewQueue({ store, timeoutMs, time });
  t.teardown(async () => {
    await queue.close();
    await store.close();
  });
  return { store, queue, time };
}

/** Lets the fire-and-forget `offer` writes land. */
async function settled(queue: ReviewQueue): Promise<void> {
  await queue.sweep();
}

t.test('rules pick which results go to review; the rest do not', async (t) => {
  const { queue } = await setup(t);
  queue.offer(
    { texts: ['a', 'b', 'c'], capabilities: ['topic', 'alerts', 'quiet'] },
    reply([
      { topic: topic('billing', 0.41), alerts: { triggered: false, alerts: [] }, quiet: topic('x', 0.1) },
      { topic: topic('billing', 0.93), alerts: { triggered: true, alerts: [{ rule: 'keyword' }] } },
      { topic: 'not label scores', alerts: null },
    ]),
    specs,
  );
  await settled(queue);
  const items = await queue.list({});
  t.same(
    items.map((item) => [item.text, item.capability, item.reason]).sort(),
    [
      ['a', 'topic', 'confidence 0.41 below 0.6'],
      ['b', 'alerts', 'an alert fired'],
    ],
  );
  t.ok(items.every((item) => item.status === 'pending'), 'nobody to assign to yet');
});

t.test('assignment by specialisation, capacity and load; waiting items go to whoever frees up', async (t) => {
  const { queue, time } = await setup(t);
  await queue.addReviewer({ id: 'ana', name: 'Ana', specialisations: ['topic'], capacity: 2 }, 'test');
  await queue.addReviewer({ id: 'gus', name: 'Gus', specialisations: ['*'], capacity: 1 }, 'test');
  await queue.addReviewer({ id: 'ola', name: 'Ola', specialisations: ['alerts'], capacity: 5 }, 'test');
  // One at a time, a millisecond apart: items are assigned oldest first.
  const offers: [string, Record<string, unknown>][] = [
    ['t1', { topic: topic('a', 0.1) }],
    ['t2', { topic: topic('a', 0.2) }],
    ['t3', { topic: topic('a', 0.3) }],
    ['t4', { topic: topic('a', 0.4) }],
    ['alert', { alerts: { triggered: true, alerts: [] } }],
  ];
  for (const [text, results] of offers) {
    time.advance(1);
    queue.offer({ texts: [text], capabilities: Object.keys(results) }, reply([results]), specs);
    await settled(queue);
  }
  const byText = new Map((await queue.list({})).map((item) => [item.text, item]));
  t.equal(byText.get('t1')?.assignee, 'ana', 'the topic specialist first');
  t.equal(byText.get('t2')?.assignee, 'ana');
  t.equal(byText.get('t3')?.assignee, 'gus', 'the generalist once the specialist is full');
  t.equal(byText.get('t4')?.status, 'pending', 'everyone who takes topics is full');
  t.equal(byText.get('alert')?.assignee, 'ola', 'alerts go to their specialist, not to the busy generalist');
  t.same(
    (await queue.reviewers()).map((r) => [r.id, r.assigned]),
    [
      ['ana', 2],
      ['gus', 1],
      ['ola', 1],
    ],
  );

  await t.rejects(queue.resolve(byText.get('t1')?.id ?? '', 'gus', 'billing'), { code: 'REVIEW_CONFLICT' }, 'only the assignee resolves');
  await t.rejects(queue.resolve('nope', 'ana', 'billing'), { code: 'REVIEW_NOT_FOUND' });
  const resolved = await queue.resolve(byText.get('t1')?.id ?? '', 'ana', 'shipping');
  t.match(resolved, { status: 'resolved', correctedLabel: 'shipping', resolvedBy: 'ana' });
  t.notOk('dueAt' in resolved);
  await t.rejects(queue.resolve(resolved.id, 'ana', 'billing'), { code: 'REVIEW_CONFLICT' }, 'resolved once');
  t.equal((await queue.get(byText.get('t4')?.id ?? '')).assignee, 'ana', "ana's freed slot took the waiting item");
  t.same(await queue.export('topic'), [{ text: 't1', label: 'shipping' }]);
  t.same(await queue.export('alerts'), []);
});

t.test('an item not resolved in time escalates to another reviewer, and every step is audited', async (t) => {
  const { queue, store, time } = await setup(t, 60_000);
  await queue.addReviewer({ id: 'ana', name: 'Ana', specialisations: ['topic'], capacity: 5 }, 'test');
  queue.offer({ texts: ['slow'], capabilities: ['topic'] }, reply([{ topic: topic('a', 0.2) }]), specs);
  await settled(queue);
  const [item] = await queue.list({});
  t.equal(item?.assignee, 'ana');
  await queue.addReviewer({ id: 'ben', name: 'Ben', specialisations: ['topic'], capacity: 5 }, 'test');

  time.advance(59_000);
  t.equal(await queue.sweep(), 0, 'not due yet');
  time.advance(2_000);
  t.equal(await queue.sweep(), 1);
  const escalated = await queue.get(item?.id ?? '');
  t.match(escalated, { status: 'assigned', assignee: 'ben', escalations: 1, previousAssignees: ['ana'] });
  await t.rejects(queue.resolve(escalated.id, 'ana', 'x'), { code: 'REVIEW_CONFLICT' }, 'the first reviewer no longer holds it');

  time.advance(61_000);
  t.equal(await queue.sweep(), 1);
  t.match(await queue.get(escalated.id), { assignee: 'ana', escalations: 2, previousAssignees: ['ana', 'ben'] }, 'with nobody new left, back to a previous reviewer');

  await queue.resolve(escalated.id, 'ana', 'billing');
  const audit = await store.listAudit({ subject: `review:${escalated.id}` });
  t.same(
    audit.map((entry) => [entry.actor, entry.action]),
    [
      ['system', 'review.created'],
      ['system', 'review.assigned'],
      ['system', 'review.escalated'],
      ['system', 'review.assigned'],
      ['system', 'review.escalated'],
      ['system', 'review.assigned'],
      ['ana', 'review.resolved'],
    ],
  );
  t.match(audit.at(-1)?.details, { label: 'billing', originalLabel: 'a' });
  t.match((await store.listAudit({ subject: 'reviewer:ben' }))[0], { action: 'reviewer.added', details: { capacity: 5 } });
});

t.test('the sweep runs on its own once started, and stops on close', async (t) => {
  const { queue, time } = await setup(t, 4_000);
  await queue.addReviewer({ id: 'ana', name: 'Ana', specialisations: ['*'], capacity: 1 }, 'test');
  await queue.addReviewer({ id: 'ben', name: 'Ben', specialisations: ['*'], capacity: 1 }, 'test');
  queue.offer({ texts: ['x'], capabilities: ['topic'] }, reply([{ topic: topic('a', 0.2) }]), specs);
  await settled(queue);
  queue.start();
  time.advance(5_000);
  await settled(queue);
  const [item] = await queue.list({});
  t.equal(item?.escalations, 1);
  await queue.close();
  t.equal(time.pending, 0, 'no sweep left scheduled');
});

t.test('two review queues on one PostgreSQL store never give a reviewer more than their capacity', async (t) => {
  const database = postgresSchema(t, 'reviews');
  if (database === undefined) return;
  const open = () => openStore({ databaseUrl: database.url, sqlitePath: ':memory:', postgresSchema: database.schema });
  const [storeA, storeB] = [await open(), await open()];
  const [a, b] = [new ReviewQueue({ store: storeA, timeoutMs: 60_000 }), new ReviewQueue({ store: storeB, timeoutMs: 60_000 })];
  t.teardown(async () => {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([storeA.close(), storeB.close()]);
  });
  await a.addReviewer({ id: 'ana', name: 'Ana', specialisations: ['topic'], capacity: 3 }, 'test');
  for (let i = 0; i < 5; i += 1) {
    a.offer({ texts: [`a${i}`], capabilities: ['topic'] }, reply([{ topic: topic('x', 0.1) }]), specs);
    b.offer({ texts: [`b${i}`], capabilities: ['topic'] }, reply([{ topic: topic('x', 0.1) }]), specs);
  }
  await Promise.all([a.sweep(), b.sweep()]);
  const items = await a.list({ limit: 100 });
  t.equal(items.length, 10);
  t.equal(items.filter((item) => item.status === 'assigned').length, 3, 'exactly the capacity, though two processes assigned');
  t.equal(items.filter((item) => item.status === 'pending').length, 7);
});
