import t, { type Test } from 'tap';
import { type Capability } from '../../capabilities/types.js';
import { makeBmp, makePdf, makeWav, skipWithoutFfmpeg } from '../jobs/media/fixtures/make-media.js';
import { finishedJob, gatedCapability, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { renderText } from '../helpers/render-text.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';


const start = (t: Test, capabilities: readonly Capability[] = [recordingCapability('classification')]): Promise<TestServer> =>
  startTestServer(t, capabilities, { jobs: {} });


async function upload(server: TestServer, file: Buffer, fields: Record<string, string>, name = 'upload.bin'): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([file]), name);
  const response = await fetch(`${server.url}/process`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

t.test('small text runs inline through the batcher and answers 200 with its route', async (t) => {
  const server = await start(t);
  const { status, body } = await server.post('/process', { text: 'short and sweet', capabilities: ['classification'] });
  t.equal(status, 200);
  t.same(body.results, [{ classification: 'classification(short and sweet)' }]);
  t.equal(body.route.routing.route, 'inline');
  t.equal(body.route.routing.worker, 'batcher');
  t.equal(body.route.complexity.level, 'low');
  t.type(body.batch.id, 'number');

  const metrics = await server.get('/metrics');
  t.match(metrics.text, /capserve_process_jobs_total\{route="inline"\} 1\n/);
  t.match(metrics.text, /capserve_job_queue_jobs\{queue="cpu_standard",state="waiting"\} 0\n/);
});

t.test('text over MAX_INLINE_TOKENS is queued (202), chunked through the batcher, and merged', async (t) => {
  const classification = recordingCapability('classification');
  const server = await start(t, [classification]);
  const response = await fetch(`${server.url}/process`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: longText, capabilities: ['classification'] }),
  });
  const body = (await response.json()) as Record<string, any>;
  t.equal(response.status, 202);
  t.equal(response.headers.get('location'), `/jobs/${body.jobId}`);
  // No GPU here: the text capabilities prefer one, so the job takes the gpu_fallback queue and says why.
  t.equal(body.route.routing.route, 'gpu_fallback');
  t.match(body.route.routing.fallback, /no GPU/);
  t.ok(body.route.routing.confidence > 0 && body.route.routing.confidence <= 1);

  const job = await finishedJob(server, body.jobId);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal(job.progress, 1);
  t.equal(job.result.kind, 'text');
  t.ok(job.result.chunks > 1, `${job.result.chunks} chunks`);
  const chunks = classification.executions.flatMap((execution) => execution.texts);
  t.equal(chunks.length, job.result.chunks, 'every chunk went through the capability once');
  t.equal(chunks.join(' ').replace(/\s+/g, ' '), longText, 'the chunks cover the text in order');
  t.equal(job.result.results.classification.length, job.result.chunks, 'strings merge as the list of chunk results');
});

