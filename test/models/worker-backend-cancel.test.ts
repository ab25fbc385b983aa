import t from 'tap';
import { CapserveError } from '../../core/errors.js';
import { modelSpecSchema, type LoadOptions } from '../../models/types.js';
import { loadInWorker } from '../../models/worker-backend.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const options: LoadOptions = { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };

t.test('a signal cannot cross into the worker: an aborted call is rejected on this side, and the worker serves on', async (t) => {
  const spec = modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: await tinyBertDir() });
  const backend = await loadInWorker(spec, options);
  t.teardown(() => backend.close());
  await t.rejects(backend.run(['x'], { signal: AbortSignal.abort() }), { code: 'REQUEST_CANCELLED' });
  const deadline = new AbortController();
  deadline.abort(new CapserveError('DEADLINE_EXCEEDED'));
  await t.rejects(backend.run(['x'], { signal: deadline.signal }), { code: 'DEADLINE_EXCEEDED' }, 'a coded reason is kept');
  const live = new AbortController();
  const outputs = await backend.run(['still served'], { signal: live.signal });
  t.equal(outputs.length, 1);
  t.equal(outputs[0]?.length, backend.info.dimensions);
});
