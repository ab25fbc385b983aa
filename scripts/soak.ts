/**
 * A bounded soak on loopback: starts capserve with cheap and fault-injecting capabilities and, for
 * --seconds (default 60), drives HTTP and WebSocket load with random client disconnects, tiny
 * deadlines, malformed bodies and injected capability faults. Prints requests sent, answered,
 * abandoned by the client on purpose, and lost (sent, not abandoned, never answered: must be 0),
 * with the server's RSS at start and end. Exits 1 if anything was lost or the server died.
 * Hostile clients (--hostile, default 2) mix in the cases of issue 13 (scripts/soak-hostile.ts):
 * a 16000×16000 PNG, a PDF flate bomb, an uploaded text file followed to its end, and
 * connections that send half their headers and stall.
 *
 *   npm run soak -- [--seconds 60] [--http 16] [--ws 4] [--hostile 2]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { projectRoot } from '../core/project-root.js';
import { startBenchServer } from './bench/bench-server.js';
import { seededRandom } from '../capabilities/math/seeded-random.js';
import { rssMiB } from './bench/proc-stats.js';
import { type HostileFiles, hostileFiles, hostileKinds, hostileTry } from './soak-hostile.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, http: { type: 'string', default: '16' }, ws: { type: 'string', default: '4' }, hostile: { type: 'string', default: '2' } },
});
/** The soak server's header timeout and PDF inflation cap, small so that hostile tries finish quickly. */
const HEADERS_TIMEOUT_MS = 2000;
const INFLATED_CAP_BYTES = 16 * 2 ** 20;
const seconds = Number(values.seconds);
const random = seededRandom(42);
const counts = { sent: 0, answered: 0, abandoned: 0, lost: 0, byStatus: new Map<string, number>() };
const note = (key: string): void => void counts.byStatus.set(key, (counts.byStatus.get(key) ?? 0) + 1);

const words = ['fine', 'text', 'delivery', 'late', 'great', 'refund'];
const text = (): string => {
  const roll = random();
  const marker = roll < 0.05 ? ' #fail' : roll < 0.08 ? ' #slow' : roll < 0.09 ? ' #hang' : roll < 0.1 ? ' #short' : '';
  return `${Array.from({ length: 3 + Math.floor(random() * 8) }, () => words[Math.floor(random() * words.length)]).join(' ')}${marker}`;
};
const body = (): { json: string; valid: boolean } => {
  const roll = random();
  if (roll < 0.05) return { json: '{"texts": [', valid: false };
  if (roll < 0.08) return { json: JSON.stringify({ texts: [''], capabilities: ['chaos'] }), valid: false };
  const request: Record<string, unknown> = {
    texts: Array.from({ length: 1 + Math.floor(random() * 4) }, text),
    capabilities: random() < 0.5 ? ['chaos', 'text-stats'] : ['text-stats', 'language'],
  };
  if (random() < 0.05) request.timeoutMs = 1 + Math.floor(random() * 20);
  return { json: JSON.stringify(request), valid: true };
};

async function httpClient(url: string, until: number): Promise<void> {
  while (Date.now() < until) {
    const { json } = body();
    const controller = new AbortController();
    const disconnect = random() < 0.1;
    if (disconnect) setTimeout(() => controller.abort(), Math.floor(random() * 30));
    counts.sent += 1;
    try {
      const response = await fetch(`${url}/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: controller.signal });
      await response.text();
      counts.answered += 1;
      note(String(response.status));
    } catch (error) {
      if (controller.signal.aborted) counts.abandoned += 1;
      else {
        counts.lost += 1;
        note(`error: ${(error as Error).message}`);
      }
    }
  }
}

async function wsClient(url: string, until: number): Promise<void> {
  while (Date.now() < until) {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const pending = new Set<number>();
    let next = 0;
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; type: string };
      if (message.id !== undefined && (message.type === 'done' || message.type === 'error') && pending.delete(message.id)) {
        counts.answered += 1;
        note(`ws ${message.type}`);
      }
    });
    // A burst of requests, then either wait for every answer or drop the socket mid-flight.
    for (let i = 0; i < 5 + Math.floor(random() * 10); i += 1) {
      const { json, valid } = body();
      const id = next++;
      pending.add(id);
      counts.sent += 1;
      socket.send(valid ? JSON.stringify({ id, ...(JSON.parse(json) as object) }) : JSON.stringify({ id, texts: 'not an array' }));
    }
    if (random() < 0.3) {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 20)));
      counts.abandoned += pending.size;
      pending.clear();
      socket.terminate();
      continue;
    }
    const deadline = Date.now() + 10_000;
    while (pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    counts.lost += pending.size;
    socket.close();
  }
}

async function hostileClient(url: string, until: number, files: HostileFiles): Promise<void> {
  while (Date.now() < until) {
    const kind = hostileKinds[Math.floor(random() * hostileKinds.length)] ?? 'text-upload';
    counts.sent += 1;
    const outcome = await hostileTry(url, kind, files, HEADERS_TIMEOUT_MS + 3000).catch((error: unknown) => ({ kind, answered: false, status: `error: ${(error as Error).message}` }));
    if (outcome.answered) counts.answered += 1;
    else counts.lost += 1;
    note(`${outcome.kind} ${outcome.status}`);
  }
}

async function main(): Promise<void> {
  const dir = path.join(projectRoot(), 'bench', 'out');
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, 'soak.json');
  await writeFile(
    config,
    JSON.stringify({
      models: [],
      capabilities: [
        { name: 'chaos', kind: 'fault-injection', params: { slowMs: 100 } },
        { name: 'text-stats', kind: 'text-stats' },
        { name: 'language', kind: 'language-id' },
      ],
    }),
  );
  const files = await hostileFiles(4 * INFLATED_CAP_BYTES);
  const server = await startBenchServer('server/main.ts', {
    CAPABILITIES_CONFIG: config,
    CAPABILITY_TIMEOUT_MS: '500',
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    MAX_PDF_INFLATED_BYTES: String(INFLATED_CAP_BYTES),
    SPOOL_DIR: path.join(dir, 'soak-spool'),
  });
  const rssStart = rssMiB(server.pid);
  const until = Date.now() + seconds * 1000;
  try {
    await Promise.all([
      ...Array.from({ length: Number(values.http) }, () => httpClient(server.url, until)),
      ...Array.from({ length: Number(values.ws) }, () => wsClient(server.url, until)),
      ...Array.from({ length: Number(values.hostile) }, () => hostileClient(server.url, until, files)),
    ]);
    const rssEnd = rssMiB(server.pid);
    const healthy = (await fetch(`${server.url}/health/ready`)).ok;
    process.stdout.write(
      `soak ${seconds} s: sent ${counts.sent}, answered ${counts.answered}, abandoned by the client ${counts.abandoned}, lost ${counts.lost}\n` +
        `replies: ${[...counts.byStatus].map(([k, v]) => `${k}: ${v}`).join(', ')}\n` +
        `server RSS ${rssStart} MiB at start, ${rssEnd} MiB at end; ready after the soak: ${healthy}\n`,
    );
    if (counts.lost > 0 || !healthy) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

await main();
