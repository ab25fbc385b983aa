import t from 'tap';
import { type BatchReply } from '../../../batcher/types.js';
import { createJobProcessor, type JobProcessorDeps } from '../../../jobs/processors/job-processor.js';
import { type JobPayload } from '../../../jobs/types.js';

const limits = { maxImagePixels: 1000, maxPdfPages: 10, maxPdfInflatedBytes: 1024 };

/** A processor whose batcher answers `label(text)` per text and records what it saw. */
function processor(overrides: Partial<JobProcessorDeps> = {}): { run: ReturnType<typeof createJobProcessor>; seen: string[] } {
  const seen: string[] = [];
  const run = createJobProcessor({
    analyse: async (texts, capabilities) => {
      seen.push(...texts);
      return { results: texts.map((text) => Object.fromEntries(capabilities.map((name) => [name, `${name}(${text.length})`]))), failures: [], batch: {} } as unknown as BatchReply;
    },
    media: { run: () => Promise.reject(new Error('no media here')) },
    limits,
    maxJobMs: 60_000,
    chunkChars: 40,
    groupSize: 4,
    ...overrides,
  });
  return { run, seen };
}

const context = (signal = new AbortController().signal) => ({ jobId: 'j1', signal, progress: () => {} });

const upload = (bytes: Buffer, mediaType = 'text/plain'): JobPayload => ({
  kind: 'text',
  mediaType,
  capabilities: ['sentiment'],
  options: {},
  fileBase64: bytes.toString('base64'),
  fileName: 'notes.md',
});

t.test('an uploaded text file is read and analysed in chunks, not taken as empty', async (t) => {
  const text = 'The delivery was late again. Support never answered my emails.\n\nI want a refund now.';
  const { run, seen } = processor();
  const result = (await run(upload(Buffer.from(`\ufeff${text}`, 'utf8'), 'text/markdown'), context())) as Record<string, any>;
  t.equal(result.kind, 'text');
  t.ok(result.chunks >= 2, `${result.chunks} chunks`);
  t.equal(result.characters, text.length, 'the byte-order mark is not text');
  t.same(seen.join(' ').replace(/\s+/g, ' '), text.replace(/\s+/g, ' '), 'every chunk went through the batcher');
  t.ok(result.results.sentiment !== undefined, 'the capability has a merged result');
});

t.test('an uploaded file that is not UTF-8 fails with UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const { run, seen } = processor();
  const bad = Buffer.concat([Buffer.from('fine so far '), Buffer.from([0xc3, 0x28]), Buffer.from(' then broken')]);
  await t.rejects(run(upload(bad), context()), { code: 'UNSUPPORTED_MEDIA_TYPE' });
  t.same(seen, [], 'nothing reached the batcher');
});

t.test('a job past maxJobMs is aborted and fails with JOB_TIMEOUT; a cancelled one keeps its own error', async (t) => {
  let aborted: unknown;
  const media = {
    run: (_task: unknown, options: { signal?: AbortSignal } = {}) =>
      new Promise<never>((_, reject) => {
        const stop = (): void => {
          aborted = options.signal?.reason;
          reject(new Error('the worker was terminated'));
        };
        if (options.signal?.aborted) stop();
        else options.signal?.addEventListener('abort', stop);
      }),
  };
  const pdf: JobPayload = { kind: 'document', mediaType: 'application/pdf', capabilities: [], options: {}, fileBase64: Buffer.from('%PDF-1.4').toString('base64') };
  const { run } = processor({ media: media as unknown as JobProcessorDeps['media'], maxJobMs: 50 });
  await t.rejects(run(pdf, context()), { code: 'JOB_TIMEOUT', details: { limit: 'MAX_JOB_SECONDS', max: 0.05 } });
  t.match(aborted, { code: 'JOB_TIMEOUT' }, 'the media task saw the deadline as its abort reason');

  const { run: slow } = processor({ media: media as unknown as JobProcessorDeps['media'], maxJobMs: 60_000 });
  const controller = new AbortController();
  const running = slow(pdf, context(controller.signal));
  controller.abort(new Error('cancelled by the client'));
  await t.rejects(running, { message: 'the worker was terminated' });
});
