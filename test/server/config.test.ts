import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { configVariables, loadConfig } from '../../server/config.js';
import { errorDefinitions } from '../../core/errors.js';
import { projectRoot } from '../../core/project-root.js';

t.test('defaults need no environment at all', async (t) => {
  const config = loadConfig({});
  t.equal(config.host, '127.0.0.1');
  t.equal(config.port, 8080);
  t.equal(config.batchWindowMs, 10);
  t.equal(config.maxBatchTexts, 64);
  t.equal(config.device, 'cpu');
  t.equal(config.allowRemoteModels, false);
  t.equal(config.modelLoadFailure, 'fail');
  t.equal(config.capabilitiesConfig, path.join(projectRoot(), 'capabilities', 'default.json'));
  t.ok(Object.isFrozen(config));
});

t.test('environment values are coerced and validated', async (t) => {
  const config = loadConfig({ PORT: '0', BATCH_WINDOW_MS: '2.5', ALLOW_REMOTE_MODELS: '1', DEVICE: 'cuda', HOST: '' });
  t.equal(config.port, 0);
  t.equal(config.batchWindowMs, 2.5);
  t.equal(config.allowRemoteModels, true);
  t.equal(config.device, 'cuda');
  t.equal(config.host, '127.0.0.1', 'an empty variable means the default');
  t.throws(() => loadConfig({ PORT: 'eighty', DEVICE: 'tpu' }), { code: 'CONFIG_INVALID', message: /PORT.*DEVICE/s });
  t.throws(() => loadConfig({ MAX_BATCH_TEXTS: '0' }), { code: 'CONFIG_INVALID', message: /MAX_BATCH_TEXTS/ });
});

t.test('the README documents every environment variable and every error code', async (t) => {
  const readme = await readFile(path.join(projectRoot(), 'README.md'), 'utf8');
  for (const name of configVariables) t.match(readme, `| \`${name}\` |`, `variable ${name}`);
  for (const code of Object.keys(errorDefinitions)) t.match(readme, `| \`${code}\` |`, `error ${code}`);
});
