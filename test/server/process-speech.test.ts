import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { type JobEvent } from '../../jobs/types.js';
import { PocketsphinxRecognizer } from '../../models/speech/pocketsphinx.js';
import { alive, childProcesses } from '../helpers/child-processes.js';
import { finishedJob, stillServes, uploadFile } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { until, within } from '../helpers/until.js';
import { makeWav } from '../jobs/media/fixtures/make-media.js';
import { ffmpegTo, skipWithoutSpeechTools, spokenFiles, tempDir, truncated } from '../jobs/media/fixtures/make-speech.js';

const MiB = 2 ** 20;
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

/** A classifier-shaped fake: negative when a text complains, positive otherwise. */
const sentiment = () =>
  recordingCapability('sentiment', [], {
    results: (texts) => texts.map((text) => ({ label: /late|refund|never|want/i.test(text) ? 'negative' : 'positive', score: 0.9, scores: {} })),
  });

async function start(t: Test, chunkSeconds = 30): Promise<TestServer & { sentiment: ReturnType<typeof sentiment> }> {
  const capability = sentiment();
  const recognizer = await PocketsphinxRecognizer.open();
  const server = await startTestServer(t, [capability], { jobs: { mediaWorkers: 1 }, speech: { recognizer, chunkSeconds }, maxUploadBytes: 8 * MiB });
  return Object.assign(server, { sentiment: capability });
}

/** Resolves with the job's events once it has one matching `stop`. */
function eventsUntil(server: TestServer, jobId: string, stop: (event: JobEvent) => boolean): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  return new Promise((resolve) => {
    void server.jobs!.frontEnd.subscribe(jobId, (event) => {
      events.push(event);
      if (stop(event)) resolve(events);
    });
  });
}

