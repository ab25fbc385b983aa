import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { buildCapabilities } from '../../capabilities/build.js';
import { type CapabilitiesConfig } from '../../capabilities/config-schema.js';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { errorDefinitions } from '../../core/errors.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { loadConfig } from '../../server/config.js';
import { createService } from '../../server/create-service.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

/** An onnx embedder over `dir` (maxLength 16), a capability on it, one depending on it, and one with no model. */
function capabilitiesOver(dir: string): CapabilitiesConfig {
  return parseCapabilitiesConfig({
    models: [{ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir, maxLength: 16 }],
    capabilities: [
      { name: 'vector', kind: 'embedding', model: 'tiny' },
      { name: 'topics', kind: 'zero-shot-topics', dependsOn: ['vector'], params: { labels: { a: 'first label', b: 'second label' } } },
      { name: 'stats', kind: 'text-stats' },
    ],
  });
}

async function started(t: Test) {
  const dir = await tinyBertDir();
  const config = loadConfig({ PORT: '0', MODELS_DIR: path.dirname(dir), CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json') });
  const service = createService(config, capabilitiesOver(dir), pino({ level: 'silent' }), defaultLoaders);
  t.teardown(() => service.stop(1000));
  return { service, config, dir };
}

t.test("tokenize: the capability's model, or its dependency's; ids as the model's tokenizer gives them; nothing reaches the batcher", async (t) => {
  const { service, dir } = await started(t);
  await t.rejects(service.tokenize('vector', ['x']), { code: 'NOT_READY' }, 'not before start');
  await service.start();
  const own = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const before = service.stats.snapshot();
  const texts = ['Hello world', Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')];

  const [hello, long] = await service.tokenize('vector', texts);
  t.same(hello?.tokens.map((token) => token.id), own.encode('Hello world'));
  t.same(hello?.tokens.map((token) => [token.text, token.special, token.start, token.stop]), [
    ['[CLS]', true, null, null],
    ['hello', false, 0, 5],
    ['world', false, 6, 11],
    ['[SEP]', true, null, null],
  ]);
  t.ok((long?.tokens.length ?? 0) > 16, `${long?.tokens.length} tokens: beyond maxTokens (16), untruncated`);

  t.same(await service.tokenize('topics', texts), [hello, long], 'a capability with dependsOn tokenizes with its dependency\'s model');
  t.equal(service.modelBehind('topics'), service.pool.info('tiny'));
  t.match(service.modelBehind('vector'), { name: 'tiny', maxTokens: 16, dimensions: 32 });
  t.same(service.stats.snapshot(), before, 'tokenizing is not a batch');

  const described = service.describeCapabilities();
  t.match(described.find((c) => c.name === 'vector'), { model: 'tiny', maxTokens: 16, dimensions: 32 });
  t.match(described.find((c) => c.name === 'topics'), { model: null, maxTokens: 16, dimensions: 32 }, "a dependant reports its dependency's model limits");
  const stats = described.find((c) => c.name === 'stats');
  t.notOk(stats !== undefined && ('maxTokens' in stats || 'dimensions' in stats), 'no model behind: no maxTokens, no dimensions');
});

t.test('tokenize errors: unknown capability, a capability with no model, a stopped service', async (t) => {
  const { service } = await started(t);
  await service.start();
  await t.rejects(service.tokenize('nope', ['x']), { code: 'UNKNOWN_CAPABILITY', statusCode: 400, details: { unknown: ['nope'] } });
  t.equal(service.modelBehind('nope'), undefined);
  await t.rejects(service.tokenize('stats', ['x']), { code: 'NO_TOKENIZER', details: { capability: 'stats' } });
  t.equal(errorDefinitions.NO_TOKENIZER.status, 422);
  t.equal(service.modelBehind('stats'), undefined);
  const [still] = await service.tokenize('vector', ['hello']);
  t.equal(still?.tokens.length, 3, 'the service tokenizes normally afterwards');
  await service.stop(1000);
  await t.rejects(service.tokenize('vector', ['x']), { code: 'SHUTTING_DOWN' });
});

t.test("a reload drops the cached tokenizer: the new configuration's tokenizer and limits are used", async (t) => {
  const { service, config } = await started(t);
  await service.start();
  const [cased] = await service.tokenize('vector', ['Hello']);
  t.same(cased?.tokens.map((token) => token.text), ['[CLS]', 'hello', '[SEP]']);

  // The same model files, but a tokenizer that keeps case and stops at 8 tokens.
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-reload-tokenizer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(await tinyBertDir(), dir, { recursive: true });
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  const tokenizerJson = JSON.parse(await readFile(tokenizerFile, 'utf8')) as { normalizer: Record<string, unknown> };
  tokenizerJson.normalizer = { ...tokenizerJson.normalizer, lowercase: false, strip_accents: false };
  await writeFile(tokenizerFile, JSON.stringify(tokenizerJson));
  const configFile = path.join(dir, 'tokenizer_config.json');
  const tokenizerConfig = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  await writeFile(configFile, JSON.stringify({ ...tokenizerConfig, model_max_length: 8, do_lower_case: false }));

  const capabilities = capabilitiesOver(dir);
  const pool = new ModelPool(capabilities.models, { modelsDir: config.modelsDir, device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 }, defaultLoaders);
  await service.reload(pool, (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig));

  const own = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const [after] = await service.tokenize('vector', ['Hello']);
  t.same(after?.tokens.map((token) => token.id), own.encode('Hello'), "the new directory's tokenizer");
  t.not(after?.tokens[1]?.text, 'hello', 'case is kept now');
  t.equal(service.modelBehind('vector')?.maxTokens, 8, "the tokenizer's own limit is below maxLength 16");
  t.match(service.describeCapabilities().find((c) => c.name === 'vector'), { maxTokens: 8 });
});
