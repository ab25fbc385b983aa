import { connect } from 'node:net';
import { makeFlatePdf, pngHeader } from './fixtures/hostile-media.js';

/** What one hostile try came to: the answer the server owed, or `lost` when it never came. */
export type HostileOutcome = { readonly kind: string; readonly answered: boolean; readonly status: string };

/** The cases of issue 13 a hostile client keeps trying during the soak. */
export const hostileKinds = ['huge-image', 'pdf-bomb', 'text-upload', 'slow-headers'] as const;
export type HostileKind = (typeof hostileKinds)[number];

export interface HostileFiles {
  readonly hugeImage: Buffer;
  readonly pdfBomb: Buffer;
}

/** Built once: a 16000×16000 PNG header and a one-page PDF inflating to `bombBytes`. */
export async function hostileFiles(bombBytes: number): Promise<HostileFiles> {
  return { hugeImage: pngHeader(16_000, 16_000), pdfBomb: await makeFlatePdf('bomb', bombBytes) };
}

async function upload(url: string, name: string, bytes: Buffer, capabilities: string): Promise<{ status: number; body: { jobId?: string; error?: { code?: string } } }> {
  const form = new FormData();
  form.append('capabilities', capabilities);
  form.append('file', new Blob([bytes]), name);
  const response = await fetch(`${url}/process`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as { jobId?: string; error?: { code?: string } } };
}

/** Polls a job until it finishes (or `timeoutMs`); its final status, or undefined. */
async function finished(url: string, jobId: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const job = (await (await fetch(`${url}/jobs/${jobId}`)).json()) as { status?: string; error?: { code?: string } };
    if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return job.status === 'failed' ? `failed ${job.error?.code}` : job.status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/**
 * A connection that sends half its headers and then nothing: the server must close it within
 * `headersTimeoutMs` (plus its check interval); one still open after `waitMs` is lost.
 */
function slowHeaders(url: string, waitMs: number): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.write('POST /classify HTTP/1.1\r\nHost: x\r\n'));
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString()));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(`closed${reply.startsWith('HTTP/1.1 ') ? ` ${reply.slice(9, 12)}` : ''}`);
    });
    socket.once('error', () => {});
  });
}

/** One hostile try of `kind`, and what the server answered. */
export async function hostileTry(url: string, kind: HostileKind, files: HostileFiles, slowWaitMs: number): Promise<HostileOutcome> {
  switch (kind) {
    case 'huge-image': {
      const { status, body } = await upload(url, 'huge.png', files.hugeImage, 'ocr');
      return { kind, answered: true, status: `${status} ${body.error?.code ?? ''}`.trim() };
    }
    case 'pdf-bomb': {
      const { status, body } = await upload(url, 'bomb.pdf', files.pdfBomb, 'document,text-stats');
      return { kind, answered: true, status: `${status} ${body.error?.code ?? ''}`.trim() };
    }
    case 'text-upload': {
      const { status, body } = await upload(url, 'notes.txt', Buffer.from('The parcel is late.\nRefunds take too long.\n'), 'text-stats');
      if (status !== 202 || body.jobId === undefined) return { kind, answered: true, status: `${status} ${body.error?.code ?? ''}`.trim() };
      const final = await finished(url, body.jobId, 30_000);
      return { kind, answered: final !== undefined, status: `202 then ${final ?? 'never finished'}` };
    }
    case 'slow-headers': {
      const closed = await slowHeaders(url, slowWaitMs);
      return { kind, answered: closed !== undefined, status: closed ?? 'still open' };
    }
  }
}
