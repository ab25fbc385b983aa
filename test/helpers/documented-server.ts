import path from 'node:path';
import { type Test } from 'tap';
import { startFullServer, testDir, writeCapabilities, type FullServer } from './full-server.js';
import { tinyBertDir } from './tiny-bert.js';

/**
 * The whole server (store, repository, model jobs, reviews, `/process`) with API keys and a
 * capability of most kinds over the generated tiny BERT, started: every route of the native
 * API exists, so its OpenAPI document is complete.
 */
export async function startDocumentedServer(t: Test, env: Record<string, string> = {}): Promise<FullServer> {
  const dir = await testDir(t, 'documented');
  const bert = await tinyBertDir();
  const models = [
    { name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: bert },
    { name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: bert },
  ];
  const capabilities = [
    { name: 'embedding', kind: 'embedding', model: 'tiny-embedder' },
    { name: 'sentiment', kind: 'classifier', model: 'tiny-classifier' },
    { name: 'topics', kind: 'zero-shot-topics', dependsOn: ['embedding'], params: { labels: { billing: 'payments and invoices', delivery: 'parcels and shipping' } } },
    { name: 'alerts', kind: 'alert-rules', dependsOn: ['sentiment'], params: { negativeLabel: 'NEGATIVE', threshold: 0.99, keywords: [{ term: 'lawyer', severity: 'high' }] } },
    { name: 'language', kind: 'language-id' },
    { name: 'stats', kind: 'text-stats' },
    { name: 'faults', kind: 'fault-injection' },
  ];
  return startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir, capabilities, models),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    SQLITE_PATH: ':memory:',
    ...env,
  });
}
