import t, { type Test } from 'tap';
import { type JobEvent, type JobsSettings } from '../../jobs/types.js';
import { finishedJob, stillServes, uploadFile } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { makePdf } from './media/fixtures/make-media.js';
import { makeFlatePdf, pngHeader } from '../../scripts/fixtures/hostile-media.js';

const MiB = 2 ** 20;

/** A classifier-shaped fake: negative when a text complains, positive otherwise. */
const sentiment = () =>
  recordingCapability('sentiment', [], {
    results: (texts) =>
      texts.map((text) => {
        const negative = /late|refund|never/i.test(text) ? 0.9 : 0.2;
        return { label: negative > 0.5 ? 'negative' : 'positive', score: Math.max(negative, 1 - negative), scores: { negative, positive: 1 - negative } };
      }),
  });

async function start(t: Test, jobs: Partial<JobsSettings> = {}): Promise<TestServer & { sentiment: ReturnType<typeof sentiment> }> {
  const capability = sentiment();
  const server = await startTestServer(t, [capability], { jobs: { mediaWorkers: 2, ...jobs } });
  return Object.assign(server, { sentiment: capability });
}

t.test('an uploaded text file is read and its capabilities give real results (issue 13, item 4)', async (t) => {
  const server = await start(t);
  const text = Array.from({ length: 30 }, (_, i) => `Order ${i} arrived late and support never answered.`).join(' ');
  for (const name of ['t.txt', 'notes.md', 'rows.csv', 'data.json']) {
    const body = name.endsWith('.json') ? JSON.stringify({ text }) : text;
    const { status, body: reply } = await uploadFile(server, Buffer.from(body, 'utf8'), name, 'sentiment');
    t.equal(status, 202, name);
    const job = await finishedJob(server, reply.jobId);
    t.equal(job.status, 'completed', `${name}: ${JSON.stringify(job.error)}`);
    t.equal(job.result.kind, 'text');
    t.ok(job.result.chunks > 0 && job.result.characters >= text.length, `${name}: ${job.result.chunks} chunks, ${job.result.characters} characters`);
    t.match(job.result.results.sentiment, { label: 'negative', scores: { negative: Number } }, `${name}: a merged sentiment`);
  }
});

t.test('over-cap media get 413 MEDIA_TOO_LARGE at the request, before any decoding', async (t) => {
  const server = await start(t, { maxPdfPages: 50, maxPdfInflatedBytes: 16 * MiB });
  const batches = server.service.stats.snapshot().batches.total;
  const rssBefore = process.memoryUsage().rss;
  const cases: [name: string, file: Buffer, details: Record<string, unknown>][] = [
    ['huge.png', pngHeader(16_000, 16_000), { limit: 'MAX_IMAGE_PIXELS', max: 40_000_000, width: 16_000, height: 16_000 }],
    ['long.pdf', makePdf(Array.from({ length: 51 }, (_, i) => `page ${i}`)), { limit: 'MAX_PDF_PAGES', max: 50, pages: 51 }],
    ['bomb.pdf', await makeFlatePdf('boom', 256 * MiB), { limit: 'MAX_PDF_INFLATED_BYTES', max: 16 * MiB }],
  ];
  for (const [name, file, details] of cases) {
    const { status, body } = await uploadFile(server, file, name, 'ocr,document,sentiment');
    t.equal(status, 413, name);
    t.match(body.error, { code: 'MEDIA_TOO_LARGE', ...details }, name);
    t.notMatch(JSON.stringify(body), /\/tmp|\/work/, `${name}: no server path in the error`);
  }
  const grew = (process.memoryUsage().rss - rssBefore) / MiB;
  t.ok(grew < 200, `RSS grew ${grew.toFixed(0)} MiB over a 16000×16000 PNG and a 256 MiB flate bomb`);
  await stillServes(t, server, batches);
});

t.test('/health answers while the largest allowed PDF is extracted in a media worker', async (t) => {
  const pages = 2000;
  const server = await start(t, { maxPdfPages: pages });
  const pdf = makePdf(Array.from({ length: pages }, (_, i) => `Page ${i + 1}: the delivery was late and nobody answered.`));
  const { status, body } = await uploadFile(server, pdf, 'report.pdf', 'document');
  t.equal(status, 202);
  t.equal(body.route.routing.route, 'cpu_standard');

  // Wait for the worker to report a page, then ask /health while the remaining pages are read.
  const extracting = new Promise<void>((resolve) => {
    void server.jobs!.frontEnd.subscribe(body.jobId, (event: JobEvent) => {
      if (event.type === 'progress' && event.stage === 'extracting' && event.progress > 0.05) resolve();
    });
  });
  await extracting;
  const health = await server.get('/health');
  t.equal(health.status, 200);
  const during = await server.get(`/jobs/${body.jobId}`);
  t.equal(during.body.status, 'running', '/health answered while the PDF was still being read');

  const job = await finishedJob(server, body.jobId, 120_000);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  t.equal(job.result.pages, pages);
});
