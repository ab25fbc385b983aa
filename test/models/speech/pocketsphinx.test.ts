import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { type CapserveError } from '../../../core/errors.js';
import { loadSpeech } from '../../../models/speech/create-recognizer.js';
import { PocketsphinxRecognizer } from '../../../models/speech/pocketsphinx.js';
import { SPEECH_SAMPLE_RATE } from '../../../models/speech/types.js';
import { readWav16kMono } from '../../../scripts/speech/read-wav.js';
import { wordErrorRate } from '../../../scripts/speech/wer.js';
import { childProcesses } from '../../helpers/child-processes.js';
import { until, within } from '../../helpers/until.js';

/** Debian's pocketsphinx-testdata: five LibriVox sentences with their transcripts (CI installs it). */
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

function reference(id: string): string {
  const line = readFileSync(path.join(LIBRIVOX, 'transcription'), 'utf8').split('\n').find((entry) => entry.endsWith(`(${id})`));
  return (line ?? '').replace(/<\/?s>/g, '').replace(/\(.*\)$/, '').trim();
}

/** Live child processes of this test running the decoder (the kernel's name is cut to 15 characters). */
const decoderChildren = (): number[] => childProcesses().filter((child) => child.name.startsWith('pocketsphinx')).map((child) => child.pid);

const recognizer = await PocketsphinxRecognizer.open();
t.teardown(() => recognizer.close());

