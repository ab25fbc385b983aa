import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { type CapserveError } from '../../../core/errors.js';
import { createRecognizer, loadSpeech } from '../../../models/speech/create-recognizer.js';
import { SPEECH_SAMPLE_RATE } from '../../../models/speech/types.js';
import { WhisperRecognizer } from '../../../models/speech/whisper.js';
import { whisperGgmlBytes, writeRandomWhisperModel } from '../../../scripts/speech/generate-whisper-ggml.js';

const dir = await mkdtemp(path.join(tmpdir(), 'capserve-whisper-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const spec = (model: string) => ({ backend: 'whisper', model, language: 'en', threads: 1 }) as const;

async function loadFailure(model: string): Promise<CapserveError | undefined> {
  return createRecognizer(spec(model), dir).then(
    async (recognizer) => {
      await recognizer.close();
      return undefined;
    },
    (error: unknown) => error as CapserveError,
  );
}

t.test('a missing model file fails at load naming the setting and the path as configured', async (t) => {
  const error = await loadFailure('models/ggml-base.en.bin');
  t.equal(error?.code, 'MODEL_LOAD_FAILED');
  t.equal(error?.message, 'speech backend "whisper": the model file does not exist: speech.model (models/ggml-base.en.bin)');
  t.same(error?.details, { model: 'whisper', path: 'speech.model (models/ggml-base.en.bin)' });
  t.notMatch(error?.message, dir, 'never where the file was looked for');
});

t.test('an absolute path is named by its file name only', async (t) => {
  const error = await loadFailure(path.join(dir, 'nope', 'ggml-small.bin'));
  t.match(error?.message, /: speech\.model \(…\/ggml-small\.bin\)$/);
  t.notMatch(error?.message, dir);
});

t.test('a folder where the file should be fails at load', async (t) => {
  await mkdir(path.join(dir, 'a-folder.bin'));
  t.match(await loadFailure('a-folder.bin'), { code: 'MODEL_LOAD_FAILED', message: /the model path is not a file: speech\.model \(a-folder\.bin\)/ });
});

t.test('a file that is not a ggml model fails at load without quoting it', async (t) => {
  await writeFile(path.join(dir, 'passwd.bin'), 'root:x:0:0:root:/root:/bin/bash\n');
  const error = await loadFailure('passwd.bin');
  t.equal(error?.code, 'MODEL_LOAD_FAILED');
  t.match(error?.message, /whisper\.cpp cannot load the model \(.*bad magic.*\): speech\.model \(passwd\.bin\)/);
  t.notMatch(error?.message, /root/);
});

t.test('loadSpeech reports the missing file as unavailable instead of throwing', async (t) => {
  t.match(await loadSpeech(spec('models/ggml-base.en.bin'), dir), {
    recognizer: undefined,
    code: 'MODEL_LOAD_FAILED',
    unavailable: /does not exist: speech\.model \(models\/ggml-base\.en\.bin\)/,
  });
});

t.test('a ggml model (random weights) loads through the real binding', async (t) => {
  await writeRandomWhisperModel(path.join(dir, 'models', 'whisper-random.bin'));
  const loaded = await loadSpeech({ ...spec('models/whisper-random.bin'), chunkSeconds: 20 }, dir);
  t.equal(loaded.unavailable, undefined);
  t.equal(loaded.chunkSeconds, 20);
  const recognizer = loaded.recognizer;
  if (recognizer === undefined) return;
  t.equal(recognizer.backend, 'whisper');
  t.equal(recognizer.language, 'en');
  // Silence and nothing never reach whisper.cpp (which would invent a sentence).
  t.same(await recognizer.transcribe(new Int16Array(2 * SPEECH_SAMPLE_RATE), { signal: new AbortController().signal }), []);
  t.same(await recognizer.transcribe(new Int16Array(0), { signal: new AbortController().signal }), []);
  const reason = new Error('stop');
  await t.rejects(recognizer.transcribe(new Int16Array(SPEECH_SAMPLE_RATE).fill(1000), { signal: AbortSignal.abort(reason) }), reason);
  await recognizer.close();
  await t.rejects(recognizer.transcribe(new Int16Array(10), { signal: new AbortController().signal }), { code: 'SHUTTING_DOWN' });
});

/** A 440 Hz tone, its loudness swelling and fading: audio whisper.cpp must decode (not silence). */
function tone(seconds: number): Int16Array {
  const pcm = new Int16Array(Math.round(seconds * SPEECH_SAMPLE_RATE));
  for (let i = 0; i < pcm.length; i += 1) {
    pcm[i] = Math.round(4000 * Math.sin((2 * Math.PI * 440 * i) / SPEECH_SAMPLE_RATE) * (1 + Math.sin(i / 800)));
  }
  return pcm;
}

t.test('random weights transcribe end to end through the real binding', async (t) => {
  const file = await writeRandomWhisperModel(path.join(dir, 'models', 'whisper-e2e.bin'));
  // No temperature fallback: random weights always "loop", and each retry decodes the window again.
  const recognizer = await WhisperRecognizer.open({ file, label: 'speech.model (whisper-e2e.bin)', threads: 1, temperatureIncrement: 0 });
  t.teardown(() => recognizer.close());

  await t.test('segments come back in order, inside the audio, with text', async (t) => {
    const seconds = 3;
    const segments = await recognizer.transcribe(tone(seconds), { signal: new AbortController().signal });
    t.ok(segments.length > 0, 'whisper.cpp decoded something (meaningless: the weights are random)');
    let floor = 0;
    for (const segment of segments) {
      t.ok(segment.start >= floor && segment.start <= segment.end && segment.end <= seconds, `${segment.start}–${segment.end} s`);
      t.match(segment.text, /\S/);
      t.equal(segment.text, segment.text.trim());
      floor = segment.end;
    }
  });

  await t.test('the same audio gives the same text (greedy decoding at temperature 0)', async (t) => {
    const signal = new AbortController().signal;
    t.same(await recognizer.transcribe(tone(2), { signal }), await recognizer.transcribe(tone(2), { signal }));
  });

  await t.test('an abort right after the call rejects at once with its reason; the next chunk waits for the native work and succeeds', async (t) => {
    const controller = new AbortController();
    const order: string[] = [];
    const aborted = recognizer.transcribe(tone(2), { signal: controller.signal }).then(
      () => order.push('first resolved'),
      (error: unknown) => order.push(error === controller.signal.reason ? 'first rejected with the reason' : `first rejected: ${String(error)}`),
    );
    const next = recognizer.transcribe(tone(2), { signal: new AbortController().signal }).then((segments) => {
      order.push('second resolved');
      return segments;
    });
    controller.abort(new Error('client went away'));
    await aborted;
    t.same(order, ['first rejected with the reason'], 'rejected before any native work it started could finish');
    t.ok((await next).length > 0);
    t.same(order, ['first rejected with the reason', 'second resolved']);
  });

  await t.test('nothing was left pending: a chunk after all that transcribes', async (t) => {
    t.ok((await recognizer.transcribe(tone(1), { signal: new AbortController().signal })).length > 0);
  });
});

t.test('an all-f32 model is refused at load (whisper.cpp would abort the process at its first chunk)', async (t) => {
  const file = path.join(dir, 'models', 'whisper-f32.bin');
  const bytes = whisperGgmlBytes();
  bytes.writeInt32LE(0, 44); // ftype, the eleventh hyper-parameter
  await writeFile(file, bytes);
  t.match(await loadFailure('models/whisper-f32.bin'), {
    code: 'MODEL_LOAD_FAILED',
    message: /the model is all f32 \(ftype 0\).*: speech\.model \(models\/whisper-f32\.bin\)$/,
  });
});
