import t from 'tap';
import { CapserveError, errorDefinitions, isErrorCode, isRetryable, toErrorRecord } from '../../core/errors.js';
import { codedError } from '../helpers/job-fakes.js';

t.test('every code has a status, a retry verdict that follows it, and a message', async (t) => {
  for (const [code, definition] of Object.entries(errorDefinitions)) {
    t.ok(definition.status >= 400 && definition.status < 600, `${code} status`);
    t.equal(definition.retryable, definition.status >= 500 || definition.status === 429, `${code}: 4xx other than 429 is the caller's fault`);
    t.ok(definition.message.endsWith('.'), `${code} message`);
  }
});

t.test('isRetryable: an explicit retryable wins, then the registry, then retry', async (t) => {
  t.equal(isRetryable(codedError('UNSUPPORTED_MEDIA')), false, 'a registry 4xx code on a plain error');
  t.equal(isRetryable(codedError('VALIDATION_ERROR')), false);
  t.equal(isRetryable(codedError('REQUEST_CANCELLED')), false);
  t.equal(isRetryable(codedError('ANYTHING', 'x', { retryable: false })), false);
  t.equal(isRetryable(codedError('UNSUPPORTED_MEDIA', 'x', { retryable: true })), true, 'an explicit retryable wins');
  t.equal(isRetryable(new CapserveError('TEXT_TOO_LONG')), false);
  t.equal(isRetryable(new CapserveError('MODEL_LOAD_FAILED')), true, '5xx is worth retrying');
  t.equal(isRetryable(new CapserveError('OVERLOADED')), true, '429 is worth retrying');
  t.equal(isRetryable(codedError('ETIMEDOUT')), true, 'a code the registry does not know');
  t.equal(isRetryable(new Error('plain')), true);
  t.equal(isRetryable('UNSUPPORTED_MEDIA'), true, 'a thrown string has no code');
  t.equal(isRetryable(null), true);
});

t.test('toErrorRecord keeps a registry code and the message; anything else is INTERNAL_ERROR', async (t) => {
  t.same(toErrorRecord(codedError('UNSUPPORTED_MEDIA', 'bad scan')), { code: 'UNSUPPORTED_MEDIA', message: 'bad scan' });
  t.same(toErrorRecord(new CapserveError('TEXT_TOO_LONG')), { code: 'TEXT_TOO_LONG', message: errorDefinitions.TEXT_TOO_LONG.message });
  t.same(toErrorRecord(codedError('OCR_FAILED', 'bad scan')), { code: 'INTERNAL_ERROR', message: 'bad scan' });
  t.same(toErrorRecord(new Error('plain')), { code: 'INTERNAL_ERROR', message: 'plain' });
  t.same(toErrorRecord({ code: 7 }), { code: 'INTERNAL_ERROR', message: '[object Object]' });
  t.same(toErrorRecord('text'), { code: 'INTERNAL_ERROR', message: 'text' });
  t.equal(isErrorCode('NOT_FOUND'), true);
  t.equal(isErrorCode('toString'), false, 'not an inherited property');
});
