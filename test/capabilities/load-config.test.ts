import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadCapabilitiesConfig, parseCapabilitiesText } from '../../capabilities/load-config.js';

const yaml = `# capabilities in YAML
models: []
capabilities:
  - name: stats
    kind: text-stats
  - name: topics
    kind: zero-shot-topics
    dependsOn: [stats]
    params:
      labels:
        only: one label here
`;

t.test('YAML and JSON files load alike', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const good = 'models: []\ncapabilities:\n  - { name: stats, kind: text-stats }\n  - name: language\n    kind: language-id\n';
  await writeFile(path.join(dir, 'c.yaml'), good);
  await writeFile(path.join(dir, 'c.json'), JSON.stringify({ capabilities: [{ name: 'stats', kind: 'text-stats' }, { name: 'language', kind: 'language-id' }] }));
  const [fromYaml, fromJson] = await Promise.all([loadCapabilitiesConfig(path.join(dir, 'c.yaml')), loadCapabilitiesConfig(path.join(dir, 'c.json'))]);
  t.same(fromYaml, fromJson);
  await t.rejects(loadCapabilitiesConfig(path.join(dir, 'missing.yaml')), { code: 'CONFIG_INVALID', message: /cannot read capabilities config/ });
});

t.test('schema problems name their path and line', async (t) => {
  t.throws(() => parseCapabilitiesText(yaml, 'c.yaml'), {
    code: 'CONFIG_INVALID',
    message: /capabilities\.1\.params\.labels \(line 11, column 9\): .*at least two/i,
  });
  t.throws(() => parseCapabilitiesText('capabilities:\n  - name: x\n    kind: nope\n', 'c.yaml'), { message: /capabilities\.0\.kind \(line 3, column 11\)/ });
  t.throws(() => parseCapabilitiesText('{\n  "capabilities": [\n    { "name": "x", "kind": "text-stats", "extra": 1 }\n  ]\n}', 'c.json'), {
    message: /capabilities\.0 \(line 3, column 5\): .*extra/,
  });
});

t.test('syntax errors and duplicate keys name their line', async (t) => {
  t.throws(() => parseCapabilitiesText('capabilities:\n  - name: a\n    name: b\n    kind: text-stats\n', 'c.yaml'), { message: /\(line 3, column 5\).*unique/i });
  t.throws(() => parseCapabilitiesText('{ "capabilities": [ }', 'c.json'), { code: 'CONFIG_INVALID', message: /cannot parse capabilities config c\.json \(line 1/ });
});

t.test('a model device that is not cpu, webgpu, cuda or auto is refused with its line and column', async (t) => {
  const text = ['models:', '  - name: m', '    backend: onnx', '    task: embedding', '    path: x', '    device: tpu', 'capabilities: []', ''].join('\n');
  t.throws(() => parseCapabilitiesText(text, 'bad.yaml'), { code: 'CONFIG_INVALID', message: /models\.0\.device \(line 6, column 13\): .*"cpu".*"webgpu".*"cuda".*"auto"/ });
});
