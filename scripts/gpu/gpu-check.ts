/**
 * The GPU check, which scripts/gpu/run.sh runs from the bundle with the bundled Node (or, from
 * source, `tsx scripts/gpu/gpu-check.ts`): generates the random models, compares the cpu outputs
 * of the MiniLM-shaped model with webgpu's (and cuda's, when its provider library is there), then
 * runs the benchmark (scripts/bench/run-bench.ts) for each device and model of the plan within a
 * time budget, and writes the results as Markdown. Exits 1 when parity fails, webgpu cannot start
 * or a benchmark run fails (a run left out for the time budget is not a failure).
 *
 *   gpu-check [--budget-seconds 420] [--runs webgpu:minilm,webgpu:bert-base,cpu:minilm,cpu:bert-base:1+64]
 *     [--connections 1,64,256] [--duration 6] [--limit-sizes 1,8,32,64] [--limit-seconds 1.5]
 *     [--model-requests 50] [--min-run-seconds 40] [--results bench/RESULTS-gpu.md] [--note TEXT]...
 *
 * A run is `device:model`, optionally `:clients+clients` to override --connections for it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { projectRoot } from '../../core/project-root.js';
import { adapterOf } from '../../models/devices/adapter.js';
import { generatedModelDir, generatedModels, type GeneratedModelName } from '../bench/bench-models.js';
import { nodeArgs } from '../bench/bench-server.js';
import { makeRequests } from '../bench/corpus.js';
import { type BenchReport, machineDescription } from '../bench/report.js';
import { generateBertModel } from '../generate-bert-onnx.js';
import { deviceParity, PARITY_TOLERANCE, type ParityRow } from './parity.js';
import { type GpuCheckSummary, type Outcome, type PlannedRun, renderGpuResults } from './results-md.js';

const { values } = parseArgs({
  options: {
    'budget-seconds': { type: 'string', default: '420' },
    runs: { type: 'string', default: 'webgpu:minilm,webgpu:bert-base,cpu:minilm,cpu:bert-base:1+64' },
    connections: { type: 'string', default: '1,64,256' },
    duration: { type: 'string', default: '6' },
    'limit-sizes': { type: 'string', default: '1,8,32,64' },
    'limit-seconds': { type: 'string', default: '1.5' },
    'model-requests': { type: 'string', default: '50' },
    'min-run-seconds': { type: 'string', default: '40' },
    results: { type: 'string' },
    note: { type: 'string', multiple: true, default: [] },
  },
});
const started = performance.now();
const deadline = started + Number(values['budget-seconds']) * 1000;
const root = projectRoot();
const elapsed = (): number => Math.round((performance.now() - started) / 1000);
const log = (message: string): void => void process.stderr.write(`[gpu-check ${elapsed()} s] ${message}\n`);

function parsePlan(text: string): PlannedRun[] {
  const defaultConnections = values.connections.split(',').map(Number);
  return text.split(',').map((entry) => {
    const [device, model, clients] = entry.split(':');
    if (device !== 'cpu' && device !== 'webgpu' && device !== 'cuda') throw new Error(`--runs: unknown device in "${entry}"`);
    if (model === undefined || !(model in generatedModels)) throw new Error(`--runs: unknown model in "${entry}" (${Object.keys(generatedModels).join(', ')})`);
    return { device, model: model as GeneratedModelName, connections: clients === undefined ? defaultConnections : clients.split('+').map(Number) };
  });
}

/** Why cuda cannot be tried: onnxruntime-node's npm package leaves the CUDA provider out (.npmrc). */
function cudaMissing(): string | undefined {
  const dist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
  const library = path.join(dist, '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
  return existsSync(library) ? undefined : 'onnxruntime-node has no libonnxruntime_providers_cuda.so (the npm package and this bundle leave the CUDA provider out; see Dockerfile.cuda)';
}

async function nvidiaGpus(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['-L'], { timeout: 10_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

let running: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The benchmark and its servers share a process group: stop them all, not just the parent.
    if (running !== undefined) process.kill(-running, 'SIGKILL');
    process.exit(130);
  });
}

