import { type Capability } from '../../capabilities/types.js';
import { type Test } from 'tap';
import { type TestServer } from './test-server.js';
import { until } from './until.js';

/** About 560 estimated tokens of text: over the test servers' MAX_INLINE_TOKENS of 64, so it is queued. */
export const longText = Array.from({ length: 80 }, (_, i) => `Sentence number ${i} is here.`).join(' ');

/** Polls `GET /jobs/:id` until the job has finished (completed, failed or cancelled). */
export async function finishedJob(server: TestServer, id: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  return untilFinished(() => server.get(`/jobs/${id}`), `/jobs/${id}`, timeoutMs);
}

/** Reads a job with `read` until its `status` is completed, failed or cancelled; throws on a non-200 or at `timeoutMs`. */
export async function untilFinished(read: () => Promise<{ status: number; body: any }>, route: string, timeoutMs: number): Promise<Record<string, any>> {
  let last: unknown;
  return until(
    async () => {
      const { status, body } = await read();
      if (status !== 200) throw new Error(`GET ${route} answered ${status}: ${JSON.stringify(body)}`);
      last = body.status;
      return ['completed', 'failed', 'cancelled'].includes(body.status) ? (body as Record<string, any>) : undefined;
    },
    { what: () => `${route} to finish (still ${String(last)})`, timeoutMs, intervalMs: 20 },
  );
}

/** A capability whose runs wait until `release()`: keeps a queue's only slot busy. */
export function gatedCapability(name: string): { capability: Capability<unknown>; release: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    capability: {
      name,
      dependsOn: [],
      async run(texts) {
        await gate;
        return texts.map(() => 'ok');
      },
    },
  };
}

/** Posts `file` to `/process` as multipart, with its `capabilities` field. */
export async function uploadFile(server: TestServer, file: Buffer, name: string, capabilities: string): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('capabilities', capabilities);
  form.append('file', new Blob([file]), name);
  const response = await fetch(`${server.url}/process`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

/** Nothing reached the batcher since `batchesBefore` batches, and the server still answers a normal `sentiment` job. */
export async function stillServes(t: Test, server: TestServer, batchesBefore: number): Promise<void> {
  t.equal(server.service.stats.snapshot().batches.total, batchesBefore, 'nothing reached the batcher');
  const ok = await server.post('/process', { text: 'all good here', capabilities: ['sentiment'] });
  t.equal(ok.status, 200, 'a normal request is answered afterwards');
}
