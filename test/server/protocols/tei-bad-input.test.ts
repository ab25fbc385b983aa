import t from 'tap';
import { CapserveError, type ErrorCode } from '../../../core/errors.js';
import { toTeiError } from '../../../server/protocols/tei/tei-error.js';
import { recordingCapability } from '../../helpers/recording-capability.js';
import { startTeiApp, teiMaxTokens, wordsText } from '../../helpers/tei.js';
import { startTestServer } from '../../helpers/test-server.js';

/**
 * Malformed TEI requests, each with the status and TEI `error_type` it must get. Limits of the
 * app: 8 texts per request, 400 characters per text, 64 KiB bodies, 24 tokens per text.
 */
interface Case {
  readonly name: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  readonly body: unknown;
  readonly status: number;
  readonly type: string;
  /** A part of the message that says what was wrong. */
  readonly message?: RegExp;
}

const nine = Array.from({ length: 9 }, (_, i) => `text ${i}`);
const overLong = wordsText(teiMaxTokens + 10);

const cases: Case[] = [
  { name: 'embed: inputs of the wrong type', url: '/embed', body: { inputs: 42 }, status: 422, type: 'Validation' },
  { name: 'embed: no inputs', url: '/embed', body: {}, status: 422, type: 'Validation' },
  { name: 'embed: an empty batch', url: '/embed', body: { inputs: [] }, status: 400, type: 'Empty', message: /`inputs` cannot be empty/ },
  { name: 'embed: an empty text', url: '/embed', body: { inputs: ['fine', ''] }, status: 422, type: 'Validation', message: /empty string/ },
  { name: 'embed: too many inputs', url: '/embed', body: { inputs: nine }, status: 413, type: 'Validation', message: /9 texts/ },
  { name: 'embed: a text over MAX_TEXT_LENGTH', url: '/embed', body: { inputs: 'x'.repeat(401) }, status: 413, type: 'Validation' },
  {
    name: 'embed: a text over the token limit, without truncate',
    url: '/embed',
    body: { inputs: ['fine', overLong] },
    status: 422,
    type: 'Validation',
    message: new RegExp(`must have less than ${teiMaxTokens} tokens. Given: ${teiMaxTokens + 12}`),
  },
  { name: 'embed: truncate: false is the same', url: '/embed', body: { inputs: overLong, truncate: false }, status: 422, type: 'Validation' },
  { name: 'embed: an unknown field', url: '/embed', body: { inputs: 'fine', normalise: true }, status: 422, type: 'Validation', message: /normalise/ },
  { name: 'embed: normalize not a boolean', url: '/embed', body: { inputs: 'fine', normalize: 'yes' }, status: 422, type: 'Validation' },
  { name: 'embed: an unknown truncation_direction', url: '/embed', body: { inputs: 'fine', truncation_direction: 'Up' }, status: 422, type: 'Validation' },
  { name: 'embed: dimensions 0', url: '/embed', body: { inputs: 'fine', dimensions: 0 }, status: 422, type: 'Validation', message: /should be positive/ },
  { name: 'embed: dimensions over the model', url: '/embed', body: { inputs: 'fine', dimensions: 33 }, status: 422, type: 'Validation', message: /smaller than/ },
  { name: 'embed: dimensions not an integer', url: '/embed', body: { inputs: 'fine', dimensions: 1.5 }, status: 422, type: 'Validation' },
  { name: 'embed: a prompt_name', url: '/embed', body: { inputs: 'fine', prompt_name: 'query' }, status: 422, type: 'Validation', message: /prompt/ },
  { name: 'embed: token ids', url: '/embed', body: { inputs: [101, 2023, 102] }, status: 422, type: 'Validation', message: /token ids/ },
  { name: 'embed: a lone surrogate', url: '/embed', body: '{"inputs":"bad \\ud800 text"}', status: 422, type: 'Validation', message: /well-formed/ },
  { name: 'embed: not JSON', url: '/embed', body: '{"inputs":', status: 422, type: 'Validation' },
  { name: 'embed: text/plain', url: '/embed', headers: { 'content-type': 'text/plain' }, body: 'fine', status: 415, type: 'Validation' },
  { name: 'embed: a body over BODY_LIMIT_BYTES', url: '/embed', body: { inputs: 'x'.repeat(70_000) }, status: 413, type: 'Validation' },
  { name: 'POST /: the same checks', url: '/', body: { inputs: [] }, status: 400, type: 'Empty' },
  { name: 'predict: a pair of texts', url: '/predict', body: { inputs: ['a', 'b'] }, status: 422, type: 'Validation', message: /pair/ },
  { name: 'predict: three strings', url: '/predict', body: { inputs: ['a', 'b', 'c'] }, status: 422, type: 'Validation' },
  { name: 'predict: an empty list', url: '/predict', body: { inputs: [] }, status: 422, type: 'Validation' },
  { name: 'predict: a pair in a batch', url: '/predict', body: { inputs: [['a'], ['b', 'c']] }, status: 422, type: 'Validation', message: /pair/ },
  { name: 'predict: a batch of mixed shapes', url: '/predict', body: { inputs: [['a'], 'b'] }, status: 422, type: 'Validation' },
  { name: 'predict: raw_scores', url: '/predict', body: { inputs: 'fine', raw_scores: true }, status: 422, type: 'Validation', message: /raw_scores/ },
  { name: 'predict: too many inputs', url: '/predict', body: { inputs: nine.map((text) => [text]) }, status: 413, type: 'Validation' },
  { name: 'predict: over the token limit', url: '/predict', body: { inputs: overLong }, status: 422, type: 'Validation', message: /tokens/ },
  { name: 'rerank: no texts', url: '/rerank', body: { query: 'q', texts: [] }, status: 400, type: 'Empty', message: /`texts` cannot be empty/ },
  { name: 'rerank: no query', url: '/rerank', body: { texts: ['a'] }, status: 422, type: 'Validation' },
  { name: 'rerank: too many texts', url: '/rerank', body: { query: 'q', texts: nine }, status: 413, type: 'Validation' },
  { name: 'rerank: an over-long query', url: '/rerank', body: { query: overLong, texts: ['a'] }, status: 422, type: 'Validation', message: /tokens/ },
  { name: 'rerank: an unknown field', url: '/rerank', body: { query: 'q', texts: ['a'], top_n: 1 }, status: 422, type: 'Validation' },
  { name: 'tokenize: an empty batch', url: '/tokenize', body: { inputs: [] }, status: 400, type: 'Empty' },
  { name: 'tokenize: inputs of the wrong type', url: '/tokenize', body: { inputs: 5 }, status: 422, type: 'Validation' },
  { name: 'tokenize: too many inputs', url: '/tokenize', body: { inputs: nine }, status: 413, type: 'Validation' },
  { name: 'tokenize: a prompt_name', url: '/tokenize', body: { inputs: 'fine', prompt_name: 'query' }, status: 422, type: 'Validation' },
];

