import { startBenchServer } from './bench-server.js';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { type BenchRequest, makeRequests } from './corpus.js';
import { generateLoad, measure, type Row } from './measure.js';
import { type Protocol, wireRequest } from './protocol-requests.js';

/** The protocol comparison: the same texts through each route, then a mix, on one server. */
export interface ProtocolResults {
  readonly model: string;
  readonly connections: number;
  /** One row per route (note: the protocol, or "mixed"), over requests whose texts fit the model. */
  readonly rows: readonly Row[];
  /** Reply bytes for the same 8 requests as float JSON and as base64. */
  readonly replyBytes: { readonly float: number; readonly base64: number };
}

const single: readonly Protocol[] = ['classify-embedding', 'openai', 'openai-base64', 'tei'];
/** A third each of /classify (as generated), /v1/embeddings and /embed. */
const mixed: readonly Protocol[] = ['classify', 'openai', 'tei'];

/**
 * The generated requests whose texts all fit the model's `maxTokens`: OpenAI's route refuses a
 * longer text (400 CONTEXT_LENGTH_EXCEEDED) where `/classify` truncates it, so the comparison
 * keeps to texts every route serves.
 */
async function fittingRequests(modelDir: string, maxTokens: number): Promise<BenchRequest[]> {
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  const fits = (text: string): boolean => tokenizer.encode(text).length <= maxTokens;
  return makeRequests(4000, 5).filter((request) => request.texts.every(fits));
}

/**
 * Each route at `connections` clients on one capserve server, then the mixed traffic and
 * `/classify` alone (generated capabilities) for the batch-sharing comparison.
 */
export async function benchProtocols(
  model: { readonly name: string; readonly dir: string; readonly maxTokens: number },
  config: string,
  connections: number,
  durationSec: number,
  log: (line: string) => void,
): Promise<ProtocolResults> {
  const requests = await fittingRequests(model.dir, model.maxTokens);
  const requestsFile = path.join(tmpdir(), `capserve-bench-requests-${process.pid}.json`);
  await writeFile(requestsFile, JSON.stringify(requests));
  const server = await startBenchServer('server/main.ts', { CAPABILITIES_CONFIG: config });
  try {
    await generateLoad({ url: server.url, connections: 8, durationSec: 2, seed: 7, protocols: single, requestsFile });
    const rows: Row[] = [];
    const runs: [string, readonly Protocol[]][] = [...single.map((p): [string, readonly Protocol[]] => [p, [p]]), ['classify', ['classify']], ['mixed', mixed]];
    for (const [note, protocols] of runs) {
      const row = await measure(model.name, 'capserve', server, { connections, durationSec, seed: connections, protocols, requestsFile }, note);
      log(`  ${model.name} ${note} ×${connections}: ${row.textsPerSec} texts/s, ${row.cpuMsPerText} CPU ms/text, ${row.executionsPer100Requests} executions/100 req`);
      rows.push(row);
    }
    return { model: model.name, connections, rows, replyBytes: await replyBytes(server.url, requests.slice(0, 8)) };
  } finally {
    await server.stop();
    await rm(requestsFile, { force: true });
  }
}

async function replyBytes(url: string, sample: readonly BenchRequest[]): Promise<{ float: number; base64: number }> {
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
