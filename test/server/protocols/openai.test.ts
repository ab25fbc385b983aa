import OpenAI from 'openai';
import t from 'tap';
import { openaiLimits, openaiServer } from '../../helpers/openai-server.js';

const texts = ['the first text', 'a second, longer text about embeddings', 'the first text'];

/** The vectors `/classify` computes for `texts` with the `vector` capability: the reference. */
async function classifyVectors(url: string, input: readonly string[], headers: Record<string, string> = {}): Promise<number[][]> {
  const response = await fetch(`${url}/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ texts: input, capabilities: ['vector'] }),
  });
  const body = (await response.json()) as { results: { vector: number[] }[] };
  return body.results.map((result) => result.vector);
}

// One server for the tests that need no particular configuration: loading the model is the slow part.
const shared = await openaiServer(t);

const norm = (vector: ArrayLike<number>): number => Math.sqrt(Array.from(vector).reduce((sum, v) => sum + v * v, 0));

t.test('embeddings through the SDK equal what /classify computes, decoded from base64 by default or as floats', async (t) => {
  const { url } = shared;
  const expected = await classifyVectors(url, texts);
  // The SDK's own fetch, recording what it asks for.
  const asked: unknown[] = [];
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'not-checked',
    maxRetries: 0,
    fetch: async (input, init) => {
      asked.push(JSON.parse(String(init?.body)).encoding_format);
      return fetch(input, init);
    },
  });

  const byDefault = await client.embeddings.create({ model: 'vector', input: texts });
  t.same(asked, ['base64'], 'the SDK asks for base64 when the caller does not say');
  t.equal(byDefault.object, 'list');
  t.equal(byDefault.model, 'vector');
  t.same(byDefault.data.map((d) => d.index), [0, 1, 2], 'one embedding per input, in order');
  for (const [i, item] of byDefault.data.entries()) {
    t.equal(item.object, 'embedding');
    t.same(Array.from(item.embedding), expected[i], `input ${i}: the same float32 values`);
  }

  const floats = await client.embeddings.create({ model: 'vector', input: texts, encoding_format: 'float' });
  t.same(
    floats.data.map((d) => d.embedding),
    expected,
    'float: plain arrays of the same numbers',
  );

  const base64 = await client.embeddings.create({ model: 'vector', input: texts[1] as string, encoding_format: 'base64' });
  const encoded = base64.data[0]?.embedding as unknown as string;
  t.type(encoded, 'string', 'an explicit base64 is returned as the string');
  const bytes = Buffer.from(encoded, 'base64');
  t.equal(bytes.length, (expected[1]?.length ?? 0) * 4, 'four bytes per float32');
  t.same(
    Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4)),
    expected[1],
    'little-endian float32',
  );
  t.equal(base64.data.length, 1, 'a single string is one input');
});

t.test('dimensions truncates and re-normalises to unit length', async (t) => {
  const { client, url } = shared;
  const [full] = await classifyVectors(url, ['shorten me']);
  const k = 8;
  for (const encoding_format of ['float', 'base64'] as const) {
    const reply = await client.embeddings.create({ model: 'vector', input: 'shorten me', dimensions: k, encoding_format });
    const raw = reply.data[0]?.embedding as unknown;
    const vector =
      typeof raw === 'string' ? Array.from({ length: Buffer.from(raw, 'base64').length / 4 }, (_, i) => Buffer.from(raw, 'base64').readFloatLE(i * 4)) : (raw as number[]);
    t.equal(vector.length, k, `${encoding_format}: ${k} components`);
    t.ok(Math.abs(norm(vector) - 1) < 1e-5, `${encoding_format}: unit norm (${norm(vector)})`);
    const prefixNorm = norm(full?.slice(0, k) ?? []);
    vector.forEach((value, i) => t.ok(Math.abs(value - (full?.[i] ?? 0) / prefixNorm) < 1e-6, `component ${i} is the prefix's, scaled`));
  }
  const whole = await client.embeddings.create({ model: 'vector', input: 'shorten me', dimensions: full?.length ?? 0 });
  t.ok(Math.abs(norm(whole.data[0]?.embedding ?? []) - 1) < 1e-5, 'all the dimensions: still normalised');
});

