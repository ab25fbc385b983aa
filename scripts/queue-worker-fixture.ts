/**
 * A BullMQ worker in its own process, for the crash test (test/jobs/queue/bullmq-queue.test.ts):
 * it takes jobs, reports progress, prints `running <jobId>` and then hangs until killed, so the
 * test can `kill -9` it while it holds a job.
 *
 *   node --import tsx scripts/queue-worker-fixture.ts --redis-url redis://127.0.0.1:6379 \
 *     --queue cpu_standard [--prefix capserve] [--lock-ms 1000] [--stalled-ms 1000]
 */
import { parseArgs } from 'node:util';
import { startBullmqWorker } from '../jobs/queue/bullmq-worker.js';
import { queueNames, type QueueName } from '../jobs/types.js';

const { values } = parseArgs({
  options: {
    'redis-url': { type: 'string' },
    queue: { type: 'string', default: 'cpu_standard' },
    prefix: { type: 'string' },
    'lock-ms': { type: 'string', default: '1000' },
    'stalled-ms': { type: 'string', default: '1000' },
  },
});

const queue = values.queue as QueueName;
if (values['redis-url'] === undefined || !queueNames.includes(queue)) {
  process.stderr.write('usage: queue-worker-fixture --redis-url URL --queue cpu_standard|gpu_fallback\n');
  process.exit(2);
}

const hang = 10 * 60 * 1000;
startBullmqWorker(
  queue,
  async (_payload, { jobId, signal, progress }) => {
    progress(0.1, 'started');
    process.stdout.write(`running ${jobId}\n`);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, hang);
      signal.addEventListener('abort', () => clearTimeout(timer));
    });
    return { worker: 'fixture' };
  },
  {
    redisUrl: values['redis-url'],
    concurrency: 1,
    lockDurationMs: Number(values['lock-ms']),
    stalledIntervalMs: Number(values['stalled-ms']),
    workerName: `fixture-${process.pid}`,
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    onError: (error) => process.stderr.write(`worker error: ${String(error)}\n`),
  },
);
process.stdout.write('ready\n');
