import t, { type Test } from 'tap';
import { pino } from 'pino';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { type Capability } from '../../capabilities/types.js';
import { CapserveError } from '../../core/errors.js';
import { ManualTime } from '../../core/manual-time.js';
import { CapserveService } from '../../engine/service.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';

/** A capability whose every run waits until the test releases it, recording the texts of each run. */
function held() {
  const runs: { texts: string[]; release: () => void }[] = [];
  const capability: Capability<unknown> = {
    name: 'model',
    dependsOn: [],
    async run(texts) {
      await new Promise<void>((release) => runs.push({ texts: [...texts], release }));
      return texts.map((text) => `model(${text})`);
    },
  };
  return { capability, runs };
}

/** Lets the batcher's promise callbacks run (no timers: the clock is manual). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/**
 * One batch slot on a manual clock. A first batch of 10 texts finishes 1 s after it started, so
 * the measured rate is exactly 10 texts/s; then a batch of 5 texts holds the only slot.
 */
async function saturatedService(t: Test, maxQueueWaitMs: number) {
  const time = new ManualTime();
  const model = held();
  const service = new CapserveService({
    pool: new ModelPool([], { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 0 }, defaultLoaders),
    build: async () => ({ registry: new CapabilityRegistry().register(model.capability), unavailable: new Map(), specs: new Map() }),
    batcher: { windowMs: 60_000, maxBatchTexts: 64, mode: 'adaptive', maxConcurrentBatches: 1 },
    maxQueueWaitMs,
    loadFailure: 'fail',
    logger: pino({ level: 'silent' }),
    time,
  });
  await service.start();
  t.teardown(async () => {
    for (const run of model.runs) run.release();
    await service.stop(0);
  });

  const warm = service.analyse({ texts: texts('w', 10), capabilities: ['model'] });
  time.advance(0);
  await settle();
  time.advance(1000);
  model.runs[0]?.release();
  await warm;

  const running = service.analyse({ texts: texts('r', 5), capabilities: ['model'] });
  time.advance(0);
  await settle();
  t.equal(model.runs.length, 2, 'the second batch holds the only slot');
  return { service, model, time, running };
}

/** The rejected metric's overloaded count (absent until the first refusal). */
const overloaded = async (service: CapserveService) =>
  Number((await service.metrics.registry.metrics()).match(/capserve_rejected_requests_total\{reason="overloaded"\} (\d+)/)?.[1] ?? 0);

t.test('MAX_QUEUE_WAIT_MS: a request that would wait too long behind the backlog is refused before any work; one that fits is served', async (t) => {
  const { service, model, running } = await saturatedService(t, 2000);

  // 5 running + 10 = 15 texts at 10 texts/s: 1.5 s, within 2 s.
  const fits = service.analyse({ texts: texts('f', 10), capabilities: ['model'] });
  // 15 queued or running + 10 = 25 texts: 2.5 s.
  const error = await service.analyse({ texts: texts('x', 10), capabilities: ['model'] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof CapserveError);
  t.match(error, { code: 'OVERLOADED', statusCode: 429 });
  t.same((error as CapserveError).details, { retryAfterSeconds: 2, queuedTexts: 15, predictedWaitMs: 2500, maxQueueWaitMs: 2000 });
  t.equal(await overloaded(service), 1, 'counted in the rejected metric');

  model.runs[1]?.release();
  t.same((await running).results.length, 5);
  await settle();
  model.runs[2]?.release();
  t.same((await fits).results.length, 10, 'the request that fitted is served');
  t.same(
    model.runs.map((run) => run.texts[0]),
    ['w0', 'r0', 'f0'],
    'the refused texts never ran',
  );
});

t.test('with a batch slot free the request starts at once, so no wait is predicted', async (t) => {
  const { service, model, time, running } = await saturatedService(t, 2000);
  model.runs[1]?.release();
  await running;
  await settle(); // the batch's slot frees after its requests are answered
  // 30 texts over the measured rate would be 3 s, but nothing is ahead of them.
  const alone = service.analyse({ texts: texts('a', 30), capabilities: ['model'] });
  time.advance(0);
  await settle();
  model.runs[2]?.release();
  t.equal((await alone).results.length, 30);
  t.equal(await overloaded(service), 0);
});

t.test('MAX_QUEUE_WAIT_MS=0 turns the check off: only MAX_QUEUED_TEXTS refuses', async (t) => {
  const { service, model, running } = await saturatedService(t, 0);
  const long = service.analyse({ texts: texts('l', 100), capabilities: ['model'] });
  model.runs[1]?.release();
  await running;
  await settle();
  model.runs[2]?.release();
  t.equal((await long).results.length, 100);
  t.equal(await overloaded(service), 0);
});