t.test('usage counts the tokens the model sees, special tokens included', async (t) => {
  const { client, service } = shared;
  const input = ['one', 'two words', 'unbelievably tokenised text'];
  const tokenized = await service.tokenize('vector', input);
  const expected = tokenized.reduce((sum, text) => sum + text.tokens.length, 0);
  t.ok(tokenized.every((text) => text.tokens.some((token) => token.special)), 'the tokenizer reports [CLS] and [SEP]');
  const reply = await client.embeddings.create({ model: 'vector', input });
  t.same(reply.usage, { prompt_tokens: expected, total_tokens: expected });
  const single = await client.embeddings.create({ model: 'vector', input: 'one' });
  t.equal(single.usage.prompt_tokens, tokenized[0]?.tokens.length);
});

t.test('GET /v1/models lists the available embedding capabilities, and one by id', async (t) => {
  const { client } = shared;
  const list = await client.models.list();
  t.same(
    list.data.map((m) => m.id),
    ['vector'],
    'the classifier is not an embedding model',
  );
  t.match(list.data[0], { id: 'vector', object: 'model', created: Number, owned_by: 'capserve' });
  t.match(await client.models.retrieve('vector'), { id: 'vector', object: 'model', owned_by: 'capserve' });
  const missing = await client.models.retrieve('classification').catch((error: unknown) => error);
  t.ok(missing instanceof OpenAI.NotFoundError);
  t.match(missing, { status: 404, code: 'UNKNOWN_MODEL', type: 'invalid_request_error', param: 'model' });
});

