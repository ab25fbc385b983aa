import t from 'tap';
import { exposedNames, metricsServer } from '../helpers/metrics-server.js';
import { alertRules, allPanels, dashboard, metricNamesIn } from '../helpers/deploy-files.js';

t.test("every metric the dashboard and the alert rules read is in a real server's /metrics", async (t) => {
  const server = await metricsServer(t);
  const text = (await server.request('GET', '/metrics')).text;
  // Sample names, and the names of families without samples yet (a labelled counter never incremented).
  const exposed = exposedNames(text);
  for (const match of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = match;
    if (name === undefined) continue;
    exposed.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(name + suffix);
  }
  const read = new Map<string, string>();
  for (const rule of await alertRules()) for (const name of metricNamesIn(rule.expr)) read.set(name, `alert ${rule.alert}`);
  for (const panel of allPanels((await dashboard()).panels)) {
    for (const target of panel.targets ?? []) for (const name of metricNamesIn(target.expr)) read.set(name, `panel "${panel.title}"`);
  }
  t.ok(read.size > 20, `${read.size} metric names read`);
  for (const [name, where] of read) t.ok(exposed.has(name), `${name} (${where}) is exposed`);
  t.ok(exposed.has('capserve_ready'));
});
