import t from 'tap';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { untilFinished } from '../helpers/job-http.js';

// About 100 estimated tokens: over MAX_INLINE_TOKENS=16, so /process queues it.
const longText = (marker: string): string => `${Array.from({ length: 40 }, (_, i) => `Sentence ${i} is here.`).join(' ')} ${marker}`;

t.test('a queued job logs each attempt with its job id and the id of the request that submitted it', async (t) => {
  const dir = await testDir(t, 'job-log');
  const config = await writeCapabilities(dir, [{ name: 'chaos', kind: 'fault-injection', params: { slowMs: 3000 } }]);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: config, MAX_INLINE_TOKENS: '16', MAX_JOB_SECONDS: '1', JOB_ATTEMPTS: '1' }, { logLevel: 'info' });

  const queued = await server.request('POST', '/process', { text: longText('calm'), capabilities: ['chaos'] }, { 'x-request-id': 'submit-1' });
  t.equal(queued.status, 202, JSON.stringify(queued.body));
  const jobId = queued.body.jobId as string;
  await untilFinished(() => server.request('GET', `/jobs/${jobId}`), `/jobs/${jobId}`, 30_000);
  const done = await server.logs.next((record) => record.msg === 'job attempt completed' && record.jobId === jobId, 'the completed attempt');
  t.match(done, { jobId, requestId: 'submit-1', queue: queued.body.route.routing.route, outcome: 'completed' });
  t.type(done.durationMs, 'number');

  const slow = await server.request('POST', '/process', { text: longText('#slow'), capabilities: ['chaos'] }, { 'x-request-id': 'submit-2' });
  const slowId = slow.body.jobId as string;
  const failed = await server.logs.next((record) => record.msg === 'job attempt failed' && record.jobId === slowId, 'the failed attempt');
  t.match(failed, { jobId: slowId, requestId: 'submit-2', outcome: 'failed', code: 'JOB_TIMEOUT' });
  t.equal(failed.level, 40, 'a failed attempt is a warning');
});
