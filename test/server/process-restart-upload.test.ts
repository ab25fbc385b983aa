import { readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { openStore } from '../../store/open-store.js';
import { testDir } from '../helpers/full-server.js';
import { finishedJob, gatedCapability } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

t.test("an uploaded file's job cut short by a stop is taken over, with its file, by the next server on the same store", async (t) => {
  const dir = await testDir(t, 'upload-restart');
  const spoolDir = path.join(dir, 'spool');
  const store = await openStore({ sqlitePath: path.join(dir, 'capserve.db') });
  t.teardown(() => store.close());

  // The first server accepts the upload, starts it, and stops before the capability answers.
  const { capability: stuck } = gatedCapability('shout');
  const first = await startTestServer(t, [stuck], { jobs: { spoolDir }, jobsJournal: store });
  const form = new FormData();
  form.append('capabilities', 'shout');
  form.append('file', new Blob(['Refunds take too long.\nThe parcel never came.\n']), 't.txt');
  const accepted = await fetch(`${first.url}/process`, { method: 'POST', body: form });
  t.equal(accepted.status, 202);
  const { jobId } = (await accepted.json()) as { jobId: string };
  await until(async () => (await first.get(`/jobs/${jobId}`)).body.status === 'running', { what: 'the job to run' });
  await first.jobs?.close(0);
  t.equal((await readdir(spoolDir)).length, 1, 'the file stays for the job the store keeps');

  // The next server takes the job from the store, runs it on the file, then deletes the file.
  const shout = recordingCapability('shout', [], { results: (texts) => texts.map((text) => text.toUpperCase()) });
  const second = await startTestServer(t, [shout], { jobs: { spoolDir }, jobsJournal: store });
  const done = await finishedJob(second, jobId);
  t.equal(done.status, 'completed', JSON.stringify(done.error));
  t.match(JSON.stringify(done.result), /REFUNDS TAKE TOO LONG/, "the resumed job read the uploaded file's text");
  await until(async () => (await readdir(spoolDir)).length === 0, { what: 'the file to be deleted once the job completed' });
});
