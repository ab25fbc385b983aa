import { readdir } from 'node:fs/promises';
import t from 'tap';
import { makePdf } from '../jobs/media/fixtures/make-media.js';
import { testDir } from '../helpers/full-server.js';
import { finishedJob, gatedCapability, longText } from '../helpers/job-http.js';
import { type TestServer, startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

async function upload(server: TestServer, file: Buffer, capabilities: string): Promise<{ status: number; body: any; headers: Headers }> {
  const form = new FormData();
  form.append('capabilities', capabilities);
  form.append('file', new Blob([file]), 'report.pdf');
  const response = await fetch(`${server.url}/process`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

const spooled = async (dir: string): Promise<number> => (await readdir(dir)).length;
const untilSpooled = (dir: string, count: number): Promise<true> =>
  until(async () => (await spooled(dir)) === count, { what: `${count} files in the spool` });
const waitingJobs = async (server: TestServer): Promise<number> => {
  const text = (await server.get('/metrics')).text;
  return [...text.matchAll(/capserve_job_queue_jobs\{queue="[a-z_]+",state="waiting"\} (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
};

t.test('an upload is spooled to disk, and its file is deleted when its job completes or is cancelled', async (t) => {
  const dir = await testDir(t, 'spool');
  const { capability: slow, release } = gatedCapability('slow');
  const server = await startTestServer(t, [slow], { jobs: { spoolDir: dir } });
  const pdf = makePdf(['A page about refunds.']);

  const running = await upload(server, pdf, 'document,slow');
  const queued = await upload(server, pdf, 'document,slow');
  t.same([running.status, queued.status], [202, 202]);
  t.equal(await spooled(dir), 2, 'one file per unfinished job');

  const cancel = await fetch(`${server.url}/jobs/${queued.body.jobId}`, { method: 'DELETE' });
  t.equal(cancel.status, 200);
  await untilSpooled(dir, 1);

  release();
  t.equal((await finishedJob(server, running.body.jobId)).status, 'completed');
  await untilSpooled(dir, 0);

  // A refused upload (unknown capability) leaves nothing behind either.
  const refused = await upload(server, pdf, 'nope');
  t.equal(refused.status, 400);
  t.equal(refused.body.error.code, 'UNKNOWN_CAPABILITY');
  t.equal(await spooled(dir), 0);
});

t.test('past MAX_QUEUED_JOBS /process answers 429 OVERLOADED with Retry-After and queues nothing', async (t) => {
  const dir = await testDir(t, 'spool');
  const { capability: slow, release } = gatedCapability('slow');
  const server = await startTestServer(t, [slow], { jobs: { spoolDir: dir, maxQueuedJobs: 1 } });
  const pdf = makePdf(['A page about delivery.']);
  const first = await upload(server, pdf, 'document,slow');
  t.equal(first.status, 202);

  const refusedUpload = await upload(server, pdf, 'document,slow');
  t.equal(refusedUpload.status, 429);
  t.equal(refusedUpload.body.error.code, 'OVERLOADED');
  t.equal(refusedUpload.headers.get('retry-after'), '5');
  t.match(refusedUpload.body.error, { queuedJobs: 1, limit: 1 });
  const refusedText = await server.post('/process', { text: longText, capabilities: ['slow'] });
  t.equal(refusedText.status, 429);
  t.equal(refusedText.body.error.code, 'OVERLOADED');
  t.equal(await waitingJobs(server), 0, 'nothing was queued');
  t.equal(await spooled(dir), 1, 'the refused upload left no file');

  release();
  t.equal((await finishedJob(server, first.body.jobId)).status, 'completed');
  const after = await upload(server, pdf, 'document,slow');
  t.equal(after.status, 202, 'a job is taken again once the queue has room');
  t.equal((await finishedJob(server, after.body.jobId)).status, 'completed');
  t.equal((await server.post('/process', { text: 'short', capabilities: ['slow'] })).status, 200, 'inline text is served');
});

t.test('an upload that would pass MAX_SPOOL_BYTES is refused with 429 before its body is read', async (t) => {
  const dir = await testDir(t, 'spool');
  const server = await startTestServer(t, [gatedCapability('slow').capability], { jobs: { spoolDir: dir, maxSpoolBytes: 4096 } });
  const refused = await upload(server, Buffer.alloc(8192, 1), 'document');
  t.equal(refused.status, 429);
  t.equal(refused.body.error.code, 'OVERLOADED');
  t.equal(refused.headers.get('retry-after'), '5');
  t.match(refused.body.error.message, /MAX_SPOOL_BYTES/);
  t.equal(await spooled(dir), 0);
  t.equal(await waitingJobs(server), 0);
  const small = await upload(server, makePdf(['Fits.']), 'document');
  t.equal(small.status, 202, 'a file that fits is taken');
  t.equal((await finishedJob(server, small.body.jobId)).status, 'completed');
  await untilSpooled(dir, 0);
});
