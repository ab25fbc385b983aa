import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Writes `<root>/<name>/<version>/` with the given files and a manifest listing their digests. */
async function addVersion(root: string, name: string, version: number, files: Record<string, string>, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = path.join(root, name, String(version));
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(dir, file), content);
  const manifest = {
    name,
    version,
    backend: 'onnx',
    task: 'classification',
    files: Object.fromEntries(Object.entries(files).map(([file, content]) => [file, sha(content)])),
    labels: ['negative', 'positive'],
    createdAt: new Date(Date.UTC(2026, 10, version)).toISOString(),
    ...extra,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

t.test('the repository lists versions, sets the default, diffs versions and refuses a file that does not match its SHA-256', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'capserve-repo-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await addVersion(root, 'reviews', 1, { 'model.onnx': 'weights v1', 'config.json': '{}' }, { metrics: { accuracy: 0.8, macroF1: 0.75 } });
  const v2 = await addVersion(root, 'reviews', 2, { 'model.onnx': 'weights v2', 'vocab.txt': 'a b' }, { metrics: { accuracy: 0.86 }, tags: ['candidate'] });
  const server = await startTestServer(t, [recordingCapability('classification')], { repository: root });

  const listed = await server.get('/models');
  t.equal(listed.status, 200);
  t.match(listed.body.models, [{ name: 'reviews', defaultVersion: 2, versions: [{ version: 1 }, { version: 2, tags: ['candidate'] }] }]);

  const set = await server.post('/models/reviews/default', { version: 1 });
  t.equal(set.status, 200);
  t.equal(set.body.defaultVersion, 1);
  t.equal((await server.get('/models/reviews')).body.defaultVersion, 1, 'the default survives a re-read');
  t.match(await server.post('/models/reviews/default', { version: 9 }), { status: 404, body: { error: { code: 'MODEL_VERSION_NOT_FOUND', versions: [1, 2] } } });
  t.match(await server.get('/models/nope'), { status: 404, body: { error: { code: 'MODEL_NOT_FOUND' } } });
  t.match(await server.get('/models/..%2F..%2Fetc'), { status: 404 }, 'names are never paths');

  const diff = await server.get('/models/reviews/diff?from=1&to=2');
  t.equal(diff.status, 200);
  t.same(diff.body.files, { added: ['vocab.txt'], removed: ['config.json'], changed: ['model.onnx'] });
  t.same(diff.body.metrics.accuracy, { from: 0.8, to: 0.86, delta: 0.06 });
  t.same(diff.body.metrics.macroF1, { from: 0.75 });
  t.same(diff.body.changed.tags, { from: [], to: ['candidate'] });

  t.match(await server.post('/models/reviews/versions/2/verify', {}), { status: 200, body: { version: 2, verified: 2 } });
  await writeFile(path.join(v2, 'model.onnx'), 'tampered');
  const refused = await server.post('/models/reviews/versions/2/verify', {});
  t.equal(refused.status, 422);
  t.equal(refused.body.error.code, 'MODEL_CHECKSUM_MISMATCH');
  t.match(refused.body.error.message, /model\.onnx has SHA-256 [0-9a-f]{64}, the manifest says/);
  await rm(path.join(v2, 'vocab.txt'));
  await writeFile(path.join(v2, 'model.onnx'), 'weights v2');
  t.match((await server.post('/models/reviews/versions/2/verify', {})).body.error, { code: 'MODEL_CHECKSUM_MISMATCH', message: /cannot read vocab\.txt/ });
});

