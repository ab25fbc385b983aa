import t from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { type Capability } from '../../capabilities/types.js';
import { ManualTime } from '../../core/manual-time.js';
import { recordingCapability } from '../helpers/recording-capability.js';

/** Hangs forever for texts containing "hang"; answers at once otherwise. */
const hanging: Capability<unknown> = {
  name: 'hanging',
  dependsOn: [],
  run: (texts) => (texts.some((text) => text.includes('hang')) ? new Promise(() => {}) : Promise.resolve(texts.map(() => 'ok'))),
};

t.test('a capability that hangs past its time limit fails only the requests that need it; later batches run', async (t) => {
  const time = new ManualTime();
  const other = recordingCapability('other');
  const batcher = new Batcher(new CapabilityRegistry().register(hanging, other), { windowMs: 5, maxBatchTexts: 64, mode: 'fixed', capabilityTimeoutMs: 1000 }, {
    time,
  });
  const stuck = batcher.submit({ texts: ['please hang'], capabilities: ['hanging'] });
  const bystander = batcher.submit({ texts: ['fine'], capabilities: ['other'] });
  time.advance(5);
  t.same((await bystander).results, [{ other: 'other(fine)' }], 'the other capability of the same batch is not held up');
  time.advance(999);
  await Promise.resolve();
  time.advance(1);
  const reply = await stuck;
  t.same(reply.failures.map((f) => f.code), ['CAPABILITY_TIMEOUT']);
  t.match(reply.failures[0]?.message, /within 1000 ms/);
  t.same(reply.results, [{}]);

  const later = batcher.submit({ texts: ['normal'], capabilities: ['hanging'] });
  time.advance(5);
  t.same((await later).results, [{ hanging: 'ok' }], 'the next batch runs as usual');
});
