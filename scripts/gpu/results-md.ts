import { type BenchReport, renderMarkdown } from '../bench/report.js';
import { type Row } from '../bench/measure.js';
import { type GeneratedModelName } from '../bench/bench-models.js';
import { PARITY_TOLERANCE, type ParityRow } from './parity.js';

/** One benchmark run of the plan: a device, a model and its client counts. */
export interface PlannedRun {
  readonly device: 'cpu' | 'webgpu' | 'cuda';
  readonly model: GeneratedModelName;
  readonly connections: readonly number[];
}

export interface Outcome {
  readonly run: PlannedRun;
  readonly seconds: number;
  /** run-bench's results, for the one model of the run. */
  readonly report?: BenchReport;
  /** Why the run did not happen or did not finish. */
  readonly skipped?: string;
}

export interface GpuCheckSummary {
  readonly date: string;
  readonly seconds: number;
  readonly budgetSeconds: number;
  readonly node: string;
  readonly machine: string;
  readonly nvidiaSmi: string | undefined;
  /** What capserve reports as the WebGPU adapter (vulkaninfo, else the driver manifests). */
  readonly vulkanAdapter: string | undefined;
  readonly vulkanDriverFiles: string | undefined;
  readonly notes: readonly string[];
  readonly parityTexts: number;
  readonly parity: readonly ParityRow[];
  readonly outcomes: readonly Outcome[];
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe/i;
const label = (run: PlannedRun): string => `${run.device} · ${run.model}`;
const exp = (value: number | undefined): string => (value === undefined ? '–' : value.toExponential(1));

/** bench/RESULTS-gpu.md: the machine, parity, a headline table, every run's own tables, and what was skipped. */
export function renderGpuResults(summary: GpuCheckSummary): string {
  const adapters = [summary.vulkanAdapter, ...summary.parity.map((row) => row.adapter), ...summary.outcomes.map((o) => o.report?.models[0]?.adapter)];
  const software = adapters.some((adapter) => adapter !== undefined && SOFTWARE_ADAPTER.test(adapter));
  const out: string[] = ['# GPU check results', ''];
  if (software) {
    out.push(
      '> **lavapipe (software Vulkan) run.** WebGPU ran on Mesa\'s CPU emulation of a GPU, so the webgpu figures below show',
      '> that the path works and matches the CPU; they are correctness-only and say nothing about GPU performance.',
      '',
    );
  }
  for (const note of summary.notes) out.push(`> ${note}`, '');
  out.push(
    `Measured ${summary.date} by \`scripts/gpu/run.sh\` (scripts/gpu/gpu-check.ts, Node ${summary.node}) in ${summary.seconds} s ` +
      `of a ${summary.budgetSeconds} s budget. Every model is a generated BERT with RANDOM weights: only its cost means anything.`,
    '',
    '## Machine',
    '',
    `- ${summary.machine}`,
    `- \`nvidia-smi -L\`: ${summary.nvidiaSmi === undefined ? 'not available' : summary.nvidiaSmi.split('\n').join('; ')}`,
    `- WebGPU adapter as capserve reports it: ${summary.vulkanAdapter ?? 'none found'}`,
    `- Vulkan driver manifest: ${summary.vulkanDriverFiles === undefined ? "the loader's default search" : `VK_DRIVER_FILES=${summary.vulkanDriverFiles}`}`,
    '',
    `## Parity: cpu vs accelerator (MiniLM-L6-shaped model, ${summary.parityTexts} texts, onnx backend)`,
    '',
    `| device | adapter | max abs diff, pooled embedding | max abs diff, logits | within ${PARITY_TOLERANCE} | time |`,
    '|---|---|---|---|---|---|',
  );
  for (const row of summary.parity) {
    if (row.skipped !== undefined) {
      out.push(`| ${row.device} | – | skipped: ${row.skipped} | | | |`);
      continue;
    }
    const worst = Math.max(row.embeddingDiff ?? Infinity, row.logitsDiff ?? Infinity);
    out.push(`| ${row.device} | ${row.adapter ?? '–'} | ${exp(row.embeddingDiff)} | ${exp(row.logitsDiff)} | ${worst <= PARITY_TOLERANCE ? 'yes' : '**NO**'} | ${row.seconds} s |`);
  }
  out.push('', ...headline(summary.outcomes), '');
  for (const outcome of summary.outcomes) {
    if (outcome.report === undefined) continue;
    out.push(`## ${label(outcome.run)} (${outcome.seconds} s)`, '', renderMarkdown(outcome.report).replace(/^### /gm, '#### '), '');
  }
  const skipped = summary.outcomes.filter((outcome) => outcome.skipped !== undefined);
  out.push('## Skipped', '', ...(skipped.length === 0 ? ['Nothing.'] : skipped.map((o) => `- ${label(o.run)} at ${o.run.connections.join(', ')} clients: ${o.skipped}`)), '');
  return out.join('\n');
}

/** texts/s per run at each client count, and the ratios measured within the same run. */
function headline(outcomes: readonly Outcome[]): string[] {
  const out = [
    '## Headline (texts/s; each row from one run)',
    '',
    '| device · model | limit, best batch | capserve by clients | naive by clients | capserve/limit | capserve/naive |',
    '|---|---|---|---|---|---|',
  ];
  const capserveAt = new Map<string, Row>();
  for (const { run, report } of outcomes) {
    const model = report?.models[0];
    if (model === undefined) continue;
    const best = model.limit.reduce((a, b) => (b.textsPerSec > a.textsPerSec ? b : a));
    const rows = (server: string) => model.rows.filter((row) => row.server === server && row.note === undefined);
    const byClients = (server: string) => rows(server).map((row) => `${row.connections}: ${row.textsPerSec}`).join(', ');
    // The ratios at the most clients both servers finished requests at.
    const top = rows('capserve').filter((row) => row.textsPerSec > 0 && rows('naive').some((n) => n.connections === row.connections)).at(-1);
    const naive = rows('naive').find((row) => row.connections === top?.connections);
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2));
    out.push(
      `| ${label(run)} | ${best.textsPerSec} (batch ${best.batch}) | ${byClients('capserve')} | ${byClients('naive')} | ` +
        `${ratio(top?.textsPerSec, best.textsPerSec)}${top === undefined ? '' : ` at ${top.connections}`} | ${ratio(top?.textsPerSec, naive?.textsPerSec)}${top === undefined ? '' : ` at ${top.connections}`} |`,
    );
    for (const row of rows('capserve')) capserveAt.set(`${run.device}:${run.model}:${row.connections}`, row);
  }
  const versus: string[] = [];
  for (const { run } of outcomes) {
    if (run.device === 'cpu') continue;
    for (const connections of run.connections) {
      const accelerated = capserveAt.get(`${run.device}:${run.model}:${connections}`);
      const cpu = capserveAt.get(`cpu:${run.model}:${connections}`);
      if (accelerated !== undefined && cpu !== undefined && accelerated.requestsPerSec > 0 && cpu.textsPerSec > 0) {
        versus.push(`- capserve ${run.model} at ${connections} clients: ${run.device}/cpu = **${(accelerated.textsPerSec / cpu.textsPerSec).toFixed(2)}** (${accelerated.textsPerSec} vs ${cpu.textsPerSec} texts/s)`);
      }
    }
  }
  if (capserveAt.size === 0) return [...out.slice(0, 2), 'No benchmark run finished (see Skipped).'];
  return versus.length === 0 ? out : [...out, '', ...versus];
}