const fine: Record<string, unknown> = {
  '/embed': { inputs: 'fine' },
  '/': { inputs: 'fine' },
  '/predict': { inputs: 'fine' },
  '/rerank': { query: 'fine', texts: ['good'] },
  '/tokenize': { inputs: 'fine' },
};

t.test("bad TEI requests get TEI's error shape and status, reach no batch, and the server goes on", async (t) => {
  const { app, service } = await startTeiApp(t);
  await service.start();
  for (const c of cases) {
    const before = service.stats.snapshot();
    const response = await app.inject({
      method: 'POST',
      url: c.url,
      headers: c.headers ?? { 'content-type': 'application/json' },
      payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
    });
    t.equal(response.statusCode, c.status, `${c.name}: status (${response.body})`);
    const body = response.json() as { error: string; error_type: string };
    t.same(Object.keys(body).sort(), ['error', 'error_type'], `${c.name}: TEI's shape`);
    t.equal(body.error_type, c.type, `${c.name}: error_type`);
    if (c.message !== undefined) t.match(body.error, c.message, `${c.name}: message`);
    t.same(service.stats.snapshot(), before, `${c.name}: nothing reached the batcher`);
    const after = await app.inject({ method: 'POST', url: c.url, payload: fine[c.url] as Record<string, unknown> });
    t.equal(after.statusCode, 200, `${c.name}: a good request afterwards (${after.body})`);
  }
});

t.test('before the models load: 503 Unhealthy', async (t) => {
  const { app } = await startTeiApp(t);
  const response = await app.inject({ method: 'POST', url: '/embed', payload: { inputs: 'fine' } });
  t.equal(response.statusCode, 503);
  t.same(response.json(), { error: 'The server is still loading its models.', error_type: 'Unhealthy' });
});