t.test('errors surface as the SDK typed errors, with status, type, param and capserve code', async (t) => {
  const { client, url } = shared;
  const failure = (work: Promise<unknown>): Promise<unknown> =>
    work.then(
      () => t.fail('expected a failure'),
      (error: unknown) => error,
    );

  const unknown = await failure(client.embeddings.create({ model: 'nope', input: 'x' }));
  t.ok(unknown instanceof OpenAI.NotFoundError, 'unknown model: NotFoundError');
  t.match(unknown, { status: 404, code: 'UNKNOWN_MODEL', param: 'model', type: 'invalid_request_error', message: /nope.*does not exist.*vector/ });
  const classifier = await failure(client.embeddings.create({ model: 'classification', input: 'x' }));
  t.match(classifier, { status: 404, code: 'UNKNOWN_MODEL', message: /classifier capability, not an embedding/ });

  const long = 'word '.repeat(openaiLimits.maxTokens + 4);
  const context = await failure(client.embeddings.create({ model: 'vector', input: ['fine', long] }));
  t.ok(context instanceof OpenAI.BadRequestError, 'over the context length: BadRequestError');
  t.match(context, { status: 400, code: 'CONTEXT_LENGTH_EXCEEDED', param: 'input', message: new RegExp(`input\\[1\\] has \\d+ tokens.*at most ${openaiLimits.maxTokens}`) });

  const tokenIds = await failure(client.embeddings.create({ model: 'vector', input: [101, 2023, 102] }));
  t.ok(tokenIds instanceof OpenAI.BadRequestError);
  t.match(tokenIds, { status: 400, code: 'TOKEN_IDS_UNSUPPORTED', param: 'input' });

  const tooMany = await failure(client.embeddings.create({ model: 'vector', input: Array.from({ length: openaiLimits.maxTextsPerRequest + 1 }, (_, i) => `t${i}`) }));
  t.ok(tooMany instanceof OpenAI.APIError, '413 has no class of its own: APIError');
  t.match(tooMany, { status: 413, code: 'TOO_MANY_TEXTS', param: 'input', type: 'invalid_request_error' });

  const wide = await failure(client.embeddings.create({ model: 'vector', input: 'x', dimensions: 100_000 }));
  t.match(wide, { status: 400, code: 'VALIDATION_ERROR', param: 'dimensions' });

  const route = await failure(client.get('/no-such-route'));
  t.ok(route instanceof OpenAI.NotFoundError, 'an unknown /v1 route: NotFoundError');
  t.match(route, { status: 404, code: 'NOT_FOUND' });

  const raw = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nope', input: 'x' }) });
  t.same(Object.keys(((await raw.json()) as { error: object }).error).sort(), ['code', 'message', 'param', 'type'], "exactly OpenAI's error fields");
  const native = await fetch(`${url}/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.notOk('type' in ((await native.json()) as { error: object }).error, 'routes outside /v1 keep the capserve envelope');

  t.same((await client.embeddings.create({ model: 'vector', input: 'still fine' })).data.length, 1, 'a normal request afterwards');
});

t.test('a service that is not ready answers 503, an InternalServerError', async (t) => {
  const { client } = await openaiServer(t, { start: false });
  const error = await client.embeddings.create({ model: 'vector', input: 'x' }).catch((e: unknown) => e);
  t.ok(error instanceof OpenAI.InternalServerError);
  t.match(error, { status: 503, code: 'NOT_READY', type: 'server_error' });
  t.same((await client.models.list()).data, [], 'no models until the service has started');
});

t.test('API keys: the SDK authenticates with its apiKey; a missing or wrong key is a typed error', async (t) => {
  const key = 'openai-test-key-0123456789';
  const { client, url } = await openaiServer(t, { apiKeys: [key] });
  t.equal((await client.embeddings.create({ model: 'vector', input: 'x' })).data.length, 1, 'the right key');
  t.same(
    (await client.models.list()).data.map((m) => m.id),
    ['vector'],
  );

  const wrong = await new OpenAI({ baseURL: `${url}/v1`, apiKey: `${key}-wrong`, maxRetries: 0 }).embeddings.create({ model: 'vector', input: 'x' }).catch((e: unknown) => e);
  t.ok(wrong instanceof OpenAI.PermissionDeniedError, 'a wrong key: PermissionDeniedError');
  t.match(wrong, { status: 403, code: 'FORBIDDEN', type: 'permission_error' });

  const none = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'vector', input: 'x' }) });
  t.equal(none.status, 401);
  t.equal(none.headers.get('www-authenticate'), 'Bearer');
  t.match(await none.json(), { error: { code: 'UNAUTHORIZED', type: 'authentication_error', param: null, message: String } });
  const unauthenticated = await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0, defaultHeaders: { authorization: null } }).models.list().catch((e: unknown) => e);
  t.ok(unauthenticated instanceof OpenAI.AuthenticationError, 'no key: AuthenticationError');
  t.match(unauthenticated, { status: 401, code: 'UNAUTHORIZED' });
  const unknownRoute = await fetch(`${url}/v1/nothing-here`);
  t.equal(unknownRoute.status, 401, 'no key, no route discovery');
  t.match(await unknownRoute.json(), { error: { code: 'UNAUTHORIZED', type: 'authentication_error' } });
});

t.test('rate limits: RateLimitError with Retry-After kept', async (t) => {
  const key = 'openai-rate-key-0123456789';
  const { client } = await openaiServer(t, { apiKeys: [key], rateLimit: { max: 2, windowMs: 60_000 } });
  await client.models.list();
  await client.models.list();
  const limited = await client.embeddings.create({ model: 'vector', input: 'x' }).catch((e: unknown) => e);
  t.ok(limited instanceof OpenAI.RateLimitError);
  t.match(limited, { status: 429, code: 'RATE_LIMITED', type: 'rate_limit_error' });
  t.match((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'), /^\d+$/);
});
