import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { writeRandomWhisperModel } from '../../scripts/speech/generate-whisper-ggml.js';
import { type FullServer, startFullServer, testDir } from '../helpers/full-server.js';
import { untilFinished } from '../helpers/job-http.js';
import { levels } from '../helpers/log-records.js';
import { until } from '../helpers/until.js';
import { makeWav } from '../jobs/media/fixtures/make-media.js';
import { skipWithoutSpeechTools } from '../jobs/media/fixtures/make-speech.js';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const said = (id: string) => path.join(LIBRIVOX, `sense_and_sensibility_01_austen_64kb-${id}.wav`);
const stats = { name: 'stats', kind: 'text-stats' };
const language = { name: 'language', kind: 'language-id' };

/** Writes the capabilities file: `capabilities`, and the `speech` section when given. */
function writer(file: string) {
  return (speech: unknown, capabilities: unknown[] = [stats]) => writeFile(file, JSON.stringify({ models: [], capabilities, ...(speech === undefined ? {} : { speech }) }));
}

async function upload(server: FullServer, file: string, capabilities = 'transcribe'): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('capabilities', capabilities);
  form.append('file', new Blob([await readFile(file)]), path.basename(file));
  const response = await fetch(`${server.url}/process`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

const finished = (server: FullServer, id: string) => untilFinished(() => server.request('GET', `/jobs/${id}`), `/jobs/${id}`, 60_000);
const names = async (server: FullServer) => ((await server.request('GET', '/capabilities')).body.capabilities as { name: string }[]).map((c) => c.name).sort();

const skip = await skipWithoutSpeechTools();
if (skip !== false) {
  t.comment(`skipped: ${skip}`);
} else {
  t.test('a reload follows the speech section: kept when unchanged, a broken backend rejected, swapped under a running job, removed, restored', async (t) => {
    const dir = await testDir(t, 'speech-reload');
    const file = path.join(dir, 'capabilities.json');
    const write = writer(file);
    await write({ backend: 'pocketsphinx', chunkSeconds: 2 });
    await writeRandomWhisperModel(path.join(dir, 'models', 'whisper-random.bin'));
    const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, SQLITE_PATH: ':memory:', MODEL_REPOSITORY: dir, WORKER_ID: 'here' }, { logLevel: 'debug' });
    const holder = server.server.speech;
    const pocketsphinx = holder.current().recognizer;
    t.equal(pocketsphinx?.backend, 'pocketsphinx');

    // The same section, written out differently, while the capabilities change: the backend stays.
    await write({ backend: 'pocketsphinx', language: 'en-us', modelDir: '/usr/share/pocketsphinx/model/en-us', chunkSeconds: 2 }, [stats, language]);
    const kept = await server.request('POST', '/admin/reload', {});
    t.equal(kept.status, 200, JSON.stringify(kept.body));
    t.same(kept.body, { capabilities: ['language', 'stats'], speech: { change: 'none', backend: 'pocketsphinx', language: 'en-us' } });
    t.equal(holder.current().recognizer, pocketsphinx, 'an unchanged section does not load the backend again');
    t.equal(server.logs.withMessage('speech backend unchanged: kept').length, 1);

    // A broken whisper path: rejected whole (the capabilities change with it does not happen), pocketsphinx stays.
    await write({ backend: 'whisper', model: 'models/missing.bin' });
    const broken = await server.request('POST', '/admin/reload', {});
    t.match(broken, { status: 422, body: { error: { code: 'RELOAD_REJECTED', message: /speech backend did not load; the running configuration stays: .*does not exist: speech\.model \(models\/missing\.bin\)/ } } });
    t.notMatch(broken.body.error.message, dir, 'no absolute path in the answer');
    t.match(server.logs.withMessage('speech backend did not load: reload rejected'), [{ level: levels.warn, err: { code: 'MODEL_LOAD_FAILED' } }]);
    t.same(await names(server), ['language', 'stats'], 'the capabilities stayed too');
    t.equal(holder.current().recognizer, pocketsphinx);

    // A long transcription on pocketsphinx, then whisper swapped in while it runs.
    // Seven seconds in chunks of two: four decoder runs of about a second each.
    const running = await upload(server, said('0870'));
    t.equal(running.status, 202, JSON.stringify(running.body));
    t.equal(running.body.route.routing.worker, 'here:cpu_standard', 'routed to this process, which lists transcribe');
    await until(
      async () => {
        const job = (await server.request('GET', `/jobs/${running.body.jobId}`)).body;
        return job.status === 'running' && job.progress > 0.06;
      },
      { what: 'the first chunks to be transcribed', intervalMs: 20 },
    );
    await write({ backend: 'whisper', model: 'models/whisper-random.bin', threads: 1 });
    const swapped = await server.request('POST', '/admin/reload', {});
    t.same(swapped.body, { capabilities: ['stats'], speech: { change: 'loaded', backend: 'whisper', language: 'en' } });
    t.equal(holder.current().recognizer?.backend, 'whisper', 'new transcriptions take whisper');
    t.equal((await server.request('GET', `/jobs/${running.body.jobId}`)).body.status, 'running', 'the long job was still running at the swap');
    t.same(holder.uses(), [0, 1], 'and holds pocketsphinx, which is not closed under it');
    const done = await finished(server, running.body.jobId);
    t.equal(done.status, 'completed', JSON.stringify(done.error));
    t.match(done.result.transcript, { backend: 'pocketsphinx', language: 'en-us' }, 'finished on the recognizer it started on');
    t.ok(done.result.transcript.chunks > 2, `${done.result.transcript.chunks} chunks`);
    await until(() => holder.uses().length === 1, { what: 'pocketsphinx to be closed after its last job' });

    // Silence, which whisper answers without running its (random-weight, slow to loop) model.
    const quiet = path.join(dir, 'quiet.wav');
    await writeFile(quiet, makeWav({ seconds: 2, sampleRate: 16_000 }));
    const onWhisper = await upload(server, quiet);
    const whisperJob = await finished(server, onWhisper.body.jobId);
    t.equal(whisperJob.status, 'completed', JSON.stringify(whisperJob.error));
    t.match(whisperJob.result.transcript, { backend: 'whisper', language: 'en', segments: [] }, 'a new job runs on whisper');

    const short = said('0880');

    // No speech section: transcription becomes unavailable, with the coded error; nothing is routed to this process for it.
    await write(undefined);
    const removed = await server.request('POST', '/admin/reload', {});
    t.match(removed.body, { capabilities: ['stats'], speech: { change: 'removed', unavailable: /no speech backend is configured/ } });
    t.match(server.logs.withMessage('speech section removed: transcription unavailable once running ones finish'), [{ level: levels.info }]);
    const refused = await upload(server, short);
    t.equal(refused.status, 202);
    t.equal(refused.body.route.routing.worker, null, 'no worker lists transcribe now');
    const refusedJob = await finished(server, refused.body.jobId);
    t.match(refusedJob, { status: 'failed', attempts: 1, error: { code: 'UNSUPPORTED_MEDIA', message: /transcription is unavailable: no speech backend is configured/ } });
    const batches = (await server.request('GET', '/stats')).body.batches.total;
    const metadata = await finished(server, (await upload(server, short, 'metadata')).body.jobId);
    t.equal(metadata.status, 'completed', 'metadata alone still works');
    t.equal((await server.request('GET', '/stats')).body.batches.total, batches, 'nothing reached the batcher');
    t.equal((await server.request('POST', '/classify', { texts: ['still here'], capabilities: ['stats'] })).status, 200, 'a normal request is answered');

    // Back to pocketsphinx: works again.
    await write({ backend: 'pocketsphinx' });
    const restored = await server.request('POST', '/admin/reload', {});
    t.same(restored.body, { capabilities: ['stats'], speech: { change: 'loaded', backend: 'pocketsphinx', language: 'en-us' } });
    const again = await upload(server, short);
    t.equal(again.body.route.routing.worker, 'here:cpu_standard');
    const againJob = await finished(server, again.body.jobId);
    t.equal(againJob.status, 'completed', JSON.stringify(againJob.error));
    t.match(againJob.result.transcript, { backend: 'pocketsphinx' });
    t.ok(againJob.result.transcript.text.length > 0, `"${againJob.result.transcript.text}"`);
    t.equal(server.logs.withMessage('speech backend reloaded: new transcriptions use it, running ones finish on the old').length, 2, 'whisper, then pocketsphinx');
  });

  t.test('a backend that did not load at start may stay unavailable on a reload, and loads once its file is in place', async (t) => {
    const dir = await testDir(t, 'speech-reload-broken');
    const file = path.join(dir, 'capabilities.json');
    const write = writer(file);
    await write({ backend: 'whisper', model: 'models/a.bin' });
    const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, SQLITE_PATH: ':memory:', MODEL_REPOSITORY: dir, CAPABILITIES_WATCH: '1' }, { logLevel: 'info' });
    t.match(server.server.speech.current(), { code: 'MODEL_LOAD_FAILED', unavailable: /speech\.model \(models\/a\.bin\)/ });

    // Through the file watch this time: another broken path is no loss, so the reload goes through.
    await write({ backend: 'whisper', model: 'models/b.bin' });
    const stillDown = await server.logs.next((r) => r.msg === 'capabilities file changed: reloaded', 'the reload after the change');
    t.match(stillDown.speech, { change: 'unavailable', unavailable: /speech\.model \(models\/b\.bin\)/ });
    t.match(server.logs.withMessage('speech backend still does not load: transcription stays unavailable'), [{ level: levels.warn }]);

    // The same section again, with its file now in place: a backend that failed is tried again.
    await writeRandomWhisperModel(path.join(dir, 'models', 'b.bin'));
    const fixed = await server.request('POST', '/admin/reload', {});
    t.same(fixed.body, { capabilities: ['stats'], speech: { change: 'loaded', backend: 'whisper', language: 'en' } });
    t.equal(server.server.speech.current().recognizer?.backend, 'whisper');
  });
}
