import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configVariables, loadConfig } from '../../server/config.js';
import { type Setting } from '../../server/define-setting.js';
import { settingGroups, settings } from '../../server/settings.js';
import { projectRoot } from '../../core/project-root.js';
import { documentedDefault, renderConfigurationPage, renderErrorsPage } from '../../scripts/docs/render-docs.js';

const declared: [string, Setting<unknown>][] = Object.entries(settings);
const readDoc = (name: string): Promise<string> => readFile(path.join(projectRoot(), 'docs', name), 'utf8');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('defaults need no environment at all', async (t) => {
  const config = loadConfig({});
  t.equal(config.host, '127.0.0.1');
  t.equal(config.port, 8080);
  t.equal(config.batchWindowMs, 10);
  t.equal(config.maxBatchTexts, 64);
  t.equal(config.device, 'cpu');
  t.equal(config.allowRemoteModels, false);
  t.equal(config.queueLocalWorkers, true);
  t.equal(config.modelLoadFailure, 'degrade');
  t.equal(config.capabilitiesConfig, path.join(projectRoot(), 'capabilities', 'default.json'));
  t.equal(config.sqlitePath, path.join(projectRoot(), 'data', 'capserve.db'));
  t.equal(config.workerId, `${hostname()}-${process.pid}`);
  t.same(config.authExemptPaths, ['/health', '/health/ready', '/metrics']);
  t.equal(config.apiKeys.enabled, false);
  t.equal(config.databaseUrl, undefined);
  t.ok(Object.isFrozen(config));
  t.same(Object.keys(config).sort(), Object.keys(settings).sort(), 'one configuration key per setting');
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

t.test('values are finished as declared', async (t) => {
  const config = loadConfig({
    SQLITE_PATH: ':memory:',
    MODELS_DIR: 'relative/models',
    WORKER_ID: 'w1',
    AUTH_EXEMPT_PATHS: ' /health , ,/metrics',
    API_KEYS: 'a-key-of-sixteen-chars,another-key-of-16-chars',
    QUEUE_LOCAL_WORKERS: 'false',
  });
  t.equal(config.sqlitePath, ':memory:');
  t.equal(config.modelsDir, path.resolve('relative/models'), 'a path that is set resolves against the working directory');
  t.equal(config.workerId, 'w1');
  t.same(config.authExemptPaths, ['/health', '/metrics']);
  t.ok(config.apiKeys.accepts('another-key-of-16-chars'));
  t.notOk(config.apiKeys.accepts('a-key-of-sixteen-chars-not'));
  t.equal(config.queueLocalWorkers, false);
});

t.test('a wrong value names its variable, and every wrong variable is named at once', async (t) => {
  const rejecting = declared.filter(([, s]) => !s.schema.safeParse('wrong').success);
  t.ok(rejecting.length >= 30, 'numbers, choices, switches and URLs reject "wrong"');
  for (const [, s] of rejecting) {
    t.throws(() => loadConfig({ [s.env]: 'wrong' }), { code: 'CONFIG_INVALID', message: new RegExp(`^invalid environment: ${s.env}: `) }, s.env);
  }
  const all = Object.fromEntries(rejecting.map(([, s]) => [s.env, 'wrong']));
  t.throws(() => loadConfig(all), { code: 'CONFIG_INVALID', message: new RegExp(rejecting.map(([, s]) => `${s.env}: `).join('.*'), 's') });
  t.throws(() => loadConfig({ PORT: '65536', API_KEYS: 'short' }), { code: 'CONFIG_INVALID', message: /PORT: .*; API_KEYS: key 1 is shorter/ }, 'a finishing step reports with the rest');
  t.throws(() => loadConfig({ API_KEYS: 'file:/no/such/keys' }), { code: 'CONFIG_INVALID', message: /API_KEYS: cannot read/ });
});

t.test('every setting has its own variable and one section', async (t) => {
  t.equal(new Set(configVariables).size, declared.length, 'no two settings share a variable');
  const grouped = settingGroups.flatMap(({ settings: group }) => Object.keys(group));
  t.same([...grouped].sort(), Object.keys(settings).sort(), 'no key is declared twice');
  for (const [key, s] of declared) {
    t.match(key, /^[a-z][A-Za-z0-9]*$/, `${key} is camelCase`);
    t.match(s.env, /^[A-Z][A-Z0-9_]*$/, `${s.env} is an environment name`);
    t.ok(s.description.trim().length > 0 && !s.description.includes('\n'), `${s.env} has a one-line description`);
  }
});

t.test('the documented default is the real one', async (t) => {
  for (const [, s] of declared) {
    const shown = documentedDefault(s);
    if (s.defaultText !== undefined) {
      t.same(s.schema.safeParse(undefined), { success: true, data: undefined }, `${s.env}: a computed default is computed, not in the schema`);
      continue;
    }
    if (shown === 'unset') continue;
    const literal = /^`(.*)`$/.exec(shown)?.[1];
    t.not(literal, undefined, `${s.env}: the default is shown as written`);
    t.same(s.read(literal), s.read(undefined), `${s.env}=${literal} is what unset means`);
  }
});

t.test('docs/configuration.md lists every setting with its variable and default', async (t) => {
  const page = await readDoc('configuration.md');
  for (const [, s] of declared) t.match(page, new RegExp(`^\\| \`${s.env}\` \\| ${escape(documentedDefault(s))} \\|`, 'm'), s.env);
});

t.test('the generated pages in docs/ are current', async (t) => {
  for (const [name, render] of [['configuration.md', renderConfigurationPage], ['errors.md', renderErrorsPage]] as const) {
    const onDisk = await readDoc(name).catch(() => '(missing)');
    t.equal(onDisk, render(), `docs/${name} is current (if not, run \`npm run docs\`)`);
  }
});
