import t from 'tap';
import { pino } from 'pino';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createService } from '../../server/create-service.js';
import { listenOnLoopback } from '../helpers/test-server.js';

/**
 * Faults injected through the configured `fault-injection` capability, over HTTP: each fails only
 * the requests that needed it, with its own code, and the server goes on serving.
 */
t.test('a throwing, short-answering or hanging capability fails only its requests; the server stays up', async (t) => {
  const config = loadConfig({ PORT: '0', CAPABILITY_TIMEOUT_MS: '300', BATCH_MODE: 'fixed', BATCH_WINDOW_MS: '30' });
  const capabilities = parseCapabilitiesConfig({
    models: [],
    capabilities: [
      { name: 'chaos', kind: 'fault-injection' },
      { name: 'text-stats', kind: 'text-stats' },
    ],
  });
  const logger = pino({ level: 'silent' });
  const service = createService(config, capabilities, logger);
  const app = await buildApp({ service, config, logger });
  const url = `${await listenOnLoopback(t, app, service)}/classify`;
  await service.start();
  const post = async (texts: string[], capabilities: string[]) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts, capabilities }) });
    return { status: response.status, body: (await response.json()) as any };
  };

  // One window: the faulty requests and a bystander that needs only text-stats.
  const [failing, short, hanging, bystander] = await Promise.all([
    post(['boom #fail'], ['chaos']),
    post(['#short'], ['chaos', 'text-stats']),
    post(['#hang'], ['chaos']),
    post(['fine'], ['text-stats']),
  ]);
  t.equal(bystander.status, 200, 'the bystander in the same batches is answered');
  t.same(bystander.body.results, [{ 'text-stats': { characters: 4, words: 1, estimatedTokens: 2 } }]);
  // The three chaos requests shared one batch and one run of chaos, which hung: all three time out.
  for (const reply of [failing, short, hanging]) {
    t.equal(reply.status, 504);
    t.equal(reply.body.error.code, 'CAPABILITY_TIMEOUT');
  }

  // Alone in their batches, each fault has its own code.
  t.match(await post(['boom #fail'], ['chaos']), { status: 500, body: { error: { code: 'CAPABILITY_FAILED' } } });
  t.match(await post(['#short', 'x'], ['chaos']), { status: 500, body: { error: { code: 'CAPABILITY_BAD_OUTPUT' } } });
  t.match(await post(['#hang'], ['chaos']), { status: 504, body: { error: { code: 'CAPABILITY_TIMEOUT' } } });
  t.match(await post(['all good'], ['chaos']), { status: 200, body: { results: [{ chaos: { ok: true } }] } }, 'later batches succeed');
  t.equal((await fetch(url.replace('/classify', '/health'))).status, 200);
});
