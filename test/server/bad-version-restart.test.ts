import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../server/config.js';
import { createServer } from '../../server/create-server.js';
import { finishedModelJob, type FullServer, startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { LogRecorder } from '../helpers/log-records.js';
import { labelledTexts } from '../../scripts/labelled-corpus.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

/**
 * Issue 13, item 2: no version a client can write or choose stops the next start. Each case
 * restarts the server on the same repository and store and gets a ready server.
 */
t.test('a bad second version, a tampered default and a corrupt manifest never stop the next start', async (t) => {
  const dir = await testDir(t, 'bad-version');
  const bert = await tinyBertDir();
  const repository = path.join(dir, 'repository');
  const env = {
    CAPABILITIES_CONFIG: await writeCapabilities(dir, [{ name: 'vector', kind: 'embedding', model: 'tiny' }, { name: 'stats', kind: 'text-stats' }], [
      { name: 'tiny', backend: 'onnx', task: 'embedding', path: bert },
    ]),
    MODEL_REPOSITORY: repository,
    SQLITE_PATH: path.join(dir, 'capserve.db'),
  };
  const probe = { texts: ['my parcel is late and the courier tracking shows nothing'], capabilities: ['ticket-topic'] };
  const examples = labelledTexts(90, 3, 0);
  const ready = async (server: FullServer, what: string) => {
    t.equal((await server.request('GET', '/health/ready')).status, 200, `${what}: ready`);
    t.equal((await server.request('POST', '/classify', { texts: ['still served'], capabilities: ['stats'] })).status, 200, `${what}: serves`);
  };

  // Version 1 (TF-IDF) serves as the registered capability ticket-topic.
  const first = await startFullServer(t, env);
  const v1 = await finishedModelJob(first, (await first.request('POST', '/train', { model: 'tickets', examples, features: { kind: 'tfidf' }, register: { capability: 'ticket-topic' } })).body.job.id);
  t.equal(v1.status, 'completed', JSON.stringify(v1.error));
  const servedByV1 = (await first.request('POST', '/classify', probe)).body.results;
  t.match(servedByV1, [{ 'ticket-topic': { label: String } }]);

  // Version 2 on embedding features, made default: ticket-topic (dependsOn []) cannot read it.
  const v2 = await finishedModelJob(first, (await first.request('POST', '/train', { model: 'tickets', examples, features: { kind: 'embedding', capability: 'vector' } })).body.job.id);
  t.equal(v2.status, 'failed');
  t.match(v2.error, { code: 'RELOAD_REJECTED', message: /v2 was kept, but the default stays where it was.*ticket-topic.*dependsOn/ });
  t.match((await first.request('GET', '/models/tickets')).body, { defaultVersion: 1, versions: [{ version: 1 }, { version: 2 }] });
  t.same((await first.request('POST', '/classify', probe)).body.results, servedByV1, 'version 1 still serves');
  await first.stop();

  const second = await startFullServer(t, env);
  await ready(second, 'after the bad second version');
  t.same((await second.request('POST', '/classify', probe)).body.results, servedByV1, 'version 1 serves after the restart');

  // The default cannot move to a version that fails its checksums, nor to one ticket-topic cannot load.
  const v3 = await finishedModelJob(second, (await second.request('POST', '/train', { model: 'tickets', examples, features: { kind: 'tfidf' }, classifier: { algorithm: 'linear-svm' }, setDefault: false })).body.job.id);
  t.equal(v3.result.version, 3);
  const v3File = path.join(repository, 'tickets', '3', 'model.json');
  await writeFile(v3File, (await readFile(v3File, 'utf8')).replace('"format":1', '"format":1 '));
  const tampered = await second.request('POST', '/models/tickets/default', { version: 3 });
  t.equal(tampered.status, 422);
  t.match(tampered.body.error, { code: 'MODEL_CHECKSUM_MISMATCH', message: /model\.json/ });
  t.notMatch(tampered.text, repository, 'no absolute path in the error body');
  const unreadable = await second.request('POST', '/models/tickets/default', { version: 2 });
  t.equal(unreadable.status, 422);
  t.match(unreadable.body.error, { code: 'RELOAD_REJECTED', message: /ticket-topic/ });
  t.equal((await second.request('GET', '/models/tickets')).body.defaultVersion, 1, 'the default did not move');
  t.same((await second.request('POST', '/classify', probe)).body.results, servedByV1);
  await second.stop();

  // A corrupt manifest in another model, and one in the version ticket-topic reads.
  await mkdir(path.join(repository, 'broken', '1'), { recursive: true });
  await writeFile(path.join(repository, 'broken', '1', 'manifest.json'), '{ "secret": "root:x:0:0", ');
  const third = await startFullServer(t, env);
  await ready(third, 'after the tampered default');
  t.same((await third.request('POST', '/classify', probe)).body.results, servedByV1);
  const listed = await third.request('GET', '/models');
  t.equal(listed.status, 200);
  t.match(listed.body.models, [
    { name: 'broken', versions: [], broken: [{ version: 1, reason: 'broken/1/manifest.json is not valid JSON' }] },
    { name: 'tickets', defaultVersion: 1, versions: [{ version: 1 }, { version: 2 }, { version: 3 }] },
  ]);
  t.notMatch(listed.text, repository, 'no absolute path');
  t.notMatch(listed.text, 'root:x', 'no file contents');
  t.match((await third.request('GET', '/models/broken')).body, { name: 'broken', broken: [{ version: 1 }] });
  t.match(await third.request('POST', '/models/broken/default', { version: 1 }), { status: 422, body: { error: { code: 'MODEL_MANIFEST_INVALID' } } });
  await third.stop();

  await writeFile(path.join(repository, 'tickets', '1', 'manifest.json'), '[]');
  const fourth = await startFullServer(t, env);
  await ready(fourth, "after ticket-topic's version broke");
  const capability = (await fourth.request('GET', '/capabilities')).body.capabilities.find((c: { name: string }) => c.name === 'ticket-topic');
  t.match(capability, { available: false, reason: /tickets\/1\/manifest\.json does not match the manifest schema/ });
  t.notMatch(JSON.stringify(capability), repository);
  const refused = await fourth.request('POST', '/classify', probe);
  t.equal(refused.status, 503);
  t.equal(refused.body.error.code, 'CAPABILITY_UNAVAILABLE');
  t.equal((await fourth.request('POST', '/classify', { texts: ['x'], capabilities: ['vector'] })).status, 200, 'the other capabilities serve');
  t.match((await fourth.request('GET', '/models')).body.models[1], { name: 'tickets', broken: [{ version: 1 }] });
  await fourth.stop();

  // Only an explicit MODEL_LOAD_FAILURE=fail stops start-up, as before.
  const strict = await createServer(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', MODEL_THREADS: 'main', MODEL_LOAD_FAILURE: 'fail', ...env }), new LogRecorder('silent').logger);
  t.teardown(() => strict.stop(1000));
  await t.rejects(strict.start(), { code: 'CONFIG_INVALID', message: /ticket-topic.*MODEL_MANIFEST_INVALID|ticket-topic.*manifest/ });
});
