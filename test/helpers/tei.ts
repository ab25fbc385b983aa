import path from 'node:path';
import { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { serviceApp } from './service-app.js';
import { tinyBertDir, writeSentimentExamples } from './tiny-bert.js';

/** The tiny model's token limit here: short enough that an over-long text is cheap to write. */
export const teiMaxTokens = 24;

/**
 * A service over the tiny random BERT for the text-embeddings-inference routes: `embedding` (onnx,
 * {@link teiMaxTokens} tokens) and `sentiment` (an `embedding-classifier` on it, as
 * capabilities/default.json declares it). Limits: 8 texts per request, 400 characters per text,
 * 64 KiB bodies. Not started.
 */
export async function startTeiApp(t: Test, env: Record<string, string> = {}) {
  const dir = await tinyBertDir();
  const examples = await writeSentimentExamples('tei-sentiment-examples.json');
  const config = loadConfig({
    PORT: '0',
    MODELS_DIR: path.dirname(dir),
    CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json'),
    MAX_TEXTS_PER_REQUEST: '8',
    MAX_TEXT_LENGTH: '400',
    BODY_LIMIT_BYTES: '65536',
    ...env,
  });
  const capabilities = parseCapabilitiesConfig({
    models: [{ name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: path.basename(dir), maxLength: teiMaxTokens }],
    capabilities: [
      { name: 'embedding', kind: 'embedding', model: 'tiny-embedder' },
      { name: 'sentiment', kind: 'embedding-classifier', dependsOn: ['embedding'], params: { examples } },
    ],
  });
  const built = await serviceApp(t, config, capabilities);
  return { ...built, config, dir };
}

/** A text of `words` one-letter words (a to z, then again): exactly one token each for the tiny BERT, so `words + 2` with [CLS] and [SEP]. */
export const wordsText = (words: number): string => Array.from({ length: words }, (_, i) => String.fromCharCode(97 + (i % 26))).join(' ');
