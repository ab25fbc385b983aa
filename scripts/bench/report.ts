import { cpus, totalmem } from 'node:os';
import { type ProtocolResults } from './bench-protocols.js';
import { type LimitRow } from './limit.js';
import { type Row } from './measure.js';

/** The note of the rows whose clients wait out a refusal's Retry-After (scripts/bench/backoff-load.ts). */
export const BACKOFF_NOTE = 'clients honour Retry-After';

export interface ModelResults {
  readonly model: string;
  readonly description: string;
  readonly limit: readonly LimitRow[];
  /** The accelerator capserve reported in /capabilities (webgpu, cuda). */
  readonly adapter?: string;
  /** Median model time of one request's texts on their own, ms. */
  readonly modelMsPerRequest: number;
  readonly rows: readonly Row[];
}

export interface Overhead {
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly cpuMsPerRequest: number;
  readonly p50: number;
  readonly p99: number;
}

export interface Soak {
  readonly seconds: number;
  readonly connections: number;
  readonly samples: readonly number[];
  readonly startMiB: number;
  readonly endMiB: number;
  readonly minMiB: number;
  readonly maxMiB: number;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: string;
  readonly durationSec: number;
  readonly models: readonly ModelResults[];
  readonly overhead?: Overhead;
  readonly soak?: Soak;
  readonly protocols?: ProtocolResults;
}

export function machineDescription(accelerator = 'no GPU'): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}, ${accelerator}`;
}

const cell = (value: number | string): string => String(value);

/** The results as Markdown: per model the limit, every run, and the ratios against the targets. */
export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [`Measured ${report.date} on ${report.machine}; ${report.durationSec} s per run.`, ''];
  for (const model of report.models) {
    const limit = Math.max(...model.limit.map((row) => row.textsPerSec));
    out.push(`### ${model.model}: ${model.description}`, '');
    out.push(`Limit (raw call on prepared batches): ${model.limit.map((r) => `batch ${r.batch}: ${r.textsPerSec} texts/s (${r.msPerBatch} ms)`).join('; ')}. Best: **${limit} texts/s**.`);
    out.push(`One request's texts on their own through the backend: median ${model.modelMsPerRequest} ms.`, '');
    out.push('| server | clients | texts/s | req/s | p50 ms | p95 ms | p99 ms | texts/model call | executions/100 req | CPU ms/text | refused | failed | RSS MiB | vs limit |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of model.rows) {
      if (row.requestsPerSec === 0) {
        out.push(`| ${row.server} | ${row.connections} | no request finished within the ${report.durationSec} s run (each waits longer than that at this load) ||||||||||||`);
        continue;
      }
      out.push(
        `| ${[
          row.server + (row.note === undefined ? '' : ` (${row.note})`),
          row.connections,
          row.textsPerSec,
          row.requestsPerSec,
          row.p50,
          row.p95,
          row.p99,
          row.meanBatch,
          row.executionsPer100Requests,
          row.cpuMsPerText,
          row.refused,
          row.failed,
          row.rssMiB,
          (row.textsPerSec / limit).toFixed(2),
        ]
          .map(cell)
          .join(' | ')} |`,
      );
    }
    out.push('', ...ratios(model, limit), '');
  }
  if (report.protocols !== undefined) out.push(...protocolSection(report.protocols));
  if (report.overhead !== undefined) {
    const o = report.overhead;
    out.push(
      `### Server overhead (text-stats, no model)`,
      '',
      `At ${o.achievedRate} requests/s (target rate ${o.targetRate}), one short text each: **${o.cpuMsPerRequest} ms of server CPU per request** ` +
        `(HTTP, validation, batching, JSON), latency p50 ${o.p50} ms, p99 ${o.p99} ms. Target ≤ 0.2 ms.`,
      '',
    );
  }
  if (report.soak !== undefined) {
    const s = report.soak;
    const spread = ((s.maxMiB - s.minMiB) / s.startMiB) * 100;
    out.push(
      `### Memory over ${s.seconds} s at ${s.connections} clients`,
      '',
      `RSS start ${s.startMiB} MiB, end ${s.endMiB} MiB, min ${s.minMiB}, max ${s.maxMiB} (spread ${spread.toFixed(1)}% of start; target ±10%). ` +
        `Samples every 10 s: ${s.samples.join(', ')}.`,
      '',
    );
  }
  return out.join('\n');
}

