import t from 'tap';
import { binaryRequest, bytesElements, startKserveApp } from '../../helpers/kserve.js';
import { recordingCapability } from '../../helpers/recording-capability.js';
import { startTestServer } from '../../helpers/test-server.js';

/**
 * Malformed V2 requests, each with the status and registry code it must get, in the V2 error
 * shape. Limits of the app: 8 texts per request, 100 characters per text, 64 KiB bodies.
 */
interface Case {
  readonly name: string;
  readonly method?: 'GET' | 'POST';
  readonly url?: string;
  readonly headers?: Record<string, string>;
  /** A Buffer or string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  readonly status: number;
  readonly code: string;
}

const infer = '/v2/models/embedding/infer';
const text = (data: unknown, shape: unknown = [Array.isArray(data) ? data.length : 1], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'text', shape, datatype: 'BYTES', data, ...extra }],
});
const ok = text(['fine']);

/** A binary request whose JSON declares `declared` bytes for `tensor`, with header length `headerLength` (the true one unless given). */
function binary(tensor: Buffer, options: { shape?: number[]; declared?: unknown; headerLength?: (real: number) => string } = {}): Pick<Case, 'headers' | 'body'> {
  const json = { inputs: [{ name: 'text', shape: options.shape ?? [1], datatype: 'BYTES', parameters: { binary_data_size: options.declared ?? tensor.length } }] };
  const { body, headerLength } = binaryRequest(json, tensor);
  return { body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': options.headerLength?.(headerLength) ?? String(headerLength) } };
}
const one = bytesElements(['fine']);
const lengthPrefix = (n: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(n);
  return bytes;
};

const cases: Case[] = [
  { name: 'body is not JSON', body: '{"inputs": [', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'empty body', body: '', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is an array', body: [ok], status: 400, code: 'VALIDATION_ERROR' },
  { name: 'body is null', body: 'null', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'inputs missing', body: { outputs: [] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown top-level field', body: { ...ok, texts: ['x'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a __proto__ key', body: `{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["x"]}],"__proto__":{"admin":true}}`, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'id is a number', body: { ...ok, id: 7 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a parameter value is an object', body: { ...ok, parameters: { nested: { a: 1 } } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'JSON header is not UTF-8', body: Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","inputs":[]}')]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'no inputs', body: { inputs: [] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'two inputs', body: { inputs: [...ok.inputs, { ...ok.inputs[0], name: 'other' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'wrong input name', body: { inputs: [{ ...ok.inputs[0], name: 'INPUT0' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'datatype mismatch (FP32)', body: { inputs: [{ ...ok.inputs[0], datatype: 'FP32' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'datatype in lower case', body: { inputs: [{ ...ok.inputs[0], datatype: 'bytes' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'shape mismatch [1, 2]', body: text(['a', 'b'], [1, 2]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'shape of rank 3', body: text(['a'], [1, 1, 1]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'empty shape', body: text(['a'], []), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'negative dimension', body: text(['a'], [-1]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'fractional dimension', body: text(['a'], [1.5]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'zero texts', body: text([], [0]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'element count below the shape', body: text(['a', 'b'], [3]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'element count above the shape', body: text(['a', 'b', 'c'], [2]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a nested row with two elements', body: text([['a', 'b'], ['c']], [2, 1]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'nesting deeper than the shape', body: text([['a'], ['b']], [2]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an element is a number', body: text(['a', 2]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an element is null', body: text([null]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'data is a string', body: text('fine', [1]), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'neither data nor binary_data_size', body: { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'both data and binary_data_size', body: text(['a'], [1], { parameters: { binary_data_size: 5 } }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty text', body: text(['']), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a lone surrogate', body: '{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["ok \\ud800 no"]}]}', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a text over MAX_TEXT_LENGTH', body: text(['x'.repeat(101)]), status: 413, code: 'TEXT_TOO_LONG' },
  { name: 'texts over MAX_TEXTS_PER_REQUEST', body: text(Array.from({ length: 9 }, (_, i) => `t${i}`)), status: 413, code: 'TOO_MANY_TEXTS' },
  { name: 'a shape claiming a billion texts', body: text(['a'], [1e9]), status: 413, code: 'TOO_MANY_TEXTS' },
  { name: 'a JSON body over BODY_LIMIT_BYTES', body: text(['x'.repeat(70_000)]), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'a binary body over BODY_LIMIT_BYTES', ...binary(bytesElements(['x'.repeat(70_000)])), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'an unknown output', body: { ...ok, outputs: [{ name: 'logits' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an output asked twice', body: { ...ok, outputs: [{ name: 'embedding' }, { name: 'embedding' }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty outputs list', body: { ...ok, outputs: [] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data not a boolean', body: { ...ok, outputs: [{ name: 'embedding', parameters: { binary_data: 'yes' } }] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data_output not a boolean', body: { ...ok, parameters: { binary_data_output: 1 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown model', url: '/v2/models/nope/infer', body: ok, status: 404, code: 'UNKNOWN_MODEL' },
  { name: 'an unknown version', url: '/v2/models/embedding/versions/2/infer', body: ok, status: 404, code: 'MODEL_VERSION_NOT_FOUND' },
  { name: 'metadata of an unknown model', method: 'GET', url: '/v2/models/nope', status: 404, code: 'UNKNOWN_MODEL' },
  { name: 'GET on the infer route', method: 'GET', url: infer, status: 404, code: 'NOT_FOUND' },
  { name: 'an unknown V2 route', method: 'GET', url: '/v2/repository/index', status: 404, code: 'NOT_FOUND' },
  { name: 'text/plain content type', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(ok), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // The binary tensor data extension.
  { name: 'header length not a number', ...binary(one, { headerLength: () => 'abc' }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length negative', ...binary(one, { headerLength: () => '-1' }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length fractional', ...binary(one, { headerLength: (n) => `${n}.5` }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length zero', ...binary(one, { headerLength: () => '0' }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length beyond the body', ...binary(one, { headerLength: (n) => String(n + one.length + 1) }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length too short (cuts the JSON)', ...binary(one, { headerLength: (n) => String(n - 3) }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'header length too long (runs into the tensor)', ...binary(one, { headerLength: (n) => String(n + 2) }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data_size above the bytes sent', ...binary(one, { declared: one.length + 4 }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data_size below the bytes sent', ...binary(one, { declared: one.length - 1 }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data_size negative', ...binary(one, { declared: -1 }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'binary_data_size a string', ...binary(one, { declared: String(one.length) }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a BYTES length overrunning the tensor', ...binary(Buffer.concat([lengthPrefix(1000), Buffer.from('fine')])), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a BYTES length of 2^32-1', ...binary(Buffer.concat([lengthPrefix(0xffffffff), Buffer.from('fine')])), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a truncated BYTES length prefix', ...binary(Buffer.concat([one, Buffer.from([1, 0])]), { shape: [2] }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'fewer BYTES elements than the shape', ...binary(one, { shape: [2] }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'more BYTES elements than the shape', ...binary(bytesElements(['a', 'b']), { shape: [1] }), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a BYTES element that is not UTF-8', ...binary(bytesElements([new Uint8Array([0x66, 0xc3, 0x28])])), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty BYTES element', ...binary(bytesElements([''])), status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a BYTES element over MAX_TEXT_LENGTH', ...binary(bytesElements(['y'.repeat(101)])), status: 413, code: 'TEXT_TOO_LONG' },
  {
    name: 'binary bytes after a JSON-only request',
    body: binaryRequest(ok, one).body,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(JSON.stringify(ok))) },
    status: 400,
    code: 'VALIDATION_ERROR',
  },
];

t.test(`${cases.length} malformed V2 requests each get the V2 error shape, the right status and code, and never reach the batcher`, async (t) => {
  t.ok(cases.length >= 60);
  const { app, service } = await startKserveApp(t);
  await service.start();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const before = service.stats.snapshot();
  for (const c of cases) {
    const method = c.method ?? 'POST';
    const init: RequestInit = { method, headers: c.headers ?? (method === 'POST' ? { 'content-type': 'application/json' } : {}) };
    if (method === 'POST') init.body = Buffer.isBuffer(c.body) ? c.body : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    const response = await fetch(`${url}${c.url ?? infer}`, init);
    const raw = await response.text();
    let body: { error?: unknown; code?: unknown } | undefined;
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      body = undefined;
    }
    t.equal(response.status, c.status, `${c.name}: status (${raw.slice(0, 200)})`);
    t.equal(body?.code, c.code, `${c.name}: code`);
    t.type(body?.error, 'string', `${c.name}: a V2 error message`);
    t.notMatch(raw, /\n\s+at /, `${c.name}: no stack trace`);
  }
  t.same(service.stats.snapshot(), before, 'no malformed request reached the batcher');
  const fine = await fetch(`${url}${infer}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ok) });
  t.equal(fine.status, 200, 'the server still serves a normal request');
  t.equal(((await fine.json()) as { outputs: { shape: number[] }[] }).outputs[0]?.shape[0], 1);
});

t.test('global hooks and the batcher answer in the V2 shape: 401, 429 with Retry-After, 500', async (t) => {
  const shout = recordingCapability('shout', [], { fail: (texts) => texts.includes('boom') });
  const server = await startTestServer(t, [shout], { apiKeys: ['secret-key-for-v2-tests'], rateLimit: { max: 3, windowMs: 60_000 }, maxQueuedTexts: 2 });
  const post = (body: unknown, headers: Record<string, string> = { authorization: 'Bearer secret-key-for-v2-tests' }) =>
    fetch(`${server.url}/v2/models/shout/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  const anonymous = await post(text(['hi']), {});
  t.equal(anonymous.status, 401);
  t.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
  t.match(await anonymous.json(), { error: /API key/, code: 'UNAUTHORIZED' });

  const fine = await post(text(['hi']));
  t.equal(fine.status, 200);
  t.same(((await fine.json()) as { outputs: unknown }).outputs, [{ name: 'result', datatype: 'BYTES', shape: [1], data: ['"shout(hi)"'] }], 'a custom capability: JSON strings');

  const overloaded = await post(text(['a', 'b', 'c']));
  t.equal(overloaded.status, 429);
  t.ok(Number(overloaded.headers.get('retry-after')) >= 1, 'Retry-After passes through');
  t.match(await overloaded.json(), { code: 'OVERLOADED', error: String });

  const failed = await post(text(['boom']));
  t.equal(failed.status, 500);
  t.match(await failed.json(), { code: 'CAPABILITY_FAILED', error: /shout/ });

  // The anonymous request stopped at the auth hook, before the rate limit counted it: this is the fourth.
  const limited = await post(text(['hi']));
  t.equal(limited.status, 429);
  t.ok(Number(limited.headers.get('retry-after')) >= 1);
  t.match(await limited.json(), { code: 'RATE_LIMITED', error: String });
});