t.test('bad /process requests get 4xx codes', async (t) => {
  const server = await start(t);
  const cases: [unknown, number, string][] = [
    [{ capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
    [{ text: '', capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
    [{ text: 'x', capabilities: ['classification'], extra: 1 }, 400, 'VALIDATION_ERROR'],
    [{ text: 'x', capabilities: ['nope'] }, 400, 'UNKNOWN_CAPABILITY'],
    [{ text: 'x', capabilities: ['classification', 'classification'] }, 400, 'DUPLICATE_CAPABILITY'],
    [{ text: 'x', capabilities: ['classification'], priority: 'urgent' }, 400, 'VALIDATION_ERROR'],
  ];
  for (const [body, status, code] of cases) {
    const reply = await server.post('/process', body);
    t.equal(reply.status, status, JSON.stringify(body));
    t.equal(reply.body.error.code, code, JSON.stringify(body));
  }
  const unknown = await server.post('/process', { text: 'x', capabilities: ['nope'] });
  t.same(unknown.body.error.valid, ['classification', 'document', 'metadata', 'ocr', 'transcribe']);

  const bytes = await upload(server, Buffer.from([0x00, 0x13, 0x37, 0x42, 0x99, 0xff, 0x00, 0x01]), { capabilities: 'classification' });
  t.equal(bytes.status, 415, 'unknown bytes are refused by their content');
  t.equal(bytes.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');

  const huge = await upload(server, Buffer.alloc(3 * 1024 * 1024, 0x41), { capabilities: 'classification' });
  t.equal(huge.status, 413, 'over MAX_UPLOAD_BYTES');
  t.equal(huge.body.error.code, 'PAYLOAD_TOO_LARGE');

  const empty = await upload(server, Buffer.alloc(0), { capabilities: 'classification' });
  t.equal(empty.status, 400);
  t.equal(empty.body.error.code, 'VALIDATION_ERROR');

  const missing = await server.get('/jobs/no-such-job');
  t.equal(missing.status, 404);
  t.equal(missing.body.error.code, 'JOB_NOT_FOUND');

  t.equal((await server.post('/process', { text: 'still serving', capabilities: ['classification'] })).status, 200);
});

t.test('an image is read with PaddleOCR on the queue, then the text capabilities run over its text', async (t) => {
  const classification = recordingCapability('classification');
  const server = await start(t, [classification]);
  const image = await renderText(700, 160, [{ text: 'INVOICE 2024', x: 40, y: 100, size: 64 }]);
  const { status, body } = await upload(server, image, { capabilities: 'ocr,classification' }, 'scan.png');
  t.equal(status, 202);
  // OCR is CPU work, but the text capability after it prefers a GPU, and there is none here.
  t.equal(body.route.routing.route, 'gpu_fallback');
  t.ok(body.route.resources.classes.includes('gpu_preferred'), body.route.resources.classes.join());
  const job = await finishedJob(server, body.jobId);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal(job.result.kind, 'image');
  t.same([job.result.ocr.width, job.result.ocr.height], [700, 160]);
  t.match(job.result.ocr.text.replace(/\s+/g, '').toLowerCase(), /invoice2024/);
  t.same(classification.executions.flatMap((e) => e.texts), [job.result.ocr.text], 'the OCR text went through the batcher');

  // A BMP is an image by its bytes, but sharp cannot decode it: a permanent UNSUPPORTED_MEDIA.
  const bmp = await upload(server, makeBmp(40, 30), { capabilities: 'ocr' }, 'scan.bmp');
  t.equal(bmp.status, 202);
  const failed = await finishedJob(server, bmp.body.jobId);
  t.equal(failed.status, 'failed');
  t.equal(failed.error.code, 'UNSUPPORTED_MEDIA');
  t.match(failed.error.message, /image\/bmp cannot be read for OCR/);
});

t.test('a PDF is read page by page, then analysed', async (t) => {
  const server = await start(t);
  const pdf = makePdf(['The first page talks about refunds.', 'The second page is about delivery.']);
  const { status, body } = await upload(server, pdf, { capabilities: '["document","classification"]' }, 'report.pdf');
  t.equal(status, 202);
  const job = await finishedJob(server, body.jobId);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal(job.result.kind, 'document');
  t.equal(job.result.pages, 2);
  t.match(job.result.text, /refunds[\s\S]*delivery/);
  t.ok(job.result.results.classification !== undefined);
});

t.test('audio gets its ffprobe metadata; transcription fails with UNSUPPORTED_MEDIA naming what is missing', async (t) => {
  const skip = await skipWithoutFfmpeg();
  if (skip !== false) {
    t.comment(`skipped: ${skip}`);
    return;
  }
  const server = await start(t);
  const wav = makeWav({ seconds: 2 });

  const meta = await upload(server, wav, { capabilities: 'metadata' }, 'call.wav');
  t.equal(meta.status, 202);
  const metaJob = await finishedJob(server, meta.body.jobId);
  t.equal(metaJob.status, 'completed', JSON.stringify(metaJob.error));
  t.equal(metaJob.result.kind, 'audio');
  t.ok(Math.abs(metaJob.result.metadata.durationSec - 2) < 0.05, `duration ${metaJob.result.metadata.durationSec}`);

  const transcribe = await upload(server, wav, { capabilities: 'classification' }, 'call.wav');
  t.equal(transcribe.status, 202, 'classified and routed first');
  const failed = await finishedJob(server, transcribe.body.jobId);
  t.equal(failed.status, 'failed');
  t.equal(failed.error.code, 'UNSUPPORTED_MEDIA');
  t.match(failed.error.message, /speech-to-text model/);
  t.equal(failed.attempts, 1, 'a permanent error is not retried');
});

t.test('DELETE /jobs/:id cancels a queued job; a finished one answers 409', async (t) => {
  const { capability: slow, release } = gatedCapability('slow');
  const server = await startTestServer(t, [slow], { jobs: { queueConcurrency: 1 } });
  const first = await server.post('/process', { text: longText, capabilities: ['slow'] });
  const second = await server.post('/process', { text: `${longText} Again.`, capabilities: ['slow'] });
  t.same([first.status, second.status], [202, 202]);

  const cancel = await fetch(`${server.url}/jobs/${second.body.jobId}`, { method: 'DELETE' });
  t.equal(cancel.status, 200);
  t.equal(((await cancel.json()) as Record<string, any>).status, 'cancelled');
  release();
  t.equal((await finishedJob(server, first.body.jobId)).status, 'completed');
  t.equal((await finishedJob(server, second.body.jobId)).status, 'cancelled');

  const again = await fetch(`${server.url}/jobs/${first.body.jobId}`, { method: 'DELETE' });
  t.equal(again.status, 409);
  t.equal(((await again.json()) as Record<string, any>).error.code, 'JOB_FINISHED');
});
