import t from 'tap';
import { binaryRequest, bytesElements, readBytes, readFp32, splitBinaryResponse, startKserveApp } from '../../helpers/kserve.js';

const texts = ['I love this product', 'this is awful and broken'];

t.test('server metadata, health and readiness follow the service', async (t) => {
  const { app, service } = await startKserveApp(t);
  t.equal((await app.inject({ url: '/v2/health/live' })).statusCode, 200, 'live before start');
  const notReady = await app.inject({ url: '/v2/health/ready' });
  t.equal(notReady.statusCode, 400, 'not ready is a 4xx, as the protocol says');
  t.equal(notReady.body, '', 'health answers have no body');
  t.equal((await app.inject({ url: '/v2/models/embedding/ready' })).statusCode, 400);
  const early = await app.inject({ method: 'POST', url: '/v2/models/embedding/infer', payload: { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['x'] }] } });
  t.equal(early.statusCode, 503);
  t.same(early.json(), { error: early.json().error, code: 'NOT_READY' });

  await service.start();
  const server = await app.inject({ url: '/v2' });
  t.equal(server.statusCode, 200);
  t.match(server.json(), { name: 'capserve', version: /^\d+\.\d+\.\d+/, extensions: ['binary_tensor_data'] });
  for (const url of ['/v2/health/live', '/v2/health/ready', '/v2/models/embedding/ready', '/v2/models/sentiment/versions/1/ready']) {
    const response = await app.inject({ url });
    t.equal(response.statusCode, 200, url);
    t.equal(response.body, '', `${url}: no body`);
  }
  const unknown = await app.inject({ url: '/v2/models/nope/ready' });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'UNKNOWN_MODEL');
});

t.test('model metadata: one BYTES input, outputs per capability kind, version 1 only', async (t) => {
  const { app, service } = await startKserveApp(t);
  await service.start();
  const dimensions = service.pool.info('tiny-embedder')?.dimensions;
  t.ok(dimensions !== undefined && dimensions > 0);

  const embedding = await app.inject({ url: '/v2/models/embedding' });
  t.equal(embedding.statusCode, 200);
  t.same(embedding.json(), {
    name: 'embedding',
    versions: ['1'],
    platform: 'capserve_embedding',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [{ name: 'embedding', datatype: 'FP32', shape: [-1, dimensions] }],
  });
  t.same((await app.inject({ url: '/v2/models/embedding/versions/1' })).json(), embedding.json(), 'version 1 is the model');

  const sentiment = (await app.inject({ url: '/v2/models/sentiment' })).json();
  t.same(sentiment.outputs, [
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'score', datatype: 'FP32', shape: [-1] },
    { name: 'scores', datatype: 'FP32', shape: [-1, -1] },
  ], "a fitted head's labels are unknown until it answers");
  const classification = (await app.inject({ url: '/v2/models/classification' })).json();
  t.same(classification.outputs[2], { name: 'scores', datatype: 'FP32', shape: [-1, 2], parameters: { labels: '["NEGATIVE","POSITIVE"]' } });
  t.same((await app.inject({ url: '/v2/models/stats' })).json().outputs, [{ name: 'result', datatype: 'BYTES', shape: [-1] }]);

  const version = await app.inject({ url: '/v2/models/embedding/versions/2' });
  t.equal(version.statusCode, 404);
  t.equal(version.json().code, 'MODEL_VERSION_NOT_FOUND');
  t.type(version.json().error, 'string');
  const model = await app.inject({ url: '/v2/models/nope' });
  t.equal(model.statusCode, 404);
  t.equal(model.json().code, 'UNKNOWN_MODEL');
});

