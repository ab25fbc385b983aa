import t from 'tap';
import { decodeFailure, encodeFailure, statusOf } from '../../../jobs/queue/bullmq-common.js';
import { isPermanent, toJobError } from '../../../jobs/queue/job-errors.js';
import { CapserveError } from '../../../server/errors.js';
import { codedError } from '../../helpers/job-fakes.js';

t.test('isPermanent: retryable wins, then 4xx CapserveErrors, then the listed codes', async (t) => {
  t.equal(isPermanent(codedError('UNSUPPORTED_MEDIA')), true);
  t.equal(isPermanent(codedError('VALIDATION_ERROR')), true);
  t.equal(isPermanent(codedError('ANYTHING', 'x', { retryable: false })), true);
  t.equal(isPermanent(codedError('UNSUPPORTED_MEDIA', 'x', { retryable: true })), false, 'an explicit retryable wins');
  t.equal(isPermanent(new CapserveError('TEXT_TOO_LONG')), true);
  t.equal(isPermanent(new CapserveError('MODEL_LOAD_FAILED')), false, '5xx is worth retrying');
  t.equal(isPermanent(codedError('ETIMEDOUT')), false);
  t.equal(isPermanent(new Error('plain')), false);
  t.equal(isPermanent('UNSUPPORTED_MEDIA'), false, 'a thrown string has no code');
  t.equal(isPermanent(null), false);
});

t.test('toJobError keeps a string code and the message', async (t) => {
  t.same(toJobError(codedError('OCR_FAILED', 'bad scan')), { code: 'OCR_FAILED', message: 'bad scan' });
  t.same(toJobError(new Error('plain')), { code: 'INTERNAL_ERROR', message: 'plain' });
  t.same(toJobError({ code: 7 }), { code: 'INTERNAL_ERROR', message: '[object Object]' });
  t.same(toJobError('text'), { code: 'INTERNAL_ERROR', message: 'text' });
});

t.test('a JobError survives the trip through BullMQ failedReason', async (t) => {
  const error = { code: 'UNSUPPORTED_MEDIA', message: 'no {json} here' };
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
