import { InferenceClient } from '@huggingface/inference';
import { AutoTokenizer } from '@huggingface/transformers';
import t, { type Test } from 'tap';
import { cosine } from '../../../capabilities/math/vectors.js';
import { simpleTokens, utf8Offsets } from '../../../server/protocols/tei/tokenize-route.js';
import { teiMaxTokens, startTeiApp, wordsText } from '../../helpers/tei.js';

const unit = (vector: readonly number[]): number[] => {
  const length = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return vector.map((value) => value / length);
};
const close = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((value, i) => Math.abs(value - (b[i] ?? NaN)) < 1e-5);

/** The app listening on loopback and started; `post` sends JSON with fetch, `classify` asks /classify. */
async function listening(t: Test, env: Record<string, string> = {}) {
  const started = await startTeiApp(t, env);
  const url = await started.app.listen({ port: 0, host: '127.0.0.1' });
  await started.service.start();
  const post = async (path: string, body: unknown) => {
    const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const classify = async (texts: string[], capability: string): Promise<any[]> => {
    const { status, body } = await post('/classify', { texts, capabilities: [capability] });
    if (status !== 200) throw new Error(`/classify answered ${status}: ${JSON.stringify(body)}`);
    return body.results.map((result: Record<string, unknown>) => result[capability]);
  };
  return { ...started, url, post, classify };
}

t.test('the Hugging Face client embeds through /embed and POST / (its endpointUrl), as /classify does', async (t) => {
  const { url, classify } = await listening(t);
  const texts = ['I love this', 'the parcel never arrived'];
  const expected = (await classify(texts, 'embedding')) as number[][];
  const client = new InferenceClient();

  for (const endpointUrl of [url, `${url}/embed`]) {
    const one = (await client.featureExtraction({ endpointUrl, inputs: texts[0] as string })) as number[][];
    t.equal(one.length, 1, `${endpointUrl}: one text gives a batch of one, as TEI answers`);
    t.ok(close(one[0] ?? [], unit(expected[0] ?? [])), `${endpointUrl}: normalised by default`);
    const both = (await client.featureExtraction({ endpointUrl, inputs: texts, normalize: false })) as number[][];
    t.same(both, expected, `${endpointUrl}: normalize: false gives the capability's vectors`);
  }
  const short = (await client.featureExtraction({ endpointUrl: url, inputs: texts, dimensions: 8 })) as number[][];
  t.same(short.map((vector) => vector.length), [8, 8]);
  t.ok(close(short[0] ?? [], unit((expected[0] ?? []).slice(0, 8))), 'dimensions: the first N, then normalised');
});

t.test('/predict: every label, highest score first, as /classify scores them', async (t) => {
  const { post, classify } = await listening(t);
  const texts = ['I love this', 'this is awful'];
  const expected = (await classify(texts, 'sentiment')) as { scores: Record<string, number> }[];
  const sorted = (scores: Record<string, number>) => Object.entries(scores).map(([label, score]) => ({ score, label })).sort((a, b) => b.score - a.score);

  const single = await post('/predict', { inputs: texts[0] });
  t.equal(single.status, 200, JSON.stringify(single.body));
  t.same(single.body, sorted(expected[0]?.scores ?? {}));
  t.ok(single.body[0].score >= single.body[1].score, 'sorted by score');
  t.same((await post('/predict', { inputs: [texts[0]] })).body, single.body, '[text] is the same single input');

  const batch = await post('/predict', { inputs: texts.map((text) => [text]) });
  t.equal(batch.status, 200);
  t.same(batch.body, expected.map((result) => sorted(result.scores)), 'a batch [[text], …] gives one list per input');
});

t.test('/rerank: cosine similarity of the embeddings, query and texts in one request to the batcher', async (t) => {
  const { post, classify, service } = await listening(t);
  const query = 'where is my parcel';
  const texts = ['the parcel never arrived', 'I love this', 'my order is late', 'refund please'];
  const vectors = (await classify([query, ...texts], 'embedding')) as number[][];
  const similarity = texts.map((_, i) => cosine(vectors[0] ?? [], vectors[i + 1] ?? []));
  const order = similarity.map((_, i) => i).sort((a, b) => (similarity[b] ?? 0) - (similarity[a] ?? 0));

  const before = service.stats.snapshot().requests.total;
  const ranked = await post('/rerank', { query, texts, return_text: true });
  t.equal(ranked.status, 200, JSON.stringify(ranked.body));
  t.equal(service.stats.snapshot().requests.total, before + 1, 'one analyse call for the query and every text');
  t.same(
    ranked.body.map((rank: any) => rank.index),
    order,
  );
  for (const rank of ranked.body) {
    t.equal(rank.text, texts[rank.index]);
    t.ok(Math.abs(rank.score - (1 + (similarity[rank.index] ?? 0)) / 2) < 1e-5, 'score (1 + cosine) / 2');
  }
  const raw = await post('/rerank', { query, texts, raw_scores: true });
  t.same(
    raw.body.map((rank: any) => rank.index),
    order,
  );
  t.ok(raw.body.every((rank: any) => rank.text === undefined && Math.abs(rank.score - (similarity[rank.index] ?? 0)) < 1e-5), 'raw_scores: the cosine, no text');
});

t.test("/tokenize: the embedding model's token ids, specials flagged, TEI's byte offsets", async (t) => {
  const { post, dir } = await listening(t);
  const own = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const texts = ['Hello world', 'the parcel never arrived'];
  const tokenized = await post('/tokenize', { inputs: texts });
  t.equal(tokenized.status, 200, JSON.stringify(tokenized.body));
  t.same(
    tokenized.body.map((tokens: any[]) => tokens.map((token) => token.id)),
    texts.map((text) => own.encode(text)),
  );
  t.same(tokenized.body[0], [
    { id: own.encode('Hello world')[0], text: '[CLS]', special: true, start: null, stop: null },
    { id: own.encode('Hello world', { add_special_tokens: false })[0], text: 'Hello', special: false, start: 0, stop: 5 },
    { id: own.encode('Hello world', { add_special_tokens: false })[1], text: 'world', special: false, start: 6, stop: 11 },
    { id: own.encode('Hello world').at(-1), text: '[SEP]', special: true, start: null, stop: null },
  ]);
  const plain = await post('/tokenize', { inputs: 'Hello world', add_special_tokens: false });
  t.same(
    plain.body[0].map((token: any) => token.id),
    own.encode('Hello world', { add_special_tokens: false }),
  );
  const long = await post('/tokenize', { inputs: wordsText(40) });
  t.ok(long.body[0].length > teiMaxTokens, 'untruncated');
});

t.test('token offsets count UTF-8 bytes, as TEI gives them', async (t) => {
  t.same([...utf8Offsets('aé€😀b')], [0, 1, 3, 6, 10, 10, 11]);
  const tokens = simpleTokens(
    'é 😀 x',
    {
      tokens: [
        { id: 1, text: '[CLS]', special: true, start: null, stop: null },
        { id: 2, text: 'e', special: false, start: 0, stop: 1 },
        { id: 3, text: '[UNK]', special: false, start: 2, stop: 4 },
        { id: 4, text: 'x', special: false, start: null, stop: null },
      ],
    },
    true,
  );
  t.same(tokens, [
    { id: 1, text: '[CLS]', special: true, start: null, stop: null },
    { id: 2, text: 'é', special: false, start: 0, stop: 2 },
    { id: 3, text: '😀', special: false, start: 3, stop: 7 },
    { id: 4, text: 'x', special: false, start: null, stop: null },
  ]);
});

t.test('truncate: Right lets the model cut the end, Left keeps the end of the text', async (t) => {
  const { post } = await listening(t);
  const words = wordsText(40).split(' ');
  const long = words.join(' ');
  // One token per word, plus [CLS] and [SEP]: the model sees teiMaxTokens - 2 words.
  const kept = teiMaxTokens - 2;
  const embed = async (body: Record<string, unknown>) => {
    const answer = await post('/embed', body);
    t.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  };
  const right = await embed({ inputs: long, truncate: true });
  t.same(await embed({ inputs: long, truncate: true, truncation_direction: 'Right' }), right, 'Right is the default');
  t.same(right, await embed({ inputs: words.slice(0, kept).join(' ') }), 'Right: the first words');
  const left = await embed({ inputs: long, truncate: true, truncation_direction: 'left' });
  t.same(left, await embed({ inputs: words.slice(-kept).join(' ') }), 'Left: the last words');
  t.notSame(left, right);
});

t.test('/info: what is served and its limits, from the configuration', async (t) => {
  const { app } = await listening(t, { MAX_QUEUED_TEXTS: '300', MAX_BATCH_TEXTS: '32', MAX_BATCH_TOKENS: '4000' });
  const predicted = await app.inject({ method: 'POST', url: '/predict', payload: { inputs: 'fine' } });
  t.equal(predicted.statusCode, 200);
  const info = (await app.inject({ url: '/info' })).json();
  t.match(info, {
    model_id: 'tiny-embedder',
    model_type: {
      embedding: { capability: 'embedding', dimensions: 32 },
      classifier: { capability: 'sentiment', id2label: { 0: String, 1: String }, label2id: { negative: Number, positive: Number } },
    },
    max_concurrent_requests: 300,
    max_input_length: teiMaxTokens,
    max_batch_tokens: 4000,
    max_batch_requests: 32,
    max_client_batch_size: 8,
    auto_truncate: false,
    version: String,
    rerank: /cosine/,
  });
  const paths = Object.keys(((await app.inject({ url: '/docs/json' })).json() as { paths: object }).paths);
  for (const route of ['/', '/embed', '/predict', '/rerank', '/tokenize', '/info']) t.ok(paths.includes(route), `${route} in the OpenAPI document`);
});
