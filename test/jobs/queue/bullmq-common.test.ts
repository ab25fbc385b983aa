import t from 'tap';
import { type ErrorRecord } from '../../../core/errors.js';
import { decodeFailure, encodeFailure, statusOf } from '../../../jobs/queue/bullmq-common.js';

t.test('an ErrorRecord survives the trip through BullMQ failedReason', async (t) => {
  const error: ErrorRecord = { code: 'UNSUPPORTED_MEDIA', message: 'no {json} here' };
  t.same(decodeFailure(JSON.stringify({ code: 'OCR_FAILED', message: 'x' })), { code: 'INTERNAL_ERROR', message: JSON.stringify({ code: 'OCR_FAILED', message: 'x' }) }, 'a code the registry does not know');
  t.same(decodeFailure(encodeFailure(error)), error);
  t.same(decodeFailure('job stalled more than allowable limit'), { code: 'INTERNAL_ERROR', message: 'job stalled more than allowable limit' });
  t.same(decodeFailure('{not json'), { code: 'INTERNAL_ERROR', message: '{not json' });
  t.same(decodeFailure(undefined), { code: 'INTERNAL_ERROR', message: 'The job failed.' });
  t.equal(statusOf('failed', { code: 'REQUEST_CANCELLED', message: '' }), 'cancelled');
  t.equal(statusOf('failed', error), 'failed');
  t.equal(statusOf('prioritized', undefined), 'queued');
  t.equal(statusOf('delayed', undefined), 'queued');
  t.equal(statusOf('active', undefined), 'running');
  t.equal(statusOf('unknown', undefined), undefined);
});
