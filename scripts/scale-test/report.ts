import { type LoadCounts } from './load.js';
import { type ScaleReport } from './scale-test.js';

const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const outcomes = (counts: LoadCounts): string =>
  Object.entries(counts.outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}×${value}`)
    .join(' ');

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
}

/** The scale test's results as a plain-text table per scenario, then its facts and problems. */
export function formatReport(report: ScaleReport): string {
  const header = ['scenario', 'result', 'seconds', 'classify sent/answered/lost', 'dropped', 'retries', 'p50/p99 ms', 'process sent/lost', 'attempt outcomes'];
  const rows = report.scenarios.map((scenario) => [
    scenario.name,
    scenario.pending === undefined ? (scenario.ok ? 'ok' : 'FAILED') : 'PENDING',
    (scenario.durationMs / 1000).toFixed(1),
    `${scenario.classify.sent}/${scenario.classify.answered}/${scenario.classify.lost}`,
    String(scenario.classify.dropped + scenario.jobs.dropped),
    String(scenario.classify.retries + scenario.jobs.retries),
    `${percentile(scenario.classify.latenciesMs, 50)}/${percentile(scenario.classify.latenciesMs, 99)}`,
    `${scenario.jobs.sent}/${scenario.jobs.lost}`,
    outcomes(scenario.classify),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((cells) => (cells[i] ?? '').length)));
  const lines = [row(header, widths), row(widths.map((width) => '-'.repeat(width)), widths), ...rows.map((cells) => row(cells, widths)), ''];
  for (const scenario of report.scenarios) {
    lines.push(`${scenario.name}:`);
    for (const [key, value] of Object.entries(scenario.facts)) lines.push(`  ${key}: ${value}`);
    if (scenario.pending !== undefined) lines.push(`  pending: ${scenario.pending}`);
    for (const problem of scenario.problems) lines.push(`  PROBLEM: ${problem}`);
  }
  lines.push('', `/process jobs of the trickle: ${Object.entries(report.jobEnds).map(([end, count]) => `${end} ${count}`).join(', ')}`);
  lines.push(`setup ${(report.setupMs / 1000).toFixed(1)} s, total ${(report.totalMs / 1000).toFixed(1)} s: ${report.ok ? 'every invariant held' : 'FAILED'}`);
  for (const problem of report.problems) lines.push(`PROBLEM: ${problem}`);
  return lines.join('\n');
}