t.test('a capability model can come from the repository: verified at load, refused when a file was changed', async (t) => {
  const { readdir, readFile: read, copyFile } = await import('node:fs/promises');
  const { ModelPool } = await import('../../models/pool.js');
  const { defaultLoaders } = await import('../../models/loaders.js');
  const { modelSpecSchema } = await import('../../models/types.js');
  const { tinyBertDir } = await import('../helpers/tiny-bert.js');
  const source = await tinyBertDir();
  const root = await mkdtemp(path.join(tmpdir(), 'capserve-repo-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = path.join(root, 'tiny', '1');
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  const files: Record<string, string> = {};
  for (const file of [...(await readdir(source)).filter((f) => f.endsWith('.json')), 'onnx/model.onnx']) {
    await copyFile(path.join(source, file), path.join(dir, file));
    files[file] = createHash('sha256').update(await read(path.join(dir, file))).digest('hex');
  }
  await writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ name: 'tiny', version: 1, backend: 'onnx', task: 'classification', files, createdAt: new Date().toISOString() }),
  );
  const spec = modelSpecSchema.parse({ name: 'reviews', backend: 'onnx', task: 'classification', repository: 'tiny' });
  const options = { modelsDir: '.', device: 'cpu' as const, allowRemoteModels: false, intraOpThreads: 1, modelRepository: root };

  const pool = new ModelPool([spec], options, defaultLoaders);
  await pool.load('fail');
  t.match(pool.status()[0], { state: 'ready', source: 'repository:tiny@default', info: { source: dir } });
  t.equal((await pool.run('reviews', ['hello']))[0]?.length, 2);
  await pool.close();

  await writeFile(path.join(dir, 'config.json'), '{"tampered": true}');
  const refused = new ModelPool([spec], options, defaultLoaders);
  await t.rejects(refused.load('fail'), { code: 'MODEL_LOAD_FAILED', message: /config\.json has SHA-256 [0-9a-f]{64}, the manifest says/ });
  t.throws(() => modelSpecSchema.parse({ name: 'x', backend: 'onnx', task: 'embedding', repository: 'tiny', path: 'also' }), /exactly one of/);
});

t.test('a corrupt manifest marks its model broken, with a relative reason; the others list and the default cannot move to a tampered version', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'capserve-repo-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await addVersion(root, 'reviews', 1, { 'model.onnx': 'weights v1' });
  const v2 = await addVersion(root, 'reviews', 2, { 'model.onnx': 'weights v2' });
  await writeFile(path.join(root, 'reviews', 'default'), '1\n');
  await addVersion(root, 'spam', 1, { 'model.onnx': 'spam v1' });
  await writeFile(path.join(root, 'spam', '1', 'manifest.json'), '{"password": "hunter2",');
  await addVersion(root, 'spam', 2, { 'model.onnx': 'spam v2' }, { name: 'other' });
  await mkdir(path.join(root, 'empty', '1'), { recursive: true });
  const server = await startTestServer(t, [recordingCapability('classification')], { repository: root });

  const listed = await server.get('/models');
  t.equal(listed.status, 200, 'one corrupt manifest does not fail the listing');
  t.match(listed.body.models, [
    { name: 'empty', versions: [], broken: [{ version: 1, reason: 'empty/1/manifest.json cannot be read (ENOENT)' }] },
    { name: 'reviews', defaultVersion: 1, versions: [{ version: 1 }, { version: 2 }] },
    {
      name: 'spam',
      defaultVersion: 2,
      versions: [],
      broken: [
        { version: 1, reason: 'spam/1/manifest.json is not valid JSON' },
        { version: 2, reason: 'spam/2/manifest.json names other v2, but lives in spam/2' },
      ],
    },
  ]);
  t.notOk('broken' in listed.body.models[1], 'a sound model has no broken list');
  t.notMatch(JSON.stringify(listed.body), root, 'no absolute path');
  t.notMatch(JSON.stringify(listed.body), 'hunter2', 'no file contents');
  t.match(await server.post('/models/spam/versions/1/verify', {}), { status: 422, body: { error: { code: 'MODEL_MANIFEST_INVALID', message: 'model "spam" v1: spam/1/manifest.json is not valid JSON' } } });
  t.match(await server.post('/models/spam/default', { version: 1 }), { status: 422, body: { error: { code: 'MODEL_MANIFEST_INVALID' } } });

  await writeFile(path.join(v2, 'model.onnx'), 'tampered');
  const refused = await server.post('/models/reviews/default', { version: 2 });
  t.equal(refused.status, 422);
  t.equal(refused.body.error.code, 'MODEL_CHECKSUM_MISMATCH');
  t.equal((await server.get('/models/reviews')).body.defaultVersion, 1, 'the default did not move');
  await rm(path.join(v2, 'model.onnx'));
  const missing = await server.post('/models/reviews/versions/2/verify', {});
  t.match(missing.body.error, { code: 'MODEL_CHECKSUM_MISMATCH', message: 'model "reviews" v2: cannot read model.onnx (ENOENT)' });
  t.notMatch(JSON.stringify(missing.body), root, "the file-system error is named by its code, not by its message with the path");
  t.equal((await server.post('/classify', { texts: ['x'], capabilities: ['classification'] })).status, 200, 'the server answers afterwards');
});
