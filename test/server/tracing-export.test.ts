import { createServer, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { freePort } from '../../scripts/free-port.js';
import { startTracing, tracesUrl } from '../../server/tracing.js';
import { LogRecorder } from '../helpers/log-records.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { until, within } from '../helpers/until.js';

/*
 * The real OTLP/HTTP exporter against collectors that fail: export is asynchronous and bounded,
 * so neither a closed port nor a collector that never answers slows or fails a request, and
 * shutting tracing down does not wait on them longer than its bound.
 */

const tracingOff = { otelExporterOtlpEndpoint: undefined, otelExporterOtlpTracesEndpoint: undefined, otelSdkDisabled: false, otelServiceName: 'capserve' };
/** Export as soon as a span ends, one span an export: the collector is asked at once and often. */
const eager = { scheduledDelayMillis: 1, maxExportBatchSize: 1 };

/** Milliseconds each of `count` sequential /classify requests took, every one checked to be answered 200. */
async function timedRequests(t: Test, server: TestServer, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const began = performance.now();
    const { status } = await server.post('/classify', { texts: [`text ${i}`], capabilities: ['echo'] });
    times.push(performance.now() - began);
    if (status !== 200) t.fail(`request ${i} answered ${status}`);
  }
  return times;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** A collector that takes connections and reads requests but never answers, counting the exports it was sent. */
async function silentCollector(t: Test): Promise<{ readonly url: string; exports(): number }> {
  const sockets = new Set<Socket>();
  let received = '';
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, exports: () => received.split('POST /v1/traces').length - 1 };
}

t.test('the configuration turns tracing on only with an endpoint, and not when OTEL_SDK_DISABLED is true', async (t) => {
  t.equal(tracesUrl(tracingOff), undefined, 'no endpoint: off');
  t.equal(tracesUrl({ ...tracingOff, otelExporterOtlpEndpoint: 'http://collector:4318/' }), 'http://collector:4318/v1/traces', 'the traces path is appended');
  t.equal(tracesUrl({ ...tracingOff, otelExporterOtlpEndpoint: 'http://a:4318', otelExporterOtlpTracesEndpoint: 'http://b/traces' }), 'http://b/traces', 'the traces endpoint wins, as it is');
  t.equal(tracesUrl({ ...tracingOff, otelExporterOtlpEndpoint: 'http://a:4318', otelSdkDisabled: true }), undefined, 'disabled');
  const logs = new LogRecorder('info');
  t.equal(startTracing(tracingOff, logs.logger).enabled, false);
  t.same(logs.records, [], 'nothing said when off');
});

t.test('a collector on a closed port: every request answers, the failure is logged (not per span), shutdown is bounded', async (t) => {
  const server = await startTestServer(t, [recordingCapability('echo')]);
  const logs = new LogRecorder('warn');
  const closed = await freePort();
  const tracing = startTracing({ ...tracingOff, otelExporterOtlpEndpoint: `http://127.0.0.1:${closed}` }, logs.logger, eager);
  t.teardown(() => tracing.shutdown(100));
  t.ok(tracing.enabled);
  const times = await timedRequests(t, server, 20);
  t.equal(times.length, 20, 'every request answered');
  const failure = await logs.next((record) => record.msg.startsWith('tracing export failed'), 'an export failure', 30_000);
  t.equal(failure.level, 40, 'a warning');
  await timedRequests(t, server, 10);
  t.equal(logs.records.filter((record) => record.msg.startsWith('tracing export failed')).length, 1, 'at most one line a minute, not one per export');
  const began = performance.now();
  await tracing.shutdown(500);
  t.ok(performance.now() - began < 3000, 'shutdown did not wait on the dead collector');
});

t.test('a collector that never answers: requests answer while its export is pending, as fast as with tracing off', async (t) => {
  const server = await startTestServer(t, [recordingCapability('echo')]);
  const baseline = await timedRequests(t, server, 20);
  const collector = await silentCollector(t);
  const tracing = startTracing({ ...tracingOff, otelExporterOtlpEndpoint: collector.url }, new LogRecorder('silent').logger, eager);
  t.teardown(() => tracing.shutdown(100));
  await timedRequests(t, server, 1);
  await until(() => collector.exports() > 0, { what: 'the first export to reach the collector' });

  // The collector has the export and will never answer it: the requests below are served while it hangs.
  const traced = await timedRequests(t, server, 20);
  t.equal(collector.exports(), 1, 'one export in flight, unanswered: the processor sends the next only after it, so nothing piles up');
  t.ok(median(traced) < median(baseline) + 250, `no request waits on the export (median ${median(traced).toFixed(1)} ms, ${median(baseline).toFixed(1)} ms with tracing off)`);
  t.ok(Math.max(...traced) < 5000, 'none near any export timeout');

  await within(tracing.shutdown(500), { what: 'shutdown bounded while the collector hangs', timeoutMs: 3000 });
  t.pass('shutdown returned within its bound');
  t.equal((await server.post('/classify', { texts: ['after'], capabilities: ['echo'] })).status, 200, 'the server still answers with tracing shut down');
});
