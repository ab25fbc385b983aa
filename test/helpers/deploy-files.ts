import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../core/project-root.js';

export const alertsFile = path.join(projectRoot(), 'deploy', 'prometheus', 'alerts.yml');
export const alertsTestFile = path.join(projectRoot(), 'deploy', 'prometheus', 'alerts.test.yml');
export const dashboardFile = path.join(projectRoot(), 'deploy', 'grafana', 'capserve-dashboard.json');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export async function alertRules(): Promise<AlertRule[]> {
  const file = parse(await readFile(alertsFile, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: { readonly expr: string }[];
  readonly panels?: DashboardPanel[];
}

export interface Dashboard {
  readonly schemaVersion: number;
  readonly templating: { readonly list: { readonly name: string; readonly type: string; readonly query: unknown }[] };
  readonly panels: DashboardPanel[];
}

export async function dashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard;
}

/** Every panel, rows' collapsed panels included. */
export function allPanels(panels: readonly DashboardPanel[]): DashboardPanel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/**
 * The metric names a PromQL expression reads, found loosely: identifiers starting with
 * `capserve_`, `process_` or `nodejs_` (label values are strings, so `route="/process"` is not one).
 */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...withoutStrings.matchAll(/(?<![A-Za-z0-9_:])(?:capserve|process|nodejs)_[A-Za-z0-9_:]*/g)].map((match) => match[0]);
}
