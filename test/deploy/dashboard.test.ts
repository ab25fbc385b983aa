import t from 'tap';
import { allPanels, dashboard } from '../helpers/deploy-files.js';

t.test('the Grafana dashboard parses, has unique panel ids and the datasource, job and instance variables', async (t) => {
  const board = await dashboard();
  t.ok(board.schemaVersion >= 36, `schemaVersion ${board.schemaVersion}`);
  const panels = allPanels(board.panels);
  const ids = panels.map((panel) => panel.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  t.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'panel ids are positive integers');
  const variables = new Map(board.templating.list.map((variable) => [variable.name, variable]));
  t.match(variables.get('datasource'), { type: 'datasource', query: 'prometheus' });
  t.match(variables.get('job'), { type: 'query' });
  t.match(variables.get('instance'), { type: 'query' });
  const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })));
  t.ok(queries.length > 20, `${queries.length} queries`);
  for (const { title, expr } of queries) {
    t.match(expr, /instance=~"\$instance"/, `${title}: filtered by instance`);
  }
  // What the issue asks the dashboard to show.
  const all = queries.map((query) => query.expr).join('\n');
  for (const metric of [
    'capserve_http_request_duration_seconds_bucket',
    'capserve_errors_total',
    'capserve_queue_depth_texts',
    'capserve_queue_wait_seconds_bucket',
    'capserve_batch_size_texts',
    'capserve_model_call_duration_seconds_bucket',
    'capserve_model_call_texts_sum',
    'capserve_capability_duration_seconds_bucket',
    'capserve_job_attempts_total',
    'capserve_model_jobs_total',
    'capserve_model_info',
    'process_cpu_seconds_total',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.match(all, metric, `shows ${metric}`);
  }
});
