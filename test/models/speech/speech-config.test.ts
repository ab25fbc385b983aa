import t from 'tap';
import { parseCapabilitiesConfig, parseCapabilitiesText } from '../../../capabilities/load-config.js';

const capabilities = [{ name: 'stats', kind: 'text-stats' }];

t.test('the speech section is optional', async (t) => {
  t.equal(parseCapabilitiesConfig({ capabilities }).speech, undefined);
});

t.test('pocketsphinx gets its defaults', async (t) => {
  t.same(parseCapabilitiesConfig({ capabilities, speech: { backend: 'pocketsphinx' } }).speech, { backend: 'pocketsphinx', language: 'en-us' });
});

t.test('whisper needs its model file and gets its defaults', async (t) => {
  t.same(parseCapabilitiesConfig({ capabilities, speech: { backend: 'whisper', model: 'models/ggml-base.en.bin' } }).speech, {
    backend: 'whisper',
    model: 'models/ggml-base.en.bin',
    language: 'en',
    threads: 2,
  });
  t.throws(() => parseCapabilitiesConfig({ capabilities, speech: { backend: 'whisper' } }), { code: 'CONFIG_INVALID', message: /speech\.model/ });
});

t.test('unknown backends and keys are refused with their line', async (t) => {
  t.throws(() => parseCapabilitiesConfig({ capabilities, speech: { backend: 'vosk' } }), { code: 'CONFIG_INVALID', message: /speech\.backend/ });
  t.throws(() => parseCapabilitiesText('capabilities:\n  - { name: stats, kind: text-stats }\nspeech:\n  backend: pocketsphinx\n  chunkSecs: 10\n'), {
    code: 'CONFIG_INVALID',
    message: /speech.*line 4.*"chunkSecs"/,
  });
});

t.test('the default file asks for pocketsphinx', async (t) => {
  const { loadCapabilitiesConfig } = await import('../../../capabilities/load-config.js');
  const { projectRoot } = await import('../../../core/project-root.js');
  const config = await loadCapabilitiesConfig(`${projectRoot()}/capabilities/default.json`);
  t.same(config.speech, { backend: 'pocketsphinx', language: 'en-us' });
});
