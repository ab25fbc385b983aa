/**
 * The load generator, run as its own process so it does not share the server's event loop:
 *
 *   tsx scripts/bench/load.ts '{"url":"http://127.0.0.1:8080","connections":64,"durationSec":8,"seed":1}'
 *
 * Prints one JSON line: requests answered, errors, latency percentiles (exact, from every
 * 2xx response), requests/s and texts/s (2xx only), refusals (429, 503) and other failures.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { runBackoffLoad } from './backoff-load.js';
import { type BenchRequest, makeRequests } from './corpus.js';
import { type Protocol, wireRequests } from './protocol-requests.js';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationSec: number;
  readonly seed: number;
  /** Requests per second over all connections; absent: as fast as the server answers. */
  readonly overallRate?: number;
  /** Use these instead of the generated mix (e.g. one tiny text for the overhead run). */
  readonly requests?: readonly BenchRequest[];
  readonly path?: string;
  /** A JSON file of requests, read by the load process (a long list does not fit its argument). Wins over `requests`. */
  readonly requestsFile?: string;
  /** Routes the requests take, round-robin (scripts/bench/protocol-requests.ts); wins over `path`. @default ["classify"] */
  readonly protocols?: readonly Protocol[];
  /**
   * Clients that wait out 429/503 for the Retry-After the server sends and then resend
   * ({@link runBackoffLoad}); latency then includes the waits. Without it, autocannon's clients
   * resend at once. Not with `overallRate`.
   */
  readonly backoff?: boolean;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  /** 429 and 503 answers: admission control and rate limits. */
  readonly refused: number;
  readonly durationSec: number;
  readonly requestsPerSec: number;
  readonly textsPerSec: number;
  readonly meanTextsPerRequest: number;
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p95: number; readonly p99: number };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.backoff === true) return backoffLoad(options);
  const bodies = wireRequests(requestsOf(options), options.protocols ?? ['classify']);
  let next = 0;
  let textsSent = 0;
  let sent = 0;
  const latencies: number[] = [];
  let refused = 0;
  let failed = 0;
  let finish!: (result: autocannon.Result) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon({
    url: options.url + (options.path ?? '/classify'),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.durationSec,
    // At 256 clients on two cores a request can wait many seconds; only a stuck server should time out.
    timeout: 120,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    requests: [
      {
        setupRequest: (request) => {
          const body = bodies[next++ % bodies.length] ?? bodies[0];
          textsSent += body?.texts ?? 0;
          sent += 1;
          return { ...request, ...(options.protocols === undefined ? {} : { path: body?.path }), body: body?.body ?? '{}' };
        },
      },
    ],
  }, (error, result) => (error ? fail(error) : finish(result)));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    // Texts/s and latency are of answered requests only: a quick 429 (admission control) is
    // neither throughput nor a latency the client waited for results; it counts as refused.
    if (statusCode === 429 || statusCode === 503) refused += 1;
    else if (statusCode < 200 || statusCode >= 300) failed += 1;
    else latencies.push(responseTime);
  });
  const result = await done;
  return summarise(latencies, sent === 0 ? 0 : textsSent / sent, result.duration, { errors: result.errors + result.timeouts + failed, refused });
}

async function backoffLoad(options: LoadOptions): Promise<LoadResult> {
  const requests = requestsOf(options);
  const result = await runBackoffLoad({ ...options, path: options.path ?? '/classify', requests });
  return summarise(result.latencies, result.answered === 0 ? 0 : result.texts / result.answered, result.seconds, {
    errors: result.failed,
    refused: result.refused,
  });
}

function requestsOf(options: LoadOptions): readonly BenchRequest[] {
  if (options.requestsFile !== undefined) return JSON.parse(readFileSync(options.requestsFile, 'utf8')) as BenchRequest[];
  return options.requests ?? makeRequests(4000, options.seed);
}

/** The figures of a run from the latencies (ms) of its answered requests. */
function summarise(latencies: number[], meanTexts: number, seconds: number, counts: { errors: number; refused: number }): LoadResult {
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN);
  return {
    requests: latencies.length,
    ...counts,
    durationSec: round(seconds),
    requestsPerSec: round(latencies.length / seconds),
    textsPerSec: round((latencies.length * meanTexts) / seconds),
    meanTextsPerRequest: round(meanTexts),
    latencyMs: { mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)), p50: at(50), p95: at(95), p99: at(99) },
  };
}

const round = (value: number): number => Math.round(value * 100) / 100;

// load.ts from source, load.js compiled (the GPU bundle).
if (/load\.[jt]s$/.test(process.argv[1] ?? '')) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  runLoad(options).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`load failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