t.test('JSON inference equals /classify for an embedding and a classifier', async (t) => {
  const { app, service } = await startKserveApp(t);
  await service.start();
  const classify = await app.inject({ method: 'POST', url: '/classify', payload: { texts, capabilities: ['embedding', 'sentiment', 'stats'] } });
  t.equal(classify.statusCode, 200, classify.body.slice(0, 200));
  const expected = classify.json().results as { embedding: number[]; sentiment: { label: string; score: number; scores: Record<string, number> }; stats: unknown }[];

  const embedding = await app.inject({
    method: 'POST',
    url: '/v2/models/embedding/infer',
    payload: { id: 'req-1', inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: texts }] },
  });
  t.equal(embedding.statusCode, 200, embedding.body.slice(0, 200));
  const dimensions = expected[0]?.embedding.length ?? 0;
  t.same(embedding.json(), {
    model_name: 'embedding',
    model_version: '1',
    id: 'req-1',
    outputs: [{ name: 'embedding', datatype: 'FP32', shape: [2, dimensions], data: expected.flatMap((r) => r.embedding) }],
  });

  // [n, 1] in its natural nested form, on the versioned route.
  const sentiment = await app.inject({
    method: 'POST',
    url: '/v2/models/sentiment/versions/1/infer',
    payload: { inputs: [{ name: 'text', shape: [2, 1], datatype: 'BYTES', data: texts.map((text) => [text]) }] },
  });
  t.equal(sentiment.statusCode, 200, sentiment.body.slice(0, 200));
  const body = sentiment.json();
  t.notOk('id' in body, 'no id when the request gave none');
  const labels = Object.keys(expected[0]?.sentiment.scores ?? {});
  t.same(body.outputs, [
    { name: 'label', datatype: 'BYTES', shape: [2], data: expected.map((r) => r.sentiment.label) },
    { name: 'score', datatype: 'FP32', shape: [2], data: expected.map((r) => r.sentiment.score) },
    {
      name: 'scores',
      datatype: 'FP32',
      shape: [2, labels.length],
      parameters: { labels: JSON.stringify(labels) },
      data: expected.flatMap((r) => labels.map((label) => r.sentiment.scores[label])),
    },
  ]);

  const chosen = await app.inject({
    method: 'POST',
    url: '/v2/models/sentiment/infer',
    payload: { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: texts }], outputs: [{ name: 'label' }] },
  });
  t.same(chosen.json().outputs, [{ name: 'label', datatype: 'BYTES', shape: [2], data: expected.map((r) => r.sentiment.label) }], '`outputs` selects');

  const stats = await app.inject({ method: 'POST', url: '/v2/models/stats/infer', payload: { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: texts }] } });
  t.same(stats.json().outputs, [{ name: 'result', datatype: 'BYTES', shape: [2], data: expected.map((r) => JSON.stringify(r.stats)) }], 'other kinds: one JSON string per text');
});

