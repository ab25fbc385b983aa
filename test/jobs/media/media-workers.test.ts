import t from 'tap';
import { MediaWorkers } from '../../../jobs/media/media-workers.js';
import { makePdf } from './fixtures/make-media.js';
import { makeFlatePdf, pngHeader } from '../../../scripts/fixtures/hostile-media.js';

const MiB = 2 ** 20;
const pages = Array.from({ length: 40 }, (_, i) => `Page ${i + 1} of the long report`);

t.test('PDF pages and text are read in a worker thread, with progress per page', async (t) => {
  const pool = new MediaWorkers({ size: 2, heapMb: 256, device: 'cpu' });
  t.teardown(() => pool.close());
  const pdf = makePdf(pages);
  t.same(await pool.run({ type: 'pdf-info', bytes: pdf, maxInflatedBytes: MiB }), { pages: 40 });
  const progress: number[] = [];
  const text = await pool.run({ type: 'pdf-text', bytes: pdf, maxPages: 40, maxInflatedBytes: MiB }, { onProgress: (f) => progress.push(f) });
  t.same(text, { pages });
  t.equal(progress.length, 40);
  t.equal(progress.at(-1), 1);
  t.equal(pool.threads, 1, 'the idle thread took the second task');
});

t.test('limits are checked in the thread too, before decoding: pages, inflated bytes, pixels', async (t) => {
  const pool = new MediaWorkers({ size: 1, heapMb: 256, device: 'cpu' });
  t.teardown(() => pool.close());
  await t.rejects(pool.run({ type: 'pdf-text', bytes: makePdf(pages), maxPages: 10, maxInflatedBytes: MiB }), {
    code: 'MEDIA_TOO_LARGE',
    details: { limit: 'MAX_PDF_PAGES', pages: 40 },
  });
  await t.rejects(pool.run({ type: 'pdf-info', bytes: await makeFlatePdf('x', 32 * MiB), maxInflatedBytes: 4 * MiB }), {
    code: 'MEDIA_TOO_LARGE',
    details: { limit: 'MAX_PDF_INFLATED_BYTES' },
  });
  // 16000 × 16000 would take 0.8 GB to decode; the header alone refuses it, and no OCR model loads.
  await t.rejects(pool.run({ type: 'ocr', bytes: pngHeader(16_000, 16_000), mediaType: 'image/png', maxPixels: 40_000_000 }), {
    code: 'MEDIA_TOO_LARGE',
    details: { limit: 'MAX_IMAGE_PIXELS', width: 16_000, height: 16_000 },
  });
  t.equal(pool.threads, 1, 'a coded failure keeps the thread');
  t.same(await pool.run({ type: 'pdf-info', bytes: makePdf(['ok']), maxInflatedBytes: MiB }), { pages: 1 });
});

t.test('an aborted task ends its thread: JOB_TIMEOUT for a timeout, the next task gets a new thread', async (t) => {
  const pool = new MediaWorkers({ size: 1, heapMb: 256, device: 'cpu' });
  t.teardown(() => pool.close());
  const long = makePdf(Array.from({ length: 3000 }, (_, i) => `page ${i}`));
  const controller = new AbortController();
  const running = pool.run(
    { type: 'pdf-text', bytes: long, maxPages: 3000, maxInflatedBytes: MiB },
    // Stopped on its first page, deep in the work: the thread is terminated mid-task.
    { signal: controller.signal, onProgress: () => controller.abort(new DOMException('deadline', 'TimeoutError')) },
  );
  // A second task waits for the only thread, then gets a fresh one.
  const next = pool.run({ type: 'pdf-info', bytes: makePdf(['after']), maxInflatedBytes: MiB });
  await t.rejects(running, { code: 'JOB_TIMEOUT' });
  t.same(await next, { pages: 1 });
  t.equal(pool.threads, 1);

  const cancelled = new AbortController();
  cancelled.abort();
  await t.rejects(pool.run({ type: 'pdf-info', bytes: makePdf(['x']), maxInflatedBytes: MiB }, { signal: cancelled.signal }), { code: 'REQUEST_CANCELLED' });
});

t.test('close fails waiting tasks with SHUTTING_DOWN and refuses new ones', async (t) => {
  const pool = new MediaWorkers({ size: 1, heapMb: 256, device: 'cpu' });
  await pool.run({ type: 'pdf-info', bytes: makePdf(['warm']), maxInflatedBytes: MiB });
  await pool.close();
  await t.rejects(pool.run({ type: 'pdf-info', bytes: makePdf(['x']), maxInflatedBytes: MiB }), { code: 'SHUTTING_DOWN' });
  t.equal(pool.threads, 0);
});
