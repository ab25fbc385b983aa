import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type BenchServer, nodeArgs } from './bench-server.js';
import { type LoadOptions, type LoadResult } from './load.js';
import { cpuMs, rssMiB } from './proc-stats.js';

const run = promisify(execFile);

export type ServerKind = 'capserve' | 'naive';

/** One line of the results table. */
export interface Row {
  readonly model: string;
  readonly server: ServerKind | 'limit';
  readonly connections: number;
  readonly textsPerSec: number;
  readonly requestsPerSec: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Texts per model call: distinct texts per batch (capserve), texts per request (naive), the batch size (limit). */
  readonly meanBatch: number;
  readonly executionsPer100Requests: number;
  readonly cpuMsPerText: number;
  /** Transport errors and answers other than 2xx, 429 and 503. */
  readonly failed: number;
  /** 429/503 refusals (admission control); with backing-off clients, the waits they sat out. */
  readonly refused: number;
  readonly rssMiB: number;
  readonly note?: string;
}

/** Runs the load generator in its own process against `server`. */
export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const { stdout } = await run(process.execPath, [...nodeArgs('scripts/bench/load.ts'), JSON.stringify(options)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

/** One measured run: the load, with the server's CPU time and its own counters read before and after. */
export async function measure(model: string, kind: ServerKind, server: BenchServer, load: Omit<LoadOptions, 'url'>, note?: string): Promise<Row> {
  const before = await server.getJson('/stats');
  const cpuBefore = cpuMs(server.pid);
  const result = await generateLoad({ ...load, url: server.url });
  const cpu = cpuMs(server.pid) - cpuBefore;
  const after = await server.getJson('/stats');
  const texts = result.requests * result.meanTextsPerRequest;
  let meanBatch: number;
  let executions: number;
  let requests: number;
  if (kind === 'capserve') {
    const batches = after.batches.total - before.batches.total;
    meanBatch = batches === 0 ? 0 : (after.texts.computed - before.texts.computed) / batches;
    executions = after.executions.actual - before.executions.actual;
    requests = after.requests.total - before.requests.total;
  } else {
    meanBatch = result.meanTextsPerRequest;
    executions = after.executions - before.executions;
    requests = after.requests - before.requests;
  }
  return {
    model,
    server: kind,
    connections: load.connections,
    textsPerSec: Math.round(result.textsPerSec),
    requestsPerSec: Math.round(result.requestsPerSec),
    p50: result.latencyMs.p50,
    p95: result.latencyMs.p95,
    p99: result.latencyMs.p99,
    meanBatch: round(meanBatch),
    executionsPer100Requests: requests === 0 ? 0 : round((executions / requests) * 100),
    cpuMsPerText: texts === 0 ? 0 : round(cpu / texts, 3),
    failed: result.errors,
    refused: result.refused,
    rssMiB: rssMiB(server.pid),
    ...(note === undefined ? {} : { note }),
  };
}

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