t.test('a LibriVox sentence: its words, with times inside the file and in order', async (t) => {
  const id = 'sense_and_sensibility_01_austen_64kb-0870';
  const pcm = await readWav16kMono(path.join(LIBRIVOX, `${id}.wav`));
  const duration = pcm.length / SPEECH_SAMPLE_RATE;
  const segments = await recognizer.transcribe(pcm, { signal: new AbortController().signal });
  t.ok(segments.length >= 1, 'at least one segment');
  const text = segments.map((segment) => segment.text).join(' ');
  t.ok(wordErrorRate(reference(id), text) < 0.5, `WER below 0.5: "${text}"`);
  t.notMatch(text, /<s>|<\/s>|<sil>|\[|\(\d\)/, 'no markers, fillers or pronunciation variants');
  let previousEnd = 0;
  for (const segment of segments) {
    t.ok(segment.start >= previousEnd && segment.end >= segment.start && segment.end <= duration, `[${segment.start}, ${segment.end}] inside [0, ${duration}] and after ${previousEnd}`);
    t.ok(segment.confidence !== undefined && segment.confidence >= 0 && segment.confidence <= 1);
    previousEnd = segment.end;
  }
  t.equal(recognizer.backend, 'pocketsphinx');
  t.equal(recognizer.language, 'en-us');
});

t.test('two sentences with a pause between them are two segments, timed from the start', async (t) => {
  const first = await readWav16kMono(path.join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0880.wav'));
  const second = await readWav16kMono(path.join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0930.wav'));
  const pause = 2 * SPEECH_SAMPLE_RATE;
  const pcm = new Int16Array(first.length + pause + second.length);
  pcm.set(first, 0);
  pcm.set(second, first.length + pause);
  const segments = await recognizer.transcribe(pcm, { signal: new AbortController().signal });
  t.equal(segments.length, 2);
  t.ok((segments[1]?.start ?? 0) > (first.length + pause) / SPEECH_SAMPLE_RATE - 0.5, 'the second starts after the pause');
  t.match(segments[1]?.text, /himself/);
});

t.test('silence and empty input give no segments', async (t) => {
  t.same(await recognizer.transcribe(new Int16Array(3 * SPEECH_SAMPLE_RATE), { signal: new AbortController().signal }), []);
  t.same(await recognizer.transcribe(new Int16Array(0), { signal: new AbortController().signal }), []);
});

t.test('aborting kills the decoder and rejects with the reason at once', async (t) => {
  const sentence = await readWav16kMono(path.join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0920.wav'));
  // About a minute of speech: many seconds of decoding, so the abort lands mid-run.
  const pcm = new Int16Array(sentence.length * 10);
  for (let i = 0; i < 10; i += 1) pcm.set(sentence, i * sentence.length);
  const controller = new AbortController();
  const running = recognizer.transcribe(pcm, { signal: controller.signal });
  const settled = running.then(
    () => 'resolved',
    (error: unknown) => error,
  );
  const [pid] = await until(() => decoderChildren().length > 0 && decoderChildren(), { what: 'the decoder process to start' });
  const reason = new Error('client went away');
  controller.abort(reason);
  t.equal(await within(settled, { what: 'the rejection', timeoutMs: 2000 }), reason);
  await until(() => decoderChildren().length === 0, { what: `decoder ${pid} to exit`, timeoutMs: 5000 });
  t.pass('no decoder left running');
  // An already aborted signal never starts one.
  await t.rejects(recognizer.transcribe(pcm, { signal: AbortSignal.abort(reason) }), reason);
});

t.test('close kills running decoders and refuses new work', async (t) => {
  const own = await PocketsphinxRecognizer.open();
  const sentence = await readWav16kMono(path.join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0920.wav'));
  const pcm = new Int16Array(sentence.length * 10);
  for (let i = 0; i < 10; i += 1) pcm.set(sentence, i * sentence.length);
  const running = own.transcribe(pcm, { signal: new AbortController().signal });
  await until(() => decoderChildren().length > 0, { what: 'the decoder process to start' });
  await own.close();
  await t.rejects(within(running, { what: 'the rejection', timeoutMs: 2000 }), { code: 'CAPABILITY_FAILED' });
  await until(() => decoderChildren().length === 0, { what: 'the decoder to exit', timeoutMs: 5000 });
  await t.rejects(own.transcribe(pcm, { signal: new AbortController().signal }), { code: 'SHUTTING_DOWN' });
});

t.test('a missing decoder fails at load, naming the packages to install', async (t) => {
  const error = await PocketsphinxRecognizer.open({ binary: '/nonexistent/pocketsphinx_continuous' }).then(
    () => undefined,
    (caught: unknown) => caught as CapserveError,
  );
  t.equal(error?.code, 'MODEL_LOAD_FAILED');
  t.match(error?.message, /not installed.*pocketsphinx pocketsphinx-en-us/);
  t.match(error?.details, { model: 'pocketsphinx', install: 'pocketsphinx pocketsphinx-en-us' });
});

t.test('a missing model folder fails at load, naming the folder', async (t) => {
  await t.rejects(PocketsphinxRecognizer.open({ modelDir: '/nonexistent/model' }), {
    code: 'MODEL_LOAD_FAILED',
    message: /acoustic model folder is missing.*\/nonexistent\/model\/en-us/,
  });
});

t.test('a decoder that cannot start fails at load with its own reason', async (t) => {
  // `false` exits 1 at once, saying nothing.
  await t.rejects(PocketsphinxRecognizer.open({ binary: 'false' }), { code: 'MODEL_LOAD_FAILED', message: /does not start: .*exit code 1/ });
});

t.test('loadSpeech never throws: an unconfigured or missing backend is unavailable with its reason', async (t) => {
  t.match(await loadSpeech(undefined, '/'), { recognizer: undefined, unavailable: /no speech backend is configured/ });
  const missing = await loadSpeech({ backend: 'pocketsphinx', language: 'en-us', binary: '/nonexistent/ps' }, '/');
  t.match(missing, { recognizer: undefined, code: 'MODEL_LOAD_FAILED', unavailable: /install the Debian packages/ });
  const loaded = await loadSpeech({ backend: 'pocketsphinx', language: 'en-us' }, '/');
  t.teardown(() => loaded.recognizer?.close());
  t.equal(loaded.recognizer?.backend, 'pocketsphinx');
  t.equal(loaded.unavailable === undefined && loaded.chunkSeconds, 30);
});
