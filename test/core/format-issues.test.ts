import t from 'tap';
import { z } from 'zod';
import { CapserveError } from '../../core/errors.js';
import { jsonPointer, toValidationIssues, validationError } from '../../core/format-issues.js';

t.test('paths are JSON pointers, with ~ and / escaped', async (t) => {
  t.equal(jsonPointer([]), '');
  t.equal(jsonPointer(['texts', 0]), '/texts/0');
  t.equal(jsonPointer(['a/b', 'c~d']), '/a~1b/c~0d');
});

t.test('zod issues become path and message only, in a VALIDATION_ERROR that names them', async (t) => {
  const parsed = z.object({ texts: z.array(z.string().min(1)) }).safeParse({ texts: ['a', ''] });
  t.notOk(parsed.success);
  const issues = toValidationIssues(parsed.error?.issues ?? []);
  t.same(issues.map((i) => Object.keys(i).sort()), [['message', 'path']]);
  t.equal(issues[0]?.path, '/texts/1');
  const error = validationError('body', parsed.error?.issues ?? []);
  t.match(error.toBody(), { error: { code: 'VALIDATION_ERROR', message: /^invalid body: \/texts\/1: /, issues } });
});

t.test('a VALIDATION_ERROR raised without issues still carries one', async (t) => {
  t.same(new CapserveError('VALIDATION_ERROR', 'no examples').toBody().error.issues, [{ path: '', message: 'no examples' }]);
  t.equal(new CapserveError('NOT_FOUND').toBody().error.issues, undefined, 'other codes are untouched');
});
