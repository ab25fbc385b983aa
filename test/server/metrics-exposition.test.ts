import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { projectRoot } from '../../core/project-root.js';
import { metricsServer, runWithInput } from '../helpers/metrics-server.js';
import { TestWsClient } from '../helpers/ws-client.js';

t.test('/metrics after one /classify passes `promtool check metrics` and carries the operations series', async (t) => {
  const server = await metricsServer(t);
  // A message the WebSocket refuses counts under route /ws.
  const ws = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`);
  t.teardown(() => ws.close());
  ws.send('not json');
  t.match(await ws.next((m) => m.type === 'error'), { code: 'VALIDATION_ERROR' });
  const metrics = await server.request('GET', '/metrics');
  t.equal(metrics.status, 200);
  const text = metrics.text;

  const lint = await runWithInput('promtool', ['check', 'metrics'], text);
  t.equal(lint.code, 0, `promtool check metrics exits 0: ${lint.stdout}${lint.stderr}`);
  t.equal(lint.stdout.trim() + lint.stderr.trim(), '', 'no lint warnings');

  const pkg = JSON.parse(await readFile(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  for (const line of [
    new RegExp(`^capserve_build_info\\{version="${pkg.version}",node="${process.versions.node}",onnxruntime="\\d+\\.\\d+\\.\\d+"\\} 1$`, 'm'),
    /^capserve_ready 1$/m,
    // Two texts in one backend call of the classifier, on the CPU.
    /^capserve_model_call_duration_seconds_count\{model="tiny",device="cpu"\} 1$/m,
    /^capserve_model_call_texts_sum\{model="tiny",device="cpu"\} 2$/m,
    /^capserve_model_info\{model="tiny",backend="onnx",device="cpu",adapter=""\} 1$/m,
    /^capserve_errors_total\{code="VALIDATION_ERROR",route="\/classify"\} 1$/m,
    /^capserve_errors_total\{code="NOT_FOUND",route="unmatched"\} 1$/m,
    /^capserve_errors_total\{code="VALIDATION_ERROR",route="\/ws"\} 1$/m,
    /^capserve_http_request_duration_seconds_count\{method="POST",route="\/classify",status="200"\} 1$/m,
    // The stock process metrics, under their own names.
    /^process_cpu_seconds_total \d/m,
    /^nodejs_heap_size_used_bytes \d/m,
    /^nodejs_eventloop_lag_p99_seconds \d/m,
  ]) {
    t.match(text, line);
  }
  t.notMatch(text, /capserve_process_process_|capserve_process_nodejs_/, 'no doubled prefix');

  // The model was called once for two texts: a time above zero, not a placeholder.
  const seconds = Number(/^capserve_model_call_duration_seconds_sum\{model="tiny",device="cpu"\} (\S+)$/m.exec(text)?.[1]);
  t.ok(seconds > 0, `inference time observed (${seconds} s)`);
});