t.test('the binary tensor data extension, request and response', async (t) => {
  const { app, service } = await startKserveApp(t);
  await service.start();
  const expected = (await app.inject({ method: 'POST', url: '/classify', payload: { texts, capabilities: ['embedding', 'sentiment'] } })).json().results as {
    embedding: number[];
    sentiment: { label: string; score: number; scores: Record<string, number> };
  }[];

  const tensor = bytesElements(texts);
  const { body, headerLength } = binaryRequest(
    {
      id: 'bin',
      inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: tensor.length } }],
      parameters: { binary_data_output: true },
      outputs: [{ name: 'scores' }, { name: 'label', parameters: { binary_data: false } }, { name: 'score' }],
    },
    tensor,
  );
  const response = await app.inject({
    method: 'POST',
    url: '/v2/models/sentiment/infer',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    payload: body,
  });
  t.equal(response.statusCode, 200, response.body.slice(0, 200));
  t.equal(response.headers['content-type'], 'application/octet-stream');
  const length = Number(response.headers['inference-header-content-length']);
  t.ok(length > 0 && length < response.rawPayload.length);
  const { json, tensors } = splitBinaryResponse(response.rawPayload, length);
  t.equal(json.id, 'bin');
  t.same(json.outputs.map((o) => o.name), ['scores', 'label', 'score'], 'in the order asked for');
  const labels = JSON.parse(String(json.outputs[0]?.parameters?.labels)) as string[];
  t.same(readFp32(tensors.get('scores') ?? Buffer.alloc(0)), expected.flatMap((r) => labels.map((label) => Math.fround(r.sentiment.scores[label] ?? NaN))));
  t.same(json.outputs[1], { name: 'label', datatype: 'BYTES', shape: [2], data: expected.map((r) => r.sentiment.label) }, 'binary_data: false overrides');
  t.same(json.outputs[2]?.parameters, { binary_data_size: 8 });
  t.same(readFp32(tensors.get('score') ?? Buffer.alloc(0)), expected.map((r) => Math.fround(r.sentiment.score)));

  // A BYTES output as binary, from a JSON request sent as application/json.
  const labelsOnly = await app.inject({
    method: 'POST',
    url: '/v2/models/sentiment/infer',
    payload: { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: texts }], outputs: [{ name: 'label', parameters: { binary_data: true } }] },
  });
  const split = splitBinaryResponse(labelsOnly.rawPayload, Number(labelsOnly.headers['inference-header-content-length']));
  t.same(readBytes(split.tensors.get('label') ?? Buffer.alloc(0)), expected.map((r) => r.sentiment.label));

  // Binary in, JSON out, multi-byte UTF-8 intact; the header's content-type may stay JSON.
  const unicode = ['naïve café ☕', '日本語のテキスト'];
  const unicodeTensor = bytesElements(unicode);
  const request = binaryRequest({ inputs: [{ name: 'text', shape: [2, 1], datatype: 'BYTES', parameters: { binary_data_size: unicodeTensor.length } }] }, unicodeTensor);
  const embedded = await app.inject({
    method: 'POST',
    url: '/v2/models/embedding/infer',
    headers: { 'content-type': 'application/json', 'inference-header-content-length': String(request.headerLength) },
    payload: request.body,
  });
  t.equal(embedded.statusCode, 200, embedded.body.slice(0, 200));
  const viaClassify = (await app.inject({ method: 'POST', url: '/classify', payload: { texts: unicode, capabilities: ['embedding'] } })).json().results as { embedding: number[] }[];
  t.same(embedded.json().outputs[0].data, viaClassify.flatMap((r) => r.embedding));

  // Embeddings as binary FP32 through a real HTTP client.
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const vectors = binaryRequest({ inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: tensor.length } }], parameters: { binary_data_output: true } }, tensor);
  const fetched = await fetch(`${url}/v2/models/embedding/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(vectors.headerLength) },
    body: vectors.body,
  });
  t.equal(fetched.status, 200);
  const bytes = Buffer.from(await fetched.arrayBuffer());
  const parsed = splitBinaryResponse(bytes, Number(fetched.headers.get('inference-header-content-length')));
  t.same(parsed.json.outputs[0]?.shape, [2, expected[0]?.embedding.length]);
  t.same(readFp32(parsed.tensors.get('embedding') ?? Buffer.alloc(0)), expected.flatMap((r) => r.embedding), 'float32 vectors survive exactly');
});

t.test('V2 requests share batches with /classify', async (t) => {
  const { app, service } = await startKserveApp(t, { BATCH_MODE: 'fixed', BATCH_WINDOW_MS: '200' });
  await service.start();
  const before = service.stats.snapshot();
  const [classify, v2] = await Promise.all([
    app.inject({ method: 'POST', url: '/classify', payload: { texts: ['shared one'], capabilities: ['sentiment'] } }),
    app.inject({ method: 'POST', url: '/v2/models/sentiment/infer', payload: { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['shared two'] }] } }),
  ]);
  t.equal(classify.statusCode, 200);
  t.equal(v2.statusCode, 200);
  const after = service.stats.snapshot();
  t.equal(after.requests.total - before.requests.total, 2);
  t.equal(after.batches.total - before.batches.total, 1, 'one batch answered both');
});