t.test('a TEI setting naming the wrong capability: 424 Backend', async (t) => {
  const { app, service } = await startTeiApp(t, { TEI_EMBEDDING_CAPABILITY: 'ghost', TEI_CLASSIFIER_CAPABILITY: 'embedding' });
  await service.start();
  const embed = await app.inject({ method: 'POST', url: '/embed', payload: { inputs: 'fine' } });
  t.equal(embed.statusCode, 424);
  t.match(embed.json(), { error: /ghost/, error_type: 'Backend' });
  const predict = await app.inject({ method: 'POST', url: '/predict', payload: { inputs: 'fine' } });
  t.equal(predict.statusCode, 424);
  t.match(predict.json(), { error: /does not give label scores/, error_type: 'Backend' });
});

t.test('auth, rate limits, admission control and failures reach TEI clients in its shape', async (t) => {
  const key = 'k3y-for-tei-tests-0123456789';
  const vector = recordingCapability('embedding', [], { results: (texts) => texts.map(() => [3, 4]), fail: (texts) => texts.includes('explode') });
  const server = await startTestServer(t, [vector], { apiKeys: [key], maxQueuedTexts: 3, rateLimit: { max: 6, windowMs: 60_000 } });
  const post = async (body: unknown, authorization?: string) => {
    const response = await fetch(`${server.url}/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const none = await post({ inputs: 'fine' });
  t.equal(none.status, 401);
  t.equal(none.headers.get('www-authenticate'), 'Bearer');
  t.match(none.body, { error: /API key/, error_type: 'Unauthorized' });
  t.match(await post({ inputs: 'fine' }, `Bearer ${key}x`), { status: 403, body: { error_type: 'Unauthorized' } });

  const bearer = `Bearer ${key}`;
  t.match(await post({ inputs: 'fine' }, bearer), { status: 200, body: [[0.6, 0.8]] });
  const overloaded = await post({ inputs: ['a', 'b', 'c', 'd'] }, bearer);
  t.match(overloaded, { status: 429, body: { error_type: 'Overloaded' } });
  t.ok(Number(overloaded.headers.get('retry-after')) >= 1, 'Retry-After kept');
  t.match(await post({ inputs: ['fine', 'explode'] }, bearer), { status: 424, body: { error_type: 'Backend', error: String } });
  t.equal(vector.executions.length, 2, 'the refused requests ran nothing');
  let limited = await post({ inputs: 'fine' }, bearer);
  for (let tries = 0; limited.status === 200 && tries < 10; tries++) limited = await post({ inputs: 'fine' }, bearer);
  t.match(limited, { status: 429, body: { error_type: 'Overloaded', error: /requests in/ } }, 'past RATE_LIMIT_MAX');
  t.ok(Number(limited.headers.get('retry-after')) >= 1);
});

t.test('every registry code has a TEI status and type', async (t) => {
  const expected: [ErrorCode, number, string][] = [
    ['VALIDATION_ERROR', 422, 'Validation'],
    ['CONTEXT_LENGTH_EXCEEDED', 422, 'Validation'],
    ['TOO_MANY_TEXTS', 413, 'Validation'],
    ['PAYLOAD_TOO_LARGE', 413, 'Validation'],
    ['UNAUTHORIZED', 401, 'Unauthorized'],
    ['OVERLOADED', 429, 'Overloaded'],
    ['RATE_LIMITED', 429, 'Overloaded'],
    ['NOT_READY', 503, 'Unhealthy'],
    ['SHUTTING_DOWN', 503, 'Unhealthy'],
    ['CAPABILITY_UNAVAILABLE', 503, 'Unhealthy'],
    ['CAPABILITY_FAILED', 424, 'Backend'],
    ['CAPABILITY_TIMEOUT', 424, 'Backend'],
    ['DEADLINE_EXCEEDED', 424, 'Backend'],
    ['INTERNAL_ERROR', 424, 'Backend'],
    ['UNKNOWN_CAPABILITY', 424, 'Backend'],
  ];
  for (const [code, status, type] of expected) {
    t.same(toTeiError(new CapserveError(code, 'm')), { status, body: { error: 'm', error_type: type } }, code);
  }
  t.same(toTeiError(new CapserveError('VALIDATION_ERROR', 'none', { details: { empty: true } })).body.error_type, 'Empty');
});