/** One run-bench process for one device and model, killed with its servers at `timeoutMs`. */
async function benchRun(run: PlannedRun, timeoutMs: number): Promise<{ report?: BenchReport; failure?: string }> {
  const json = path.join(root, 'bench', 'out', `gpu-${run.device}-${run.model}.json`);
  const args = [
    ...nodeArgs('scripts/bench/run-bench.ts'),
    ...['--device', run.device, '--models', run.model, '--connections', run.connections.join(','), '--duration', values.duration],
    ...['--limit-sizes', values['limit-sizes'], '--limit-seconds', values['limit-seconds'], '--model-requests', values['model-requests']],
    ...['--limit-once', '--no-overhead', '--no-protocols', '--no-results-md', '--settle', '--json', json],
  ];
  const child = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  running = child.pid;
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-2000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  running = undefined;
  if (timedOut) return { failure: `stopped at the time budget after ${Math.round(timeoutMs / 1000)} s` };
  if (code !== 0) {
    const error = tail.split('\n').filter((line) => /error/i.test(line)).at(-1) ?? tail.trim().split('\n').at(-1);
    return { failure: `run-bench exited with ${code}: ${error?.trim()}` };
  }
  return { report: JSON.parse(await readFile(json, 'utf8')) as BenchReport };
}

async function main(): Promise<void> {
  const plan = parsePlan(values.runs);
  const models = new Set<GeneratedModelName>(['minilm', ...plan.map((run) => run.model)]);
  for (const model of models) {
    const dir = generatedModelDir(root, model);
    if (existsSync(path.join(dir, 'onnx', 'model.onnx'))) continue;
    log(`generating the ${generatedModels[model].preset} random model`);
    await generateBertModel({ out: dir, preset: generatedModels[model].preset });
  }

  // Mixed lengths, and one text past the 128-token limit so truncation is compared too.
  const texts = makeRequests(40, 11).flatMap((request) => request.texts).slice(0, 31);
  texts.push(texts.join(' '));
  const missingCuda = cudaMissing();
  log('parity: cpu vs ' + (missingCuda === undefined ? 'webgpu and cuda' : 'webgpu'));
  const parity: ParityRow[] = await deviceParity(generatedModelDir(root, 'minilm'), texts, missingCuda === undefined ? ['webgpu', 'cuda'] : ['webgpu']);
  if (missingCuda !== undefined) parity.push({ device: 'cuda', skipped: missingCuda, seconds: 0 });
  for (const row of parity) log(`  ${row.device}: ${row.skipped ?? `embedding ${row.embeddingDiff}, logits ${row.logitsDiff}`}`);

  const outcomes: Outcome[] = [];
  let runFailed = false;
  for (const run of plan) {
    const unavailable = run.device === 'cpu' ? undefined : parity.find((row) => row.device === run.device)?.skipped;
    const left = Math.floor((deadline - performance.now()) / 1000) - 5;
    if (unavailable !== undefined) {
      outcomes.push({ run, seconds: 0, skipped: `${run.device} cannot start: ${unavailable}` });
    } else if (left < Number(values['min-run-seconds'])) {
      outcomes.push({ run, seconds: 0, skipped: `time budget: ${Math.max(0, left)} s left, a run needs about ${values['min-run-seconds']} s or more` });
    } else {
      log(`bench: ${run.device} ${run.model} at ${run.connections.join(', ')} clients (at most ${left} s)`);
      const runStarted = performance.now();
      const { report, failure } = await benchRun(run, left * 1000);
      runFailed ||= failure !== undefined;
      const seconds = Math.round((performance.now() - runStarted) / 1000);
      outcomes.push({ run, seconds, ...(report === undefined ? {} : { report }), ...(failure === undefined ? {} : { skipped: failure }) });
    }
  }

  const results = values.results ?? path.join(root, 'bench', 'RESULTS-gpu.md');
  const nvidiaSmi = await nvidiaGpus();
  const summary: GpuCheckSummary = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    seconds: elapsed(),
    budgetSeconds: Number(values['budget-seconds']),
    node: process.version,
    machine: machineDescription(nvidiaSmi === undefined ? 'no NVIDIA GPU (nvidia-smi absent or failing)' : 'NVIDIA GPU'),
    nvidiaSmi,
    vulkanAdapter: await adapterOf('webgpu'),
    vulkanDriverFiles: process.env.VK_DRIVER_FILES,
    notes: values.note,
    parityTexts: texts.length,
    parity,
    outcomes,
  };
  await mkdir(path.dirname(results), { recursive: true });
  await writeFile(results, renderGpuResults(summary));
  await mkdir(path.join(root, 'bench', 'out'), { recursive: true });
  await writeFile(path.join(root, 'bench', 'out', 'gpu-check.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(`wrote ${results}`);

  const webgpu = parity.find((row) => row.device === 'webgpu');
  const failed = runFailed || parity.some((row) => Math.max(row.embeddingDiff ?? 0, row.logitsDiff ?? 0) > PARITY_TOLERANCE) || webgpu?.skipped !== undefined;
  if (failed) process.exitCode = 1;
}

await main();
