/**
 * `npm run bench:summary`: the default server (capabilities/default.json, or CAPABILITIES_CONFIG)
 * in its own process; a 20-page PDF of prose posted to `/process` with `summary`, and what it cost
 * in `/stats` (batches, capability executions, sentences embedded) and wall time; then texts per
 * second of `summary`, `entities` and `language` through `/classify` over a fixed corpus.
 * Prints one JSON object; the figures go to bench/RESULTS-capabilities.md.
 */
import { makeProsePdf, proseParagraphs } from '../fixtures/prose-pdf.js';
import { type BenchServer, startBenchServer } from './bench-server.js';

const pages = Number(process.env.SUMMARY_BENCH_PAGES ?? 20);
const seconds = Number(process.env.SUMMARY_BENCH_SECONDS ?? 10);
/** Requests in flight at once in the throughput loop, so that they share batches. */
const concurrency = 2;
const textsPerRequest = 8;

async function post(server: BenchServer, route: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(server.url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function summariseDocument(server: BenchServer): Promise<Record<string, unknown>> {
  const pdf = makeProsePdf(proseParagraphs(pages));
  const before = await server.getJson('/stats');
  const started = performance.now();
  const form = new FormData();
  form.append('capabilities', 'summary');
  form.append('file', new Blob([pdf]), 'report.pdf');
  const accepted = (await (await fetch(`${server.url}/process`, { method: 'POST', body: form })).json()) as { jobId?: string };
  if (accepted.jobId === undefined) throw new Error(`/process did not queue the PDF: ${JSON.stringify(accepted)}`);
  let job: Record<string, any>;
  for (;;) {
    job = await server.getJson(`/jobs/${accepted.jobId}`);
    if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const wallMs = performance.now() - started;
  if (job.status !== 'completed') throw new Error(`the job ${job.status}: ${JSON.stringify(job.error)}`);
  const after = await server.getJson('/stats');
  const text = job.result.text as string;
  const summary = job.result.results.summary as { sentences: { text: string; start: number; end: number }[] };
  const delta = (read: (stats: Record<string, any>) => number | undefined): number => (read(after) ?? 0) - (read(before) ?? 0);
  return {
    pages: job.result.pages,
    characters: text.length,
    chunks: job.result.chunks,
    batches: delta((s) => s.batches.total),
    executions: delta((s) => s.executions.actual),
    embeddingExecutions: delta((s) => s.capabilities.embedding?.executions),
    summaryExecutions: delta((s) => s.capabilities.summary?.executions),
    sentencesEmbedded: delta((s) => s.capabilities.embedding?.texts),
    wallMs: Math.round(wallMs),
    offsetsExact: summary.sentences.every((s) => text.slice(s.start, s.end) === s.text),
    summary: summary.sentences.map((s) => s.text.replace(/\s+/g, ' ')),
  };
}

/**
 * Texts per second of one capability: `concurrency` loops of /classify requests for `seconds`.
 * A request refused by admission control (429) waits as it is told and counts as refused.
 */
async function throughput(server: BenchServer, capability: string, corpus: readonly string[]): Promise<{ textsPerSecond: number; refused: number }> {
  const deadline = performance.now() + seconds * 1000;
  let texts = 0;
  let refused = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const batch = Array.from({ length: textsPerRequest }, () => corpus[next++ % corpus.length] as string);
        const reply = await post(server, '/classify', { texts: batch, capabilities: [capability] });
        if (reply.status === 429) {
          refused += 1;
          await new Promise((resolve) => setTimeout(resolve, 1000 * Number(reply.body.error?.retryAfterSeconds ?? 1)));
          continue;
        }
        if (reply.status !== 200) throw new Error(`${capability}: ${reply.status} ${JSON.stringify(reply.body)}`);
        texts += batch.length;
      }
    }),
  );
  return { textsPerSecond: Math.round((texts / ((performance.now() - started) / 1000)) * 10) / 10, refused };
}

const server = await startBenchServer('server/main.ts', process.env.CAPABILITIES_CONFIG === undefined ? {} : { CAPABILITIES_CONFIG: process.env.CAPABILITIES_CONFIG });
try {
  const document = await summariseDocument(server);
  // Distinct paragraphs of 3–7 sentences (a counter keeps each text distinct, so no two requests share a result).
  const corpus = proseParagraphs(40, { seed: 11 })
    .flat()
    .map((paragraph, i) => `${paragraph} Paragraph ${i} ends here.`);
  const rates: Record<string, { textsPerSecond: number; refused: number }> = {};
  for (const capability of ['summary', 'entities', 'language']) rates[capability] = await throughput(server, capability, corpus);
  const meanCharacters = Math.round(corpus.reduce((n, text) => n + text.length, 0) / corpus.length);
  console.log(JSON.stringify({ document, textsPerSecond: rates, corpus: { texts: corpus.length, meanCharacters }, concurrency, textsPerRequest, seconds }, null, 2));
} finally {
  await server.stop();
}
