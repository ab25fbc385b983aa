import { sleep } from './children.js';

/*
 * How a well-behaved client treats capserve behind a load balancer, which the scale test holds
 * the deployment to:
 * - 429 (OVERLOADED, RATE_LIMITED) and 503 (a replica stopping, none ready) say "not done, try
 *   again": the client waits Retry-After (or a short pause without one) and sends the same request
 *   again, up to MAX_ATTEMPTS times. Safe for /process too: a 429 or 503 job was never accepted.
 * - A connection closed with no answer, or a 502 from the balancer (the replica died holding the
 *   request: HAProxy closes the client's connection when it cannot tell whether the replica got
 *   it), is a dropped attempt. /classify is idempotent, so its client sends it again, as RFC 9110
 *   §9.2.2 allows; a /process job is not, so its client cannot know whether the job was accepted
 *   and the request is lost. Dropped attempts are counted either way: they are what a dead
 *   replica held.
 * - Anything else that is not 2xx (a 500, a 4xx, no answer within ATTEMPT_TIMEOUT_MS) is lost.
 */
const MAX_ATTEMPTS = 8;
const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRY_PAUSE_MS = { fallback: 100, min: 50, max: 2000 };
const retryable = new Set([429, 503]);
const dropped = new Set(['502', 'UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** Counts of a stretch of load. */
export interface LoadCounts {
  /** Requests begun (one per request, however many attempts it took). */
  sent: number;
  /** Requests that ended 2xx, after retries or not. */
  answered: number;
  /** Requests that ended otherwise: the lost ones. */
  lost: number;
  /** Attempts answered 429 or 503, or dropped and sent again. */
  retries: number;
  /** Attempts whose connection closed with no answer, or answered 502 by the balancer. */
  dropped: number;
  /** Every attempt's outcome: an HTTP status, or a connection error's code. */
  outcomes: Record<string, number>;
  /** Milliseconds from the first attempt to the 2xx, of each answered request. */
  latenciesMs: number[];
}

export const emptyCounts = (): LoadCounts => ({ sent: 0, answered: 0, lost: 0, retries: 0, dropped: 0, outcomes: {}, latenciesMs: [] });

/** What happened to `later` since `earlier` (a copy of the same counts taken before). */
export function countsSince(earlier: LoadCounts, later: LoadCounts): LoadCounts {
  const outcomes: Record<string, number> = {};
  for (const [key, value] of Object.entries(later.outcomes)) {
    const delta = value - (earlier.outcomes[key] ?? 0);
    if (delta > 0) outcomes[key] = delta;
  }
  return {
    sent: later.sent - earlier.sent,
    answered: later.answered - earlier.answered,
    lost: later.lost - earlier.lost,
    retries: later.retries - earlier.retries,
    dropped: later.dropped - earlier.dropped,
    outcomes,
    latenciesMs: later.latenciesMs.slice(earlier.latenciesMs.length),
  };
}

export const copyCounts = (counts: LoadCounts): LoadCounts => ({ ...counts, outcomes: { ...counts.outcomes }, latenciesMs: [...counts.latenciesMs] });

/** One lost request or dropped attempt: when it ended and why. */
export interface Loss {
  readonly at: number;
  readonly outcome: string;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** Where a request's lost requests and dropped attempts are recorded. */
export interface Tally {
  readonly counts: LoadCounts;
  readonly losses: Loss[];
  readonly drops: Loss[];
}

export const emptyTally = (): Tally => ({ counts: emptyCounts(), losses: [], drops: [] });

/**
 * Sends one request with the retry policy above (`idempotent`: whether a dropped attempt may be
 * sent again); resolves with the 2xx answer, or undefined when it was lost.
 */
async function send(url: string, init: RequestInit, tally: Tally, idempotent: boolean): Promise<Answer | undefined> {
  const { counts, losses, drops } = tally;
  const started = Date.now();
  counts.sent += 1;
  let outcome = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    let pauseMs = RETRY_PAUSE_MS.fallback;
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
      const body: unknown = await response.json().catch(() => undefined);
      outcome = String(response.status);
      counts.outcomes[outcome] = (counts.outcomes[outcome] ?? 0) + 1;
      if (response.ok) {
        counts.answered += 1;
        counts.latenciesMs.push(Date.now() - started);
        return { status: response.status, body };
      }
      if (dropped.has(outcome)) {
        counts.dropped += 1;
        drops.push({ at: Date.now(), outcome });
        if (!idempotent) break;
      } else if (!retryable.has(response.status)) break;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) pauseMs = Math.min(RETRY_PAUSE_MS.max, Math.max(RETRY_PAUSE_MS.min, retryAfter * 1000));
    } catch (error) {
      outcome = connectionError(error);
      counts.outcomes[outcome] = (counts.outcomes[outcome] ?? 0) + 1;
      if (!dropped.has(outcome)) break;
      counts.dropped += 1;
      drops.push({ at: Date.now(), outcome });
      if (!idempotent) break;
    }
    if (attempt < MAX_ATTEMPTS) {
      counts.retries += 1;
      await sleep(pauseMs);
    }
  }
  counts.lost += 1;
  losses.push({ at: Date.now(), outcome });
  return undefined;
}

