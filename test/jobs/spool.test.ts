import { writeFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { Spool } from '../../jobs/spool.js';
import { testDir } from '../helpers/full-server.js';

const bytes = (n: number, chunk = 1024): Readable => Readable.from(Array.from({ length: Math.ceil(n / chunk) }, (_, i) => Buffer.alloc(Math.min(chunk, n - i * chunk), 7)));

t.test('a file is streamed to disk, charged to the budget, and freed by release', async (t) => {
  const dir = await testDir(t, 'spool');
  const spool = new Spool({ dir, maxBytes: 10_000 });
  const file = await spool.write(bytes(3000));
  t.equal(file.bytes, 3000);
  t.equal(spool.usedBytes, 3000);
  t.equal((await readFile(file.path)).length, 3000);
  t.doesNotThrow(() => spool.admit(7000));
  t.throws(() => spool.admit(7001), { code: 'OVERLOADED', details: { retryAfterSeconds: 5, spoolBytes: 3000, limit: 10_000 } });
  await spool.release(file.path);
  await spool.release(file.path);
  t.equal(spool.usedBytes, 0, 'a second release changes nothing');
  t.same(await readdir(dir), []);
});

t.test('an upload that passes the budget while it streams is refused and its partial file removed', async (t) => {
  const dir = await testDir(t, 'spool');
  const spool = new Spool({ dir, maxBytes: 5000 });
  const kept = await spool.write(bytes(2000));
  await t.rejects(spool.write(bytes(4000)), { code: 'OVERLOADED' });
  t.equal(spool.usedBytes, 2000, 'only the first file is charged');
  t.same(await readdir(dir), [path.basename(kept.path)]);
  await spool.close();
  t.same(await readdir(dir), [], 'close deletes what is left');
});

t.test('open removes files of processes that are gone, keeps live ones and adopts the ones asked for', async (t) => {
  const dir = await testDir(t, 'spool');
  const uuid = '0123abcd-0000-4000-8000-000000000000';
  // Pid 2^22 + 1 is above Linux's pid_max ceiling, so no live process has it.
  const dead = `${2 ** 22 + 1}-${uuid}`;
  const live = `${process.ppid}-${uuid}`;
  const adopted = `${2 ** 22 + 1}-${uuid.replace('0123', '4567')}`;
  for (const name of [dead, live, adopted, 'notes.txt']) await writeFile(path.join(dir, name), 'x'.repeat(10));
  const spool = new Spool({ dir, maxBytes: 1000 });
  await spool.open([path.join(dir, adopted)]);
  t.same((await readdir(dir)).sort(), [adopted, live, 'notes.txt'].sort());
  t.equal(spool.usedBytes, 10, 'the adopted file is charged');
  await spool.release(path.join(dir, adopted));
  t.equal(spool.usedBytes, 0);
  t.same((await readdir(dir)).sort(), [live, 'notes.txt'].sort());
});
