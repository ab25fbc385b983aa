import path from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { type CapserveService } from '../../engine/service.js';
import { ApiKeys } from '../../server/api-keys.js';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createService } from '../../server/create-service.js';
import { tinyBertDir } from './tiny-bert.js';

export interface OpenAIServer {
  readonly service: CapserveService;
  /** `http://127.0.0.1:<port>` of the listening server. */
  readonly url: string;
  /** The official SDK pointed at `<url>/v1`, with the first API key (if any) and no retries. */
  readonly client: OpenAI;
}

/** Per-request limits of the server: small, so the limit cases stay small. */
export const openaiLimits = { maxTextsPerRequest: 8, maxTextLength: 200, maxTokens: 32 } as const;

/**
 * A real server over the generated tiny BERT with an `embedding` capability (`vector`, at most
 * 32 tokens a text) and a `classifier` one (`classification`), listening on an ephemeral port
 * and closed when the test ends; started unless `start: false`.
 */
export async function openaiServer(
  t: Test,
  options: { apiKeys?: readonly string[]; rateLimit?: { max: number; windowMs: number }; start?: boolean } = {},
): Promise<OpenAIServer> {
  const dir = await tinyBertDir();
  const config = loadConfig({
    PORT: '0',
    MODELS_DIR: path.dirname(dir),
    CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json'),
    MAX_TEXTS_PER_REQUEST: String(openaiLimits.maxTextsPerRequest),
    MAX_TEXT_LENGTH: String(openaiLimits.maxTextLength),
  });
  const capabilities = parseCapabilitiesConfig({
    models: [
      { name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: path.basename(dir) },
      { name: 'tiny-embedder', backend: 'transformers', task: 'embedding', path: dir, maxLength: openaiLimits.maxTokens },
    ],
    capabilities: [
      { name: 'classification', kind: 'classifier', model: 'tiny-classifier' },
      { name: 'vector', kind: 'embedding', model: 'tiny-embedder' },
    ],
  });
  const logger = pino({ level: 'silent' });
  const service = createService(config, capabilities, logger);
  const exemptPaths = ['/health', '/health/ready', '/metrics'];
  const app = await buildApp({
    service,
    config,
    logger,
    ...(options.apiKeys === undefined ? {} : { auth: { keys: new ApiKeys(options.apiKeys), exemptPaths } }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: { ...options.rateLimit, exemptPaths } }),
  });
  t.teardown(async () => {
    await app.close();
    await service.stop(1000);
  });
  if (options.start !== false) await service.start();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server is not listening on a TCP port');
  const url = `http://127.0.0.1:${address.port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: options.apiKeys?.[0] ?? 'not-checked', maxRetries: 0 });
  return { service, url, client };
}
