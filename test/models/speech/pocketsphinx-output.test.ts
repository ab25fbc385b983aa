import t from 'tap';
import { parsePocketsphinxOutput } from '../../../models/speech/pocketsphinx-output.js';

/** Two utterances as `pocketsphinx_continuous -time yes` prints them, fillers and variants included. */
const OUTPUT = [
  'he was not an illness closed young man',
  '<s> 0.140 0.220 0.999700',
  'he 0.230 0.330 0.993322',
  'was(2) 0.340 0.560 0.993024',
  '[SPEECH] 0.990 1.120 0.527464',
  'man 2.350 2.800 0.753797',
  '</s> 2.810 3.100 1.000000',
  'he might',
  '<s> 4.880 4.970 1.000300',
  '<sil> 4.980 5.200 0.932853',
  'he 5.210 5.370 1.000400',
  'might 5.380 8.120 0.999300',
  '</s> 8.130 8.270 1.000000',
].join('\n');

t.test('one segment per utterance, from its first to its last word', async (t) => {
  const segments = parsePocketsphinxOutput(OUTPUT, 8);
  t.same(segments.map(({ start, end, text }) => ({ start, end, text })), [
    { start: 0.23, end: 2.8, text: 'he was man' },
    { start: 5.21, end: 8, text: 'he might' },
  ]);
  t.ok(segments.every((segment) => segment.confidence !== undefined && segment.confidence <= 1), 'confidence clamped to 1');
});

t.test('utterances of only fillers, and empty output, give nothing', async (t) => {
  t.same(parsePocketsphinxOutput('', 3), []);
  t.same(parsePocketsphinxOutput('\n<s> 0.000 0.100 1.000000\n<sil> 0.110 0.900 0.900000\n[NOISE] 0.910 1.000 0.5\n</s> 1.010 1.100 1.000000\n', 3), []);
});

t.test('word lines without a hypothesis line or <s> still form an utterance', async (t) => {
  t.same(parsePocketsphinxOutput('hello 0.100 0.400 0.500000\nworld 0.410 0.800 0.700000', 1), [{ start: 0.1, end: 0.8, text: 'hello world', confidence: 0.6 }]);
});
