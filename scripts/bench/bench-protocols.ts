import { startBenchServer } from './bench-server.js';
import { makeRequests } from './corpus.js';
import { generateLoad, measure, type Row } from './measure.js';
import { type Protocol, wireRequest } from './protocol-requests.js';

/** The protocol comparison: the same texts through each route, then a mix, on one server. */
export interface ProtocolResults {
  readonly model: string;
  readonly connections: number;
  /** One row per route (note: the protocol, or "mixed"). */
  readonly rows: readonly Row[];
  /** Reply bytes for the same 8 requests as float JSON and as base64. */
  readonly replyBytes: { readonly float: number; readonly base64: number };
}

const single: readonly Protocol[] = ['classify-embedding', 'openai', 'openai-base64', 'tei'];
/** A third each of /classify (as generated), /v1/embeddings and /embed. */
const mixed: readonly Protocol[] = ['classify', 'openai', 'tei'];

/**
 * Each route at `connections` clients on one capserve server, then the mixed traffic and
 * `/classify` alone (generated capabilities) for the batch-sharing comparison.
 */
export async function benchProtocols(model: string, config: string, connections: number, durationSec: number, log: (line: string) => void): Promise<ProtocolResults> {
  const server = await startBenchServer('server/main.ts', { CAPABILITIES_CONFIG: config });
  try {
    await generateLoad({ url: server.url, connections: 8, durationSec: 2, seed: 7, protocols: single });
    const rows: Row[] = [];
    const runs: [string, readonly Protocol[]][] = [...single.map((p): [string, readonly Protocol[]] => [p, [p]]), ['classify', ['classify']], ['mixed', mixed]];
    for (const [note, protocols] of runs) {
      const row = await measure(model, 'capserve', server, { connections, durationSec, seed: connections, protocols }, note);
      log(`  ${model} ${note} ×${connections}: ${row.textsPerSec} texts/s, ${row.cpuMsPerText} CPU ms/text, ${row.executionsPer100Requests} executions/100 req`);
      rows.push(row);
    }
    return { model, connections, rows, replyBytes: await replyBytes(server.url) };
  } finally {
    await server.stop();
  }
}

async function replyBytes(url: string): Promise<{ float: number; base64: number }> {
  const sample = makeRequests(8, 11);
  const bytes = async (protocol: Protocol): Promise<number> => {
    let total = 0;
    for (const request of sample) {
      const wire = wireRequest(request, protocol);
      const response = await fetch(url + wire.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: wire.body });
      total += (await response.arrayBuffer()).byteLength;
    }
    return total;
  };
  return { float: await bytes('openai'), base64: await bytes('openai-base64') };
}
