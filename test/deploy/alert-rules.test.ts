import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { projectRoot } from '../../core/project-root.js';
import { alertRules, alertsFile, alertsTestFile } from '../helpers/deploy-files.js';

const run = promisify(execFile);

t.test('promtool check rules accepts deploy/prometheus/alerts.yml', async (t) => {
  const { stdout } = await run('promtool', ['check', 'rules', alertsFile]);
  t.match(stdout, /SUCCESS: \d+ rules found/);
});

t.test('promtool test rules fires the alerts on synthetic series (not ready, 5xx, reload loop, backlog, job failures)', async (t) => {
  const { stdout } = await run('promtool', ['test', 'rules', alertsTestFile]);
  t.match(stdout, /SUCCESS/);
  const tests = await readFile(alertsTestFile, 'utf8');
  for (const alert of ['CapserveNotReady', 'CapserveHigh5xxRate']) t.match(tests, `alertname: ${alert}`, `${alert} is exercised`);
});

t.test('every alert waits with for:, has a severity, a summary, a description and a runbook section that exists', async (t) => {
  const rules = await alertRules();
  const wanted = ['CapserveNotReady', 'CapserveHigh5xxRate', 'CapserveQueueBacklog', 'CapserveHighP99Latency', 'CapserveModelReloadLoop', 'CapserveJobFailures'];
  t.same(
    wanted.filter((name) => !rules.some((rule) => rule.alert === name)),
    [],
    'the issue\'s alerts are all there',
  );
  const operations = await readFile(path.join(projectRoot(), 'docs', 'operations.md'), 'utf8');
  const headings = new Set([...operations.matchAll(/^#+ (.+)$/gm)].map((match) => (match[1] ?? '').trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
  for (const rule of rules) {
    t.match(rule.for, /^\d+[smh]$/, `${rule.alert} has for:`);
    t.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert} has a severity`);
    t.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert} has a summary and a description`);
    const runbook = rule.annotations?.runbook_url ?? '';
    const [file, anchor] = runbook.split('#');
    t.equal(file, 'docs/operations.md', `${rule.alert}'s runbook is in docs/operations.md`);
    t.ok(anchor !== undefined && headings.has(anchor), `${rule.alert}'s runbook section #${anchor} exists`);
  }
});
