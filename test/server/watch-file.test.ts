import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { watchFile } from '../../server/watch-file.js';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { levels } from '../helpers/log-records.js';
import { within } from '../helpers/until.js';

t.test('watchFile calls back once per burst of changes, including a file replaced by rename, and stops', async (t) => {
  const dir = await testDir(t, 'watch');
  const file = path.join(dir, 'capabilities.yaml');
  await writeFile(file, 'a: 1\n');
  // Each call records the file as it is then, so a call too many shows up. The debounce is
  // long enough that a slow disk does not split one write into two bursts.
  const debounceMs = 200;
  const seen: string[] = [];
  const stop = watchFile(file, () => seen.push(readFileSync(file, 'utf8')), debounceMs);
  t.teardown(stop);

  // Proving that no call comes needs a later call that must come after it. A second watcher in
  // the same folder, with the same debounce, is that witness: both hear the folder's changes
  // in order (one inotify queue), and timers of one duration fire in the order they were set.
  // So once the witness has been called for a write made after ours, any timer that ours could
  // have set has fired.
  const witnessFile = path.join(dir, 'witness.txt');
  let witnessed = (): void => {};
  const stopWitness = watchFile(witnessFile, () => witnessed(), debounceMs);
  t.teardown(stopWitness);
  let writes = 0;
  const quiet = async (): Promise<void> => {
    const called = new Promise<void>((resolve) => (witnessed = resolve));
    writes += 1;
    await writeFile(witnessFile, String(writes));
    await within(called, { what: 'the witness watcher to be called' });
  };

  await writeFile(file, 'a: 2\n');
  await writeFile(file, 'a: 3\n');
  await quiet();
  t.same(seen, ['a: 3\n'], 'two quick writes, one call');

  await writeFile(path.join(dir, 'next.tmp'), 'a: 4\n');
  await rename(path.join(dir, 'next.tmp'), file);
  await quiet();
  t.same(seen, ['a: 3\n', 'a: 4\n'], 'an editor-style replace counts');

  await writeFile(path.join(dir, 'unrelated.txt'), 'x');
  await quiet();
  t.equal(seen.length, 2, 'other files in the folder do not');

  stop();
  await writeFile(file, 'a: 5\n');
  await quiet();
  t.equal(seen.length, 2, 'nothing after stop');
});

t.test('CAPABILITIES_WATCH=1 reloads the server when the capabilities file changes; a bad file changes nothing', async (t) => {
  const dir = await testDir(t, 'watch-server');
  const file = await writeCapabilities(dir);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, CAPABILITIES_WATCH: '1', SQLITE_PATH: ':memory:', MODEL_REPOSITORY: dir }, { logLevel: 'info' });
  const names = async () => ((await server.request('GET', '/capabilities')).body.capabilities as { name: string }[]).map((c) => c.name).sort();
  t.same(await names(), ['stats']);

  await writeCapabilities(dir, [{ name: 'stats', kind: 'text-stats' }, { name: 'language', kind: 'language-id' }]);
  const reloaded = await server.logs.next((r) => r.msg === 'capabilities file changed: reloaded', 'the reload after the change');
  t.equal(reloaded.level, levels.info);
  t.same([...reloaded.capabilities].sort(), ['language', 'stats'], 'the log names the capabilities now served');
  t.same(await names(), ['language', 'stats']);

  await writeFile(file, '{ "capabilities": [ { "name": "broken" ');
  const rejected = await server.logs.next((r) => r.msg === 'capabilities file changed: reload rejected, the running configuration stays', 'the rejected reload');
  t.match(rejected, { level: levels.error, err: { code: 'RELOAD_REJECTED', message: /invalid; the running one stays/ } });
  t.same(await names(), ['language', 'stats'], 'the running configuration stayed');
  t.equal(server.logs.withMessage('capabilities file changed: reloaded').length, 1, 'no reload but the first');
});