/** `ECONNRESET`, `ECONNREFUSED`, `timeout`, … from a failed fetch. */
function connectionError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.name : 'error');
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const sentences = ['the parcel came late', 'great service, thank you', 'the app crashes on start', 'refund my order please', 'a happy customer'];

/**
 * `clients` concurrent closed-loop clients sending /classify to `url`: each sends its next request
 * as soon as the last one ended. One request in `heldEvery` asks the `held` capability with a
 * `#slow` text, so a replica always holds requests in flight when it is stopped.
 */
export class ClassifyLoad {
  readonly tally = emptyTally();
  #running = false;
  #clients: Promise<void>[] = [];

  constructor(
    readonly url: string,
    readonly clients: number,
    readonly heldEvery = 5,
  ) {}

  start(): void {
    this.#running = true;
    this.#clients = Array.from({ length: this.clients }, (_, client) => this.#client(client));
  }

  /** Stops sending and waits for the requests under way to end. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#clients);
  }

  async #client(client: number): Promise<void> {
    for (let n = client; this.#running; n += 1) {
      const sentence = sentences[n % sentences.length] ?? '';
      const body = n % this.heldEvery === 0 ? { texts: [`${sentence} #slow`], capabilities: ['held'] } : { texts: [sentence, `${sentence} ${n}`], capabilities: ['sentiment'] };
      await send(`${this.url}/classify`, json(body), this.tally, true);
    }
  }
}

/** A `/process` text long enough (over the replicas' MAX_INLINE_TOKENS) to be queued for a worker. */
export const queuedText = (marker = ''): string => `${Array.from({ length: 12 }, (_, i) => `${sentences[i % sentences.length]} number ${i}.`).join(' ')}${marker}`;

/** Submits one `/process` job through `url`; its id when accepted (202), undefined when lost or answered inline. */
export async function submitJob(url: string, body: unknown, tally: Tally): Promise<string | undefined> {
  const answer = await send(`${url}/process`, json(body), tally, false);
  const jobId = (answer?.body as { jobId?: unknown } | undefined)?.jobId;
  return answer?.status === 202 && typeof jobId === 'string' ? jobId : undefined;
}

/** A job's end as `GET /jobs/:id` reports it; `unfinished` when it did not end by the deadline. */
export type JobEnd = 'completed' | 'failed' | 'cancelled' | 'unfinished';

/** Reads `GET /jobs/:id` through `url` until the job ends or `timeoutMs` passes; a failed read is read again (GET is safe to repeat). */
export async function jobEnd(url: string, jobId: string, timeoutMs: number): Promise<JobEnd> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`${url}/jobs/${jobId}`, { signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) }).then(
      async (response) => (response.ok ? ((await response.json()) as { status?: string }).status : undefined),
      () => undefined,
    );
    if (status === 'completed' || status === 'failed' || status === 'cancelled') return status;
    await sleep(50);
  }
  return 'unfinished';
}

/** A trickle of `/process` jobs through `url`, one every `intervalMs`, each followed to its end. */
export class JobTrickle {
  readonly tally = emptyTally();
  readonly ends: Record<JobEnd, number> = { completed: 0, failed: 0, cancelled: 0, unfinished: 0 };
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  readonly #followed: Promise<void>[] = [];

  constructor(
    readonly url: string,
    readonly intervalMs: number,
  ) {}

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const submitted = submitJob(this.url, { text: queuedText(), capabilities: ['sentiment'] }, this.tally);
        this.#followed.push(
          submitted.then(async (jobId) => {
            if (jobId !== undefined) this.ends[await jobEnd(this.url, jobId, 30_000)] += 1;
          }),
        );
        await sleep(this.intervalMs);
      }
    })();
  }

  /** Stops submitting and waits until every accepted job has ended (or its 30 s are up). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all(this.#followed);
  }
}
