import t from 'tap';
import { type BatchReply } from '../../../batcher/types.js';
import { createJobProcessor } from '../../../jobs/processors/job-processor.js';
import { type JobPayload, type JobsSpeech } from '../../../jobs/types.js';
import { makeWav } from '../media/fixtures/make-media.js';
import { skipWithoutSpeechTools } from '../media/fixtures/make-speech.js';

/** A processor whose batcher records the texts it saw; `speech` as given. */
function processor(speech?: JobsSpeech) {
  const seen: string[] = [];
  const run = createJobProcessor({
    analyse: async (texts, capabilities) => {
      seen.push(...texts);
      return { results: texts.map(() => Object.fromEntries(capabilities.map((name) => [name, 'ok']))), failures: [], batch: {} } as unknown as BatchReply;
    },
    media: { run: () => Promise.reject(new Error('no media here')) },
    limits: { maxImagePixels: 1000, maxPdfPages: 10, maxPdfInflatedBytes: 1024 },
    maxJobMs: 60_000,
    chunkChars: 400,
    groupSize: 4,
    ...(speech === undefined ? {} : { speech }),
  });
  return { run, seen };
}

const context = () => ({ jobId: 'j1', signal: new AbortController().signal, progress: () => {} });
const wav = (capabilities: string[], options: Record<string, unknown> = {}): JobPayload => ({
  kind: 'audio',
  mediaType: 'audio/wav',
  capabilities,
  options,
  fileBase64: makeWav({ seconds: 1, sampleRate: 16_000 }).toString('base64'),
});

const skip = await skipWithoutSpeechTools();
if (skip !== false) t.comment(`skipped: ${skip}`);
else {
  t.test('without a recognizer, transcription is UNSUPPORTED_MEDIA naming the reason; metadata alone still works', async (t) => {
    const none = processor({ unavailable: 'speech backend "pocketsphinx": the acoustic model folder is missing' });
    for (const payload of [wav(['transcribe']), wav(['sentiment']), wav(['metadata'], { transcribe: true })]) {
      await t.rejects(none.run(payload, context()), {
        code: 'UNSUPPORTED_MEDIA',
        message: /transcription is unavailable: speech backend "pocketsphinx": the acoustic model folder is missing/,
        details: { missing: 'speech-to-text model', reason: /acoustic model/, metadata: { hasAudio: true } },
      });
    }
    await t.rejects(processor().run(wav(['transcribe']), context()), { code: 'UNSUPPORTED_MEDIA', message: /no speech-to-text model is configured/ });
    t.match(await processor().run(wav(['metadata']), context()), { kind: 'audio', metadata: { hasAudio: true } });
    t.same(none.seen, [], 'nothing reached the batcher');
  });

  t.test('ocr or document on audio are refused by name', async (t) => {
    await t.rejects(processor().run(wav(['ocr']), context()), { code: 'UNSUPPORTED_MEDIA', details: { refused: ['ocr'] } });
  });

  t.test('a recognizer: the transcript, then the text capabilities over it', async (t) => {
    const recognizer = {
      backend: 'fake',
      language: 'en',
      close: async () => {},
      transcribe: async (pcm: Int16Array) => [{ start: 0.1, end: pcm.length / 16_000, text: ' hello there ' }],
    };
    const { run, seen } = processor({ recognizer, chunkSeconds: 30 });
    const result = (await run(wav(['transcribe', 'sentiment']), context())) as Record<string, any>;
    t.match(result, { kind: 'audio', transcript: { text: 'hello there', segments: [{ start: 0.1, end: 1, text: 'hello there' }], chunks: 1, backend: 'fake' } });
    t.same(result.results, { sentiment: 'ok' });
    t.same(seen, ['hello there']);
  });
}
