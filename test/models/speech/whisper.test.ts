import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { type CapserveError } from '../../../core/errors.js';
import { createRecognizer, loadSpeech } from '../../../models/speech/create-recognizer.js';
import { SPEECH_SAMPLE_RATE } from '../../../models/speech/types.js';
import { writeRandomWhisperModel } from '../../../scripts/speech/generate-whisper-ggml.js';

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
