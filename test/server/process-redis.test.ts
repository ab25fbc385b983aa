import { Redis } from 'ioredis';
import t from 'tap';
import { finishedJob, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startRedis } from '../helpers/redis-server.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';



const redis = await startRedis(t);

if (redis !== undefined) {
  t.test('with REDIS_URL, /process jobs run on BullMQ and finish with their result', async (t) => {
    const classification = recordingCapability('classification');
    const server = await startTestServer(t, [classification], { jobs: { redisUrl: redis.url, workerId: 'solo' } });
    const { status, body } = await server.post('/process', { text: longText, capabilities: ['classification'] });
    t.equal(status, 202);
    t.equal(body.route.routing.worker, 'solo:gpu_fallback', 'this process is the worker on its own queue');
    const job = await finishedJob(server, body.jobId);
    t.equal(job.status, 'completed', JSON.stringify(job.error));
    t.ok(job.result.chunks > 1);
    t.equal(classification.executions.flatMap((e) => e.texts).length, job.result.chunks);
  });

  t.test('a front-end without local workers routes to a worker found in Redis, which runs the job', async (t) => {
    const frontCapability = recordingCapability('classification');
    const workerCapability = recordingCapability('classification');
    const front = await startTestServer(t, [frontCapability], {
      jobs: { redisUrl: redis.url, workerId: 'front', queueLocalWorkers: false },
    });
    await startTestServer(t, [workerCapability], { jobs: { redisUrl: redis.url, workerId: 'remote' } });

    // Wait for the worker's first heartbeat to be in Redis.
    const client = new Redis(redis.url);
    t.teardown(() => client.quit());
    await until(async () => (await client.exists('capserve:workers:remote:gpu_fallback')) === 1, { what: 'the remote worker heartbeat' });

    const { status, body } = await front.post('/process', { text: longText, capabilities: ['classification'] });
    t.equal(status, 202);
    t.equal(body.route.routing.worker, 'remote:gpu_fallback', JSON.stringify(body.route));
    const job = await finishedJob(front, body.jobId);
    t.equal(job.status, 'completed', JSON.stringify(job.error));
    t.equal(frontCapability.executions.length, 0, 'the front-end ran nothing');
    t.ok(workerCapability.executions.length > 0, 'the worker ran the chunks');
  });
}
