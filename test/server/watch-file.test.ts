import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { watchFile } from '../../server/watch-file.js';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';

t.test('watchFile calls back once per burst of changes, including a file replaced by rename, and stops', async (t) => {
  const dir = await testDir(t, 'watch');
  const file = path.join(dir, 'capabilities.yaml');
  await writeFile(file, 'a: 1\n');
  let calls = 0;
  const stop = watchFile(file, () => (calls += 1), 50);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  await writeFile(file, 'a: 2\n');
  await writeFile(file, 'a: 3\n');
  await settle();
  t.equal(calls, 1, 'two quick writes, one call');

  await writeFile(path.join(dir, 'next.tmp'), 'a: 4\n');
  await rename(path.join(dir, 'next.tmp'), file);
  await settle();
  t.equal(calls, 2, 'an editor-style replace counts');

  await writeFile(path.join(dir, 'unrelated.txt'), 'x');
  await settle();
  t.equal(calls, 2, 'other files in the folder do not');

  stop();
  await writeFile(file, 'a: 5\n');
  await settle();
  t.equal(calls, 2, 'nothing after stop');
});

t.test('CAPABILITIES_WATCH=1 reloads the server when the capabilities file changes; a bad file changes nothing', async (t) => {
  const dir = await testDir(t, 'watch-server');
  const file = await writeCapabilities(dir);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, CAPABILITIES_WATCH: '1', SQLITE_PATH: ':memory:', MODEL_REPOSITORY: dir });
  const names = async () => ((await server.request('GET', '/capabilities')).body.capabilities as { name: string }[]).map((c) => c.name).sort();
  const waitFor = async (expected: string[]) => {
    for (let i = 0; i < 200 && JSON.stringify(await names()) !== JSON.stringify(expected); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    return names();
  };
  t.same(await names(), ['stats']);
  await writeCapabilities(dir, [{ name: 'stats', kind: 'text-stats' }, { name: 'language', kind: 'language-id' }]);
  t.same(await waitFor(['language', 'stats']), ['language', 'stats']);
  await writeFile(file, '{ "capabilities": [ { "name": "broken" ');
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.same(await names(), ['language', 'stats'], 'the running configuration stayed');
});
