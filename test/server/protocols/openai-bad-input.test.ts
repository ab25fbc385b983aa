import OpenAI from 'openai';
import t from 'tap';
import { openaiLimits, openaiServer } from '../../helpers/openai-server.js';

/**
 * Malformed requests to the OpenAI routes, each with the status, capserve code and (when there
 * is one) the `param` it must get, always in OpenAI's error shape. docs/protocols/openai.md
 * carries the same table. Limits of the server: 8 inputs, 200 characters, 32 tokens a text.
 */
interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly contentType?: string;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  readonly status: number;
  readonly code: string;
  /** The `param` the error names; `null` for none. */
  readonly param: string | null;
}

const ok = { model: 'vector', input: 'fine' };
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const cases: Case[] = [
  { name: 'body is not JSON', body: '{"input": [', status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'empty JSON body', body: '', status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'body is an array', body: [ok], status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'body is null', body: 'null', status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'input missing', body: { model: 'vector' }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'model missing', body: { input: 'x' }, status: 400, code: 'VALIDATION_ERROR', param: 'model' },
  { name: 'input is a number', body: { model: 'vector', input: 7 }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'input is an object', body: { model: 'vector', input: { text: 'x' } }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'input is null', body: { model: 'vector', input: null }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'an input is null', body: { model: 'vector', input: ['x', null] }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'strings and numbers mixed', body: { model: 'vector', input: ['x', 1] }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'input is an empty string', body: { model: 'vector', input: '' }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'input is an empty array', body: { model: 'vector', input: [] }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'an empty string among the inputs', body: { model: 'vector', input: ['x', ''] }, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'a lone surrogate', body: '{"model":"vector","input":"ok \\ud800 no"}', status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'token ids (number[])', body: { model: 'vector', input: [101, 2023, 102] }, status: 400, code: 'TOKEN_IDS_UNSUPPORTED', param: 'input' },
  { name: 'token ids (number[][])', body: { model: 'vector', input: [[101, 102], [101]] }, status: 400, code: 'TOKEN_IDS_UNSUPPORTED', param: 'input' },
  { name: 'too many inputs', body: { model: 'vector', input: Array.from({ length: openaiLimits.maxTextsPerRequest + 1 }, (_, i) => `t${i}`) }, status: 413, code: 'TOO_MANY_TEXTS', param: 'input' },
  { name: 'an input over MAX_TEXT_LENGTH', body: { model: 'vector', input: ['x', 'y'.repeat(openaiLimits.maxTextLength + 1)] }, status: 413, code: 'TEXT_TOO_LONG', param: 'input' },
  { name: "an input over the model's tokens", body: { model: 'vector', input: 'word '.repeat(openaiLimits.maxTokens) }, status: 400, code: 'CONTEXT_LENGTH_EXCEEDED', param: 'input' },
  { name: 'a body over BODY_LIMIT_BYTES', body: { model: 'vector', input: 'x'.repeat(6 * 1024 * 1024) }, status: 413, code: 'PAYLOAD_TOO_LARGE', param: null },
  { name: 'model is a number', body: { model: 3, input: 'x' }, status: 400, code: 'VALIDATION_ERROR', param: 'model' },
  { name: 'an unknown model', body: { model: 'text-embedding-3-small', input: 'x' }, status: 404, code: 'UNKNOWN_MODEL', param: 'model' },
  { name: 'a capability that is not an embedding', body: { model: 'classification', input: 'x' }, status: 404, code: 'UNKNOWN_MODEL', param: 'model' },
  { name: 'an unknown encoding_format', body: { ...ok, encoding_format: 'int8' }, status: 400, code: 'VALIDATION_ERROR', param: 'encoding_format' },
  { name: 'encoding_format is null', body: { ...ok, encoding_format: null }, status: 400, code: 'VALIDATION_ERROR', param: 'encoding_format' },
  { name: 'dimensions is 0', body: { ...ok, dimensions: 0 }, status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' },
  { name: 'dimensions is negative', body: { ...ok, dimensions: -4 }, status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' },
  { name: 'dimensions is fractional', body: { ...ok, dimensions: 1.5 }, status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' },
  { name: 'dimensions is a string', body: { ...ok, dimensions: '8' }, status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' },
  { name: "dimensions over the model's", body: { ...ok, dimensions: 100_000 }, status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' },
  { name: 'user is a number', body: { ...ok, user: 42 }, status: 400, code: 'VALIDATION_ERROR', param: 'user' },
  { name: 'an unknown field', body: { ...ok, dimension: 8 }, status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'a prototype-polluting key', body: '{"model":"vector","input":"x","__proto__":{"admin":true}}', status: 400, code: 'VALIDATION_ERROR', param: null },
  { name: 'deeply nested input', body: `{"model":"vector","input":${nested(5000)}}`, status: 400, code: 'VALIDATION_ERROR', param: 'input' },
  { name: 'text/plain content type', contentType: 'text/plain', body: JSON.stringify(ok), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', param: null },
  { name: 'GET on the POST route', method: 'GET', status: 404, code: 'NOT_FOUND', param: null },
  { name: 'an unknown /v1 route', method: 'GET', path: '/v1/completions', status: 404, code: 'NOT_FOUND', param: null },
  { name: 'an unknown model by id', method: 'GET', path: '/v1/models/nope', status: 404, code: 'UNKNOWN_MODEL', param: 'model' },
];

const typeOf = (status: number): string => (status >= 500 ? 'server_error' : 'invalid_request_error');

t.test('every malformed request gets a 4xx in OpenAI shape with its code, and nothing reaches the batcher', async (t) => {
  const { client, service, url } = await openaiServer(t);
  const before = service.stats.snapshot();
  for (const c of cases) {
    const method = c.method ?? 'POST';
    const response = await fetch(url + (c.path ?? '/v1/embeddings'), {
      method,
      ...(method === 'GET' ? {} : { headers: { 'content-type': c.contentType ?? 'application/json' }, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }),
    });
    const body = (await response.json()) as { error?: Record<string, unknown> };
    t.equal(response.status, c.status, `${c.name}: status`);
    t.same(Object.keys(body.error ?? {}).sort(), ['code', 'message', 'param', 'type'], `${c.name}: OpenAI's error fields`);
    t.match(body.error, { code: c.code, param: c.param, type: typeOf(c.status), message: /\S/ }, `${c.name}: ${JSON.stringify(body.error)}`);
  }
  t.same(service.stats.snapshot(), before, 'no malformed request reached the batcher');

  const reply = await client.embeddings.create({ model: 'vector', input: ['still', 'working'] });
  t.equal(reply.data.length, 2, 'a normal request is answered afterwards');
  t.equal(service.stats.snapshot().requests.total, before.requests.total + 1, 'and it did reach the batcher');
});

t.test('the SDK raises BadRequestError for the same bodies it can send', async (t) => {
  const { client } = await openaiServer(t);
  const sent: { body: OpenAI.EmbeddingCreateParams; code: string; param: string }[] = [
    { body: { model: 'vector', input: [] }, code: 'VALIDATION_ERROR', param: 'input' },
    { body: { model: 'vector', input: 'x', dimensions: 0 }, code: 'VALIDATION_ERROR', param: 'dimensions' },
    { body: { model: 'vector', input: 'x', encoding_format: 'int8' as 'float' }, code: 'VALIDATION_ERROR', param: 'encoding_format' },
    { body: { model: 'vector', input: [[1, 2]] }, code: 'TOKEN_IDS_UNSUPPORTED', param: 'input' },
  ];
  for (const { body, code, param } of sent) {
    const error = await client.embeddings.create(body).catch((e: unknown) => e);
    t.ok(error instanceof OpenAI.BadRequestError, `${JSON.stringify(body)}: BadRequestError`);
    t.match(error, { status: 400, code, param });
  }
});