const skip = await skipWithoutSpeechTools();
if (skip !== false) {
  t.comment(`skipped: ${skip}`);
} else {
  t.test('spoken WAV and MP3 are transcribed through /process, with progress; transcribe + sentiment gives both', async (t) => {
    const server = await start(t);
    const dir = await tempDir(t);
    const files = await spokenFiles(dir);
    for (const name of ['wav', 'mp3'] as const) {
      const { status, body } = await uploadFile(server, await readFile(files[name]), `said.${name}`, 'transcribe');
      t.equal(status, 202, name);
      t.equal(body.route.routing.route, 'cpu_standard', `${name}: speech runs on the CPU queue`);
      t.same(body.route.resources.classes, ['cpu_intensive'], `${name}: cpu_intensive, no GPU asked for`);
      t.equal(body.route.routing.worker, 'test:cpu_standard', `${name}: a worker that lists transcribe`);
      const events = eventsUntil(server, body.jobId, (event) => event.type !== 'progress');
      const job = await finishedJob(server, body.jobId);
      t.equal(job.status, 'completed', JSON.stringify(job.error));
      t.equal(job.result.kind, 'audio');
      t.match(job.result.transcript, { backend: 'pocketsphinx', language: 'en-us', chunks: 1 });
      t.ok(job.result.transcript.segments.length > 0, `${name}: "${job.result.transcript.text}"`);
      for (const segment of job.result.transcript.segments) t.ok(segment.start >= 0 && segment.end <= job.result.metadata.durationSec + 0.1, `${segment.start}–${segment.end} s`);
      t.ok((await events).some((event) => event.type === 'progress' && event.stage === 'transcribing'), `${name}: progress while transcribing`);
    }
    const { status, body } = await uploadFile(server, await readFile(files.ogg), 'said.ogg', 'transcribe,sentiment');
    t.equal(status, 202);
    t.same(body.route.resources.classes, ['cpu_intensive', 'gpu_preferred']);
    const job = await finishedJob(server, body.jobId);
    t.equal(job.status, 'completed', JSON.stringify(job.error));
    t.ok(job.result.transcript.text.length > 0);
    t.ok(job.result.results.sentiment !== undefined, `sentiment of the transcript: ${JSON.stringify(job.result.results)}`);
    t.same(server.sentiment.executions.flatMap((execution) => execution.texts), [job.result.transcript.text], 'the transcript went through the batcher');
    // Metadata alone still reads no samples.
    const meta = await uploadFile(server, await readFile(files.wav), 'said.wav', 'metadata');
    const metaJob = await finishedJob(server, meta.body.jobId);
    t.same(Object.keys(metaJob.result).sort(), ['kind', 'metadata']);
  });

  t.test('cancelling mid-way stops ffmpeg and the decoder; the job ends cancelled', async (t) => {
    const server = await start(t, 5);
    const dir = await tempDir(t);
    const inputs = ['0870', '0880', '0890', '0920', '0930'].flatMap((id) => ['-i', path.join(LIBRIVOX, `sense_and_sensibility_01_austen_64kb-${id}.wav`)]);
    const file = await ffmpegTo(dir, 'long.wav', [...inputs, '-filter_complex', '[0][1][2][3][4]concat=n=5:v=0:a=1', '-ar', '16000']);
    const { status, body } = await uploadFile(server, await readFile(file), 'long.wav', 'transcribe');
    t.equal(status, 202);
    const cancelled = eventsUntil(server, body.jobId, (event) => event.type !== 'progress');
    await eventsUntil(server, body.jobId, (event) => event.type === 'progress' && event.stage === 'transcribing' && event.progress > 0.05);
    // One chunk is done; the next is with the decoder. No event says when it has spawned, so the table is polled.
    const children = await until(() => childProcesses().some((child) => child.name.startsWith('pocketsphinx')) && childProcesses(), {
      what: 'ffmpeg and the decoder to be running',
    });
    t.ok(children.some((child) => child.name === 'ffmpeg'), `children: ${children.map((child) => child.name).join(', ')}`);
    const response = await fetch(`${server.url}/jobs/${body.jobId}`, { method: 'DELETE' });
    t.equal(response.status, 200);
    const events = await within(cancelled, { what: 'the cancelled event' });
    t.equal(events.at(-1)?.type, 'cancelled');
    await until(() => children.every((child) => !alive(child.pid)), { what: 'ffmpeg and the decoder to exit', timeoutMs: 3000 });
    t.pass('no child of the job remains');
    t.equal((await server.get(`/jobs/${body.jobId}`)).body.status, 'cancelled');
    const after = await server.post('/process', { text: 'all good here', capabilities: ['sentiment'] });
    t.equal(after.status, 200, 'a normal request is answered afterwards');
  });

  t.test('bad audio gets a coded error or a defined result, and the server serves on', async (t) => {
    const server = await start(t);
    const dir = await tempDir(t);
    const batches = server.service.stats.snapshot().batches.total;
    const files = await spokenFiles(dir);

    // Silence: a completed job with no segments (and the text capability sees no text).
    const silent = await uploadFile(server, makeWav({ seconds: 3, sampleRate: 16_000 }), 'quiet.wav', 'transcribe,sentiment');
    const silentJob = await finishedJob(server, silent.body.jobId);
    t.equal(silentJob.status, 'completed', JSON.stringify(silentJob.error));
    t.same(silentJob.result.transcript.segments, []);
    t.same(silentJob.result.results, {}, 'no transcript text, no analysis');

    // Refused at the request, before any job: corrupt bytes behind an audio header or name, and a zero-length file.
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
    const refused: [name: string, file: Buffer, fileName: string][] = [
      ['a RIFF/WAVE header over garbage', Buffer.concat([Buffer.from('RIFF\x00\x10\x00\x00WAVE', 'latin1'), garbage]), 'call.wav'],
      ['an ID3 tag over garbage', Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), garbage]), 'call.mp3'],
      ['binary garbage named .mp3', garbage, 'call.mp3'],
    ];
    for (const [name, file, fileName] of refused) {
      const reply = await uploadFile(server, file, fileName, 'transcribe');
      if (reply.status === 202) {
        const job = await finishedJob(server, reply.body.jobId);
        t.match(job, { status: 'failed', error: { code: 'MEDIA_DECODE_FAILED' } }, `${name}: the job fails with a code`);
      } else {
        t.match(reply, { status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } }, `${name}: ${reply.status} ${reply.body.error?.message}`);
      }
    }
    const empty = await uploadFile(server, Buffer.alloc(0), 'call.wav', 'transcribe');
    t.match(empty, { status: 400, body: { error: { code: 'VALIDATION_ERROR' } } }, `a zero-length file: ${empty.body.error?.message}`);

    // A WAV header with no samples: the job fails with MEDIA_DECODE_FAILED, not retried.
    const header = await uploadFile(server, makeWav({ seconds: 0, sampleRate: 16_000 }), 'header.wav', 'transcribe');
    if (header.status === 202) {
      const job = await finishedJob(server, header.body.jobId);
      t.equal(job.status, 'failed');
      t.equal(job.error.code, 'MEDIA_DECODE_FAILED');
    } else {
      t.equal(header.body.error.code, 'UNSUPPORTED_MEDIA_TYPE', 'or refused at the request');
    }

    // Truncated MP3 and WAV: the part there is transcribed and marked truncated.
    const cutMp3 = await uploadFile(server, await readFile(await truncated(files.mp3, dir, 'cut.mp3', 12_000)), 'cut.mp3', 'transcribe');
    t.equal(cutMp3.status, 202);
    const cutJob = await finishedJob(server, cutMp3.body.jobId);
    t.equal(cutJob.status, 'completed', JSON.stringify(cutJob.error));
    t.ok(cutJob.result.transcript.truncated !== undefined, `truncated MP3: ${JSON.stringify(cutJob.result.transcript.truncated)}`);
    const wavBytes = await readFile(files.wav);
    const cutWav = await uploadFile(server, wavBytes.subarray(0, Math.floor(wavBytes.length / 2)), 'cut.wav', 'transcribe');
    t.equal(cutWav.status, 202);
    const cutWavJob = await finishedJob(server, cutWav.body.jobId);
    t.equal(cutWavJob.status, 'completed', JSON.stringify(cutWavJob.error));
    t.ok(cutWavJob.result.transcript.durationSec < 3.5, `half a WAV: ${cutWavJob.result.transcript.durationSec} s decoded`);

    // A video without an audio stream: an empty transcript that says why.
    const mute = await uploadFile(server, await readFile(await ffmpegTo(dir, 'mute.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-t', '1'])), 'mute.mp4', 'transcribe');
    const muteJob = await finishedJob(server, mute.body.jobId);
    t.equal(muteJob.status, 'completed', JSON.stringify(muteJob.error));
    t.match(muteJob.result, { kind: 'video', transcript: { text: '', segments: [], reason: 'no_audio' } });

    await stillServes(t, server, batches);
  });

  t.test('a 3-hour file is accepted, planned very_high, chunked, progresses, and is cancelled within bounded memory', async (t) => {
    const server = await start(t);
    const dir = await tempDir(t);
    // One minute of Opus copied 180 times: three hours in 3 MB, made in about a second.
    const minute = await ffmpegTo(dir, 'minute.ogg', ['-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '60', '-c:a', 'libopus', '-b:a', '6k', '-frame_duration', '60']);
    const list = path.join(dir, 'list.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(list, Array.from({ length: 180 }, () => `file '${minute}'`).join('\n')));
    const long = await ffmpegTo(dir, 'three-hours.ogg', ['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy']);
    const rssBefore = process.memoryUsage().rss;
    const { status, body } = await uploadFile(server, await readFile(long), 'three-hours.ogg', 'transcribe');
    t.equal(status, 202);
    t.equal(body.route.complexity.level, 'very_high');
    t.ok(body.route.complexity.estimatedMs > 3 * 3600 * 500, `estimated ${body.route.complexity.estimatedMs} ms`);
    t.match(body.route.routing.reason, /audio of 108\d\d(\.\d+)? s/);
    const progress: number[] = [];
    const ended = eventsUntil(server, body.jobId, (event) => event.type !== 'progress');
    await eventsUntil(server, body.jobId, (event) => {
      if (event.type === 'progress' && event.stage === 'transcribing' && event.progress > 0.05) progress.push(event.progress);
      return progress.length >= 2;
    });
    t.ok(progress[1]! > progress[0]!, `progress ${progress.join(', ')} after two 30-second chunks`);
    t.ok(progress[1]! < 0.06, 'two chunks of three hours');
    const grew = (process.memoryUsage().rss - rssBefore) / MiB;
    t.ok(grew < 150, `RSS grew ${grew.toFixed(0)} MiB while three hours were being decoded`);
    t.equal((await fetch(`${server.url}/jobs/${body.jobId}`, { method: 'DELETE' })).status, 200);
    t.equal((await within(ended, { what: 'the cancelled event' })).at(-1)?.type, 'cancelled');
    await until(() => !childProcesses().some((child) => child.name === 'ffmpeg' || child.name.startsWith('pocketsphinx')), {
      what: 'no ffmpeg or decoder left',
      timeoutMs: 3000,
    });
    t.pass('nothing left running');
  });
}
