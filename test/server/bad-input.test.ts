import t from 'tap';
import { WebSocket } from 'ws';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';
import { TestWsClient } from '../helpers/ws-client.js';

/**
 * Malformed requests, each with the status and error code it must get. Limits of the test
 * server: 8 texts per request, 100 characters per text, 64 KiB bodies, 2 MiB uploads.
 */
interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly contentType?: string;
  /** A string is sent as is; anything else as JSON; a FormData as multipart. */
  readonly body?: unknown;
  readonly status: number;
  readonly code: string;
}

const json = 'application/json';
const ok = { texts: ['fine'], capabilities: ['classification'] };
const form = (fields: Record<string, string>, files: [string, Uint8Array][] = []): FormData => {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.append(key, value);
  for (const [name, bytes] of files) data.append('file', new Blob([bytes]), name);
  return data;
};
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const cases: Case[] = [
  { name: 'body is not JSON', body: '{"texts": [', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'empty JSON body', body: '', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is an array', body: [ok], status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is a string', body: '"texts"', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is null', body: 'null', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'texts missing', body: { capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'capabilities missing', body: { texts: ['x'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'texts is a string', body: { texts: 'x', capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a text is a number', body: { texts: [1], capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a text is null', body: { texts: [null], capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a text is an object', body: { texts: [{ text: 'x' }], capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'no texts', body: { texts: [], capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty text', body: { texts: [''], capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'no capabilities', body: { texts: ['x'], capabilities: [] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a capability is a number', body: { texts: ['x'], capabilities: [7] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty capability name', body: { texts: ['x'], capabilities: [''] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown field', body: { ...ok, extra: true }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a prototype-polluting key', body: '{"texts":["x"],"capabilities":["classification"],"__proto__":{"admin":true}}', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown capability', body: { texts: ['x'], capabilities: ['nope'] }, status: 400, code: 'UNKNOWN_CAPABILITY' },
  { name: 'a capability twice', body: { texts: ['x'], capabilities: ['classification', 'classification'] }, status: 400, code: 'DUPLICATE_CAPABILITY' },
  { name: 'too many texts', body: { texts: Array.from({ length: 9 }, (_, i) => `t${i}`), capabilities: ['classification'] }, status: 413, code: 'TOO_MANY_TEXTS' },
  { name: 'a huge array', body: { texts: Array.from({ length: 5000 }, () => 'x'), capabilities: ['classification'] }, status: 413, code: 'TOO_MANY_TEXTS' },
  { name: 'a text over the length limit', body: { texts: ['x'.repeat(101)], capabilities: ['classification'] }, status: 413, code: 'TEXT_TOO_LONG' },
  { name: 'a huge string (over the body limit)', body: { texts: ['x'.repeat(200_000)], capabilities: ['classification'] }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'a lone high surrogate', body: '{"texts":["ok \\ud800 no"],"capabilities":["classification"]}', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a lone low surrogate', body: '{"texts":["\\udc00"],"capabilities":["classification"]}', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'deeply nested JSON', body: nested(20_000), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'deeply nested texts', body: `{"texts":${nested(5000)},"capabilities":["classification"]}`, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a negative timeoutMs', body: { ...ok, timeoutMs: -1 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'timeoutMs as a string', body: { ...ok, timeoutMs: '100' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a fractional timeoutMs', body: { ...ok, timeoutMs: 1.5 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'text/plain content type', contentType: 'text/plain', body: JSON.stringify(ok), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'XML content type', contentType: 'application/xml', body: '<texts/>', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'GET on a POST route', method: 'GET', status: 404, code: 'NOT_FOUND' },
  { name: 'an unknown route', path: '/nope', method: 'GET', status: 404, code: 'NOT_FOUND' },
  { name: 'a file-system path as a route', path: '/../../etc/passwd', method: 'GET', status: 404, code: 'NOT_FOUND' },
  { name: 'an unknown job', path: '/jobs/no-such-job', method: 'GET', status: 404, code: 'JOB_NOT_FOUND' },
  { name: 'cancelling an unknown job', path: '/jobs/no-such-job', method: 'DELETE', status: 404, code: 'JOB_NOT_FOUND' },
  { name: '/process with neither text nor file', path: '/process', body: { capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: '/process with an empty text', path: '/process', body: { text: '', capabilities: ['classification'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: '/process with a lone surrogate', path: '/process', body: '{"text":"\\ud800","capabilities":["classification"]}', status: 400, code: 'VALIDATION_ERROR' },
  { name: '/process with an unknown capability', path: '/process', body: { text: 'x', capabilities: ['nope'] }, status: 400, code: 'UNKNOWN_CAPABILITY' },
  { name: '/process with options not an object', path: '/process', body: { text: 'x', capabilities: ['classification'], options: [1] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: '/process with a bad priority', path: '/process', body: { text: 'x', capabilities: ['classification'], priority: 'now' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: '/process with a file path instead of a file', path: '/process', body: { file: '/etc/passwd', capabilities: ['ocr'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'multipart without a file or text', path: '/process', body: form({ capabilities: 'classification' }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'multipart with two files', path: '/process', body: form({ capabilities: 'ocr' }, [['a.png', new Uint8Array([1])], ['b.png', new Uint8Array([2])]]), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'multipart with unknown bytes', path: '/process', body: form({ capabilities: 'ocr' }, [['x.png', new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7])]]), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'multipart with an empty file', path: '/process', body: form({ capabilities: 'ocr' }, [['x.png', new Uint8Array(0)]]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'multipart over the upload limit', path: '/process', body: form({ capabilities: 'ocr' }, [['x.png', new Uint8Array(3 * 1024 * 1024)]]), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'multipart with capabilities as broken JSON', path: '/process', body: form({ capabilities: '["ocr"' }, [['x.png', new Uint8Array([137, 80])]]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'multipart without a boundary', path: '/process', contentType: 'multipart/form-data', body: 'garbage', status: 400, code: 'VALIDATION_ERROR' },
];

t.test(`${cases.length} malformed HTTP requests each get the right status and code`, async (t) => {
  t.ok(cases.length >= 40);
  const classification = recordingCapability('classification');
  const server = await startTestServer(t, [classification], { jobs: {} });
  for (const c of cases) {
    const init: RequestInit = { method: c.method ?? 'POST' };
    if (c.body instanceof FormData) {
      init.body = c.body;
    } else if (c.body !== undefined || init.method === 'POST') {
      init.body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body ?? {});
      init.headers = { 'content-type': c.contentType ?? json };
    }
    if (c.contentType !== undefined) init.headers = { 'content-type': c.contentType };
    const response = await fetch(`${server.url}${c.path ?? '/classify'}`, init);
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    t.equal(response.status, c.status, `${c.name}: status (${text.slice(0, 200)})`);
    t.equal(body?.error?.code, c.code, `${c.name}: code`);
    t.type(body?.error?.message, 'string', `${c.name}: a human message`);
    t.notMatch(text, /\n\s+at /, `${c.name}: no stack trace`);
  }
  t.equal(classification.executions.length, 0, 'no malformed request ran a capability');
  const fine = await server.post('/classify', ok);
  t.equal(fine.status, 200, 'the server still serves a normal request');
  t.same(fine.body.results, [{ classification: 'classification(fine)' }]);
});

t.test('malformed WebSocket messages get errors on an open socket; an oversized frame closes it with 1009', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')]);
  const url = `${server.url.replace('http', 'ws')}/ws`;
  const client = await TestWsClient.connect(url);
  t.teardown(() => client.close());
  const messages: [unknown, string][] = [
    ['{"id": 1, "texts": [', 'VALIDATION_ERROR'],
    ['[1, 2]', 'VALIDATION_ERROR'],
    [{ id: 2, type: 'dance' }, 'VALIDATION_ERROR'],
    [{ id: 3, texts: [''], capabilities: ['classification'] }, 'VALIDATION_ERROR'],
    [{ id: 4, texts: ['x'], capabilities: ['nope'] }, 'UNKNOWN_CAPABILITY'],
    [{ id: 5, texts: ['x'.repeat(101)], capabilities: ['classification'] }, 'TEXT_TOO_LONG'],
    [{ id: 6, texts: ['\ud800'], capabilities: ['classification'] }, 'VALIDATION_ERROR'],
  ];
  for (const [message, code] of messages) {
    const before = client.received.length;
    client.send(message);
    const reply = await client.next((m) => client.received.indexOf(m) >= before && m.type === 'error');
    t.equal(reply.code, code, JSON.stringify(message).slice(0, 60));
  }
  client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  t.equal((await client.next((m) => /binary/.test(String(m.message)))).code, 'VALIDATION_ERROR');
  client.send({ id: 'fine', texts: ['x'], capabilities: ['classification'] });
  t.equal((await client.next((m) => m.id === 'fine' && m.type === 'done')).type, 'done', 'still open and serving');

  const big = new WebSocket(url);
  await new Promise((resolve, reject) => big.once('open', resolve).once('error', reject));
  const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
  big.send(JSON.stringify({ id: 'big', texts: ['x'.repeat(100_000)], capabilities: ['classification'] }));
  t.equal(await closed, 1009, 'message too big');
});

t.test('a socket that sends too many messages a second gets RATE_LIMITED errors and stays open', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { wsMaxMessagesPerSecond: 5 });
  const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`);
  t.teardown(() => client.close());
  for (let i = 0; i < 8; i += 1) client.send({ id: i, texts: ['x'], capabilities: ['classification'] });
  const limited = await client.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
  t.match(limited.message, /more than 5 messages/);
  await client.next((m) => m.id === 4 && m.type === 'done');
  t.equal(client.received.filter((m) => m.code === 'RATE_LIMITED').length >= 1, true);
  // The window is the server's wall-clock second: probe until a message is served again. A
  // refused probe is answered with a RATE_LIMITED error (without an id), a served one ends with
  // its own `done` (or its own error).
  let probes = 0;
  const served = await until(
    async () => {
      probes += 1;
      const id = `later-${probes}`;
      const before = client.received.length;
      client.send({ id, texts: ['x'], capabilities: ['classification'] });
      const reply = await client.next((m) => client.received.indexOf(m) >= before && ((m.id === id && (m.type === 'done' || m.type === 'error')) || m.code === 'RATE_LIMITED'));
      return reply.id === id ? reply : undefined;
    },
    { what: 'the socket to be served again in the next second', timeoutMs: 5000, intervalMs: 50 },
  );
  t.equal(served.type, 'done', 'served again in the next second');
});

t.test('responses carry security headers', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')]);
  const reply = await server.get('/health');
  t.equal(reply.headers.get('x-content-type-options'), 'nosniff');
  t.equal(reply.headers.get('x-frame-options'), 'DENY');
  t.equal(reply.headers.get('cache-control'), 'no-store');
  t.equal(reply.headers.get('referrer-policy'), 'no-referrer');
});