function ratios(model: ModelResults, limit: number): string[] {
  const at = (server: string, connections: number) => model.rows.find((r) => r.server === server && r.connections === connections && r.note === undefined);
  const lines: string[] = [];
  const capserve64 = at('capserve', 64);
  const naive64 = at('naive', 64);
  if (capserve64 !== undefined) {
    lines.push(`- 64 clients: capserve/limit = **${(capserve64.textsPerSec / limit).toFixed(2)}** (target ≥ 0.9)` +
      (naive64 === undefined ? '' : `, capserve/naive = **${(capserve64.textsPerSec / Math.max(1, naive64.textsPerSec)).toFixed(2)}** (target ≥ 3)`));
  }
  const backingOff = (connections: number) => model.rows.find((r) => r.server === 'capserve' && r.connections === connections && r.note === BACKOFF_NOTE);
  const [calm, overloaded] = [backingOff(64), backingOff(256)];
  if (calm !== undefined && overloaded !== undefined) {
    lines.push(
      `- 256 vs 64 clients that honour Retry-After: **${(overloaded.textsPerSec / Math.max(1, calm.textsPerSec)).toFixed(2)}** × the throughput (target ≥ 0.9), ` +
        `p99 ${overloaded.p99} ms with ${overloaded.refused} refusals waited out`,
    );
  }
  const capserve1 = at('capserve', 1);
  if (capserve1 !== undefined) {
    lines.push(`- 1 client: capserve p50 ${capserve1.p50} ms vs model time ${model.modelMsPerRequest} ms + 3 ms = ${(model.modelMsPerRequest + 3).toFixed(2)} ms (target: p50 ≤ that)`);
  }
  return lines;
}

/** The protocol routes beside /classify, and mixed traffic against /classify alone. */
function protocolSection(p: ProtocolResults): string[] {
  const row = (note: string) => p.rows.find((r) => r.note === note);
  const out = [
    `### Protocols: ${p.model} at ${p.connections} clients, one server`,
    '',
    'Requests whose texts all fit the model (OpenAI refuses a longer text where `/classify` truncates it). The first four rows carry the same texts and ask for the embedding only; `classify` is the generated mix of capabilities; `mixed` is a third each of that `/classify`, `/v1/embeddings` and `/embed`.',
    '',
    '| route | texts/s | p50 ms | p99 ms | executions/100 req | CPU ms/text | refused | failed |',
    '|---|---|---|---|---|---|---|---|',
    ...p.rows.map((r) => `| ${r.note ?? ''} | ${r.textsPerSec} | ${r.p50} | ${r.p99} | ${r.executionsPer100Requests} | ${r.cpuMsPerText} | ${r.refused} | ${r.failed} |`),
    '',
  ];
  const [classify, openai, mixed, alone] = [row('classify-embedding'), row('openai'), row('mixed'), row('classify')];
  if (classify !== undefined && openai !== undefined) {
    out.push(`- \`/v1/embeddings\` vs \`/classify\` for the same texts: **${((openai.cpuMsPerText / classify.cpuMsPerText - 1) * 100).toFixed(1)} %** server CPU per text (target ≤ +5 %)`);
  }
  out.push(`- base64 replies: **${(p.replyBytes.float / Math.max(1, p.replyBytes.base64)).toFixed(2)} ×** smaller than float JSON (${p.replyBytes.float} vs ${p.replyBytes.base64} bytes for 8 requests; target ≥ 3)`);
  if (mixed !== undefined && alone !== undefined) {
    out.push(`- mixed traffic: ${mixed.executionsPer100Requests} executions/100 requests vs ${alone.executionsPer100Requests} for \`/classify\` alone (target: no higher)`);
  }
  out.push('');
  return out;
}
