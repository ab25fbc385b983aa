/**
 * A closed-loop load generator whose clients behave as a well-written client library does: on
 * 429 or 503 each waits the `Retry-After` the server sent (1 s when absent) and sends the same
 * request again. autocannon resends at once, which turns admission control into a storm of
 * refusals; these clients show what admission control is for.
 *
 * A request's latency runs from its first send to its answer, waits included: what the caller
 * of the client library sees.
 */
import http from 'node:http';
import { type BenchRequest } from './corpus.js';

export interface BackoffLoadOptions {
  readonly url: string;
  readonly path: string;
  readonly connections: number;
  readonly durationSec: number;
  readonly requests: readonly BenchRequest[];
}

export interface BackoffLoadResult {
  /** Answered (2xx) requests, with the texts they carried and their latencies (ms). */
  readonly answered: number;
  readonly texts: number;
  readonly latencies: number[];
  /** Refusals the clients waited out (429, 503). */
  readonly refused: number;
  /** Other answers and transport errors. */
  readonly failed: number;
  /** The run's length: answers after it are not counted. */
  readonly seconds: number;
}

interface Reply {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
}

export async function runBackoffLoad(options: BackoffLoadOptions): Promise<BackoffLoadResult> {
  const target = new URL(options.path, options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const bodies = options.requests.map((request) => ({ body: JSON.stringify(request), texts: request.texts.length }));
  const started = performance.now();
  const deadline = started + options.durationSec * 1000;
  const latencies: number[] = [];
  let [next, texts, refused, failed] = [0, 0, 0, 0];

  const send = (body: string): Promise<Reply> =>
    new Promise((resolve) => {
      const request = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.once('end', () => {
            const header = Number(response.headers['retry-after']);
            resolve({ status: response.statusCode ?? 0, retryAfterMs: Number.isFinite(header) ? header * 1000 : undefined });
          });
          response.once('error', () => resolve({ status: 0, retryAfterMs: undefined }));
        },
      );
      request.once('error', () => resolve({ status: 0, retryAfterMs: undefined }));
      request.end(body);
    });

  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const chosen = bodies[next++ % bodies.length];
      if (chosen === undefined) return;
      const first = performance.now();
      for (;;) {
        const reply = await send(chosen.body);
        const now = performance.now();
        if (reply.status >= 200 && reply.status < 300) {
          // Only answers within the run count, as autocannon counts them.
          if (now <= deadline) {
            latencies.push(now - first);
            texts += chosen.texts;
          }
          break;
        }
        if (reply.status !== 429 && reply.status !== 503) {
          failed += 1;
          break;
        }
        refused += 1;
        const wait = reply.retryAfterMs ?? 1000;
        if (now + wait >= deadline) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };

  await Promise.all(Array.from({ length: options.connections }, client));
  agent.destroy();
  return { answered: latencies.length, texts, latencies, refused, failed, seconds: options.durationSec };
}
