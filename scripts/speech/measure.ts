/**
 * Word error rate and speed of the speech backends, written to bench/RESULTS-speech.md.
 *
 *   npm run bench:speech [-- --whisper-model path/to/ggml-base.en.bin] [--whisper-random]
 *
 * `--whisper-random` adds a row for the random-weight whisper model of
 * scripts/speech/generate-whisper-ggml.ts (written to a temporary folder): the speed of the
 * whisper.cpp path at a toy size, decoding each file once (no temperature fallback, which random
 * weights would always trigger); its WER is meaningless.
 *
 * Sets: the LibriVox sentences of Debian's pocketsphinx-testdata that come with a transcript
 * (test/data/librivox; cards/ is grammar-based and has none), and sentences spoken by espeak-ng,
 * resampled to 16 kHz mono by ffmpeg. Each file is one `transcribe` call, as a chunk would be.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { createRecognizer } from '../../models/speech/create-recognizer.js';
import { type SpeechSpec } from '../../models/speech/speech-spec.js';
import { SPEECH_SAMPLE_RATE, type SpeechRecognizer } from '../../models/speech/types.js';
import { WhisperRecognizer } from '../../models/speech/whisper.js';
import { writeRandomWhisperModel } from './generate-whisper-ggml.js';
import { readWav16kMono } from './read-wav.js';
import { rateOf, type WordErrors, wordErrors } from './wer.js';

const run = promisify(execFile);
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

/** Plain sentences of everyday vocabulary, as a support line might hear them. */
const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call me back tomorrow morning.',
  'My order has not arrived yet.',
  'I would like to cancel my subscription.',
  'The weather is nice today.',
  'Can you help me reset my password?',
  'The train leaves at seven o clock.',
  'We need more time to finish the project.',
  'She bought three apples and a loaf of bread.',
  'The meeting was moved to next week.',
  'Turn left at the second traffic light.',
  'I have been waiting for an hour.',
  'Thank you very much for your help.',
  'The price is too high for me.',
  'He reads a book every night before bed.',
  'Our flight was delayed by two hours.',
  'The children are playing in the garden.',
  'Please send the invoice to my email address.',
  'The software crashes when I open the file.',
  'It was the best meal I have ever had.',
];

interface Sample {
  readonly id: string;
  readonly reference: string;
  readonly pcm: Int16Array;
}

async function librivoxSet(): Promise<Sample[]> {
  const lines = (await readFile(path.join(LIBRIVOX, 'transcription'), 'utf8')).split('\n').filter((line) => line.trim() !== '');
  const samples: Sample[] = [];
  for (const line of lines) {
    const id = /\(([^)]+)\)\s*$/.exec(line)?.[1];
    if (id === undefined) continue;
    const reference = line.replace(/<\/?s>/g, '').replace(/\([^)]+\)\s*$/, '').trim();
    samples.push({ id, reference, pcm: await readWav16kMono(path.join(LIBRIVOX, `${id}.wav`)) });
  }
  return samples;
}

async function espeakSet(dir: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const [i, sentence] of SENTENCES.entries()) {
    const spoken = path.join(dir, `espeak-${i}.wav`);
    const resampled = path.join(dir, `espeak-${i}-16k.wav`);
    await run('espeak-ng', ['-v', 'en-us', '-w', spoken, sentence]);
    await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', spoken, '-ar', String(SPEECH_SAMPLE_RATE), '-ac', '1', '-c:a', 'pcm_s16le', resampled]);
    samples.push({ id: `espeak-${i}`, reference: sentence, pcm: await readWav16kMono(resampled) });
  }
  return samples;
}

interface SetResult {
  readonly name: string;
  readonly files: number;
  readonly wer: number;
  readonly audioSec: number;
  readonly wallSec: number;
  readonly worst: { id: string; reference: string; hypothesis: string };
}

async function measure(name: string, recognizer: SpeechRecognizer, samples: readonly Sample[]): Promise<SetResult> {
  const errors: WordErrors[] = [];
  let wallSec = 0;
  let worst = { id: '', reference: '', hypothesis: '', rate: -1 };
  for (const sample of samples) {
    const started = performance.now();
    const segments = await recognizer.transcribe(sample.pcm, { signal: new AbortController().signal });
    wallSec += (performance.now() - started) / 1000;
    const hypothesis = segments.map((segment) => segment.text).join(' ');
    const found = wordErrors(sample.reference, hypothesis);
    errors.push(found);
    const rate = rateOf([found]);
    if (rate > worst.rate) worst = { id: sample.id, reference: sample.reference, hypothesis, rate };
    console.log(`${name} ${sample.id}: WER ${rate.toFixed(3)} | ${hypothesis}`);
  }
  const audioSec = samples.reduce((sum, sample) => sum + sample.pcm.length / SPEECH_SAMPLE_RATE, 0);
  return { name, files: samples.length, wer: rateOf(errors), audioSec, wallSec, worst: { id: worst.id, reference: worst.reference, hypothesis: worst.hypothesis } };
}

const { values } = parseArgs({
  options: { 'whisper-model': { type: 'string' }, 'whisper-random': { type: 'boolean' }, out: { type: 'string' } },
  strict: true,
});
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const dir = await mkdtemp(path.join(tmpdir(), 'capserve-speech-bench-'));
/** `meaningless`: a row for speed only, whose worst file (pages of invented syllables) is not listed. */
const specs: { label: string; open: () => Promise<SpeechRecognizer>; meaningless?: boolean }[] = [];
const add = (label: string, spec: SpeechSpec): void => {
  specs.push({ label, open: () => createRecognizer(spec, root) });
};
add('pocketsphinx 0.8 (en-us)', { backend: 'pocketsphinx', language: 'en-us' });
if (values['whisper-model'] !== undefined) {
  add(`whisper (${path.basename(values['whisper-model'])})`, { backend: 'whisper', model: path.resolve(values['whisper-model']), language: 'en', threads: 2 });
}
if (values['whisper-random'] === true) {
  specs.push({
    label: 'whisper, random weights (4 MB, no fallback; WER meaningless)',
    meaningless: true,
    open: async () => {
      const file = await writeRandomWhisperModel(path.join(dir, 'whisper-random.bin'));
      return WhisperRecognizer.open({ file, label: 'whisper-random.bin', language: 'en', threads: 2, temperatureIncrement: 0 });
    },
  });
}
try {
  const sets = { librivox: await librivoxSet(), espeak: await espeakSet(dir) };
  const rows: string[] = [];
  const worst: string[] = [];
  for (const { label, open, meaningless } of specs) {
    const recognizer = await open();
    try {
      for (const [name, samples] of Object.entries(sets)) {
        const result = await measure(name, recognizer, samples);
        rows.push(`| ${label} | ${name} | ${result.files} | ${result.audioSec.toFixed(1)} | ${(result.wer * 100).toFixed(1)} % | ${(result.audioSec / result.wallSec).toFixed(2)} |`);
        if (meaningless !== true) worst.push(`- ${label}, ${name}, worst file \`${result.worst.id}\`:\n  - reference: ${result.worst.reference}\n  - heard: ${result.worst.hypothesis}`);
      }
    } finally {
      await recognizer.close();
    }
  }
  const report = [
    '# Speech-to-text: word error rate and speed',
    '',
    `Measured by \`npm run bench:speech\` (scripts/speech/measure.ts) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, this machine's CPU, one chunk at a time.`,
    'WER is word-level Levenshtein over lower-cased words without punctuation, pooled over the set (all edits over all reference words).',
    'Speed is seconds of audio per second of wall time, including starting the decoder for each file.',
    '',
    '- **librivox**: the five LibriVox sentences of Debian\'s `pocketsphinx-testdata` with a transcript (`test/data/librivox`); `cards/` is grammar-based (no transcript) and is not used.',
    `- **espeak**: ${SENTENCES.length} everyday sentences spoken by \`espeak-ng -v en-us\`, resampled to 16 kHz mono by ffmpeg (synthetic voice: a check of the pipeline, not of real speech).`,
    ...(values['whisper-random'] === true
      ? [
          '- **whisper, random weights**: the model scripts/speech/generate-whisper-ggml.ts writes (one encoder and one decoder layer of width 32, real vocabulary and 30-second windows), run by the real whisper.cpp binding with greedy decoding and no temperature fallback. It measures the binding\'s fixed costs (mel, a 30-second encoder window, up to 224 decoded tokens per file), not a usable model: its WER is meaningless.',
        ]
      : []),
    '',
    '| backend | set | files | audio s | WER | audio s / wall s |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Worst files',
    '',
    ...worst,
    '',
  ].join('\n');
  const out = values.out ?? path.join(root, 'bench', 'RESULTS-speech.md');
  await writeFile(out, report);
  console.log(`\n${rows.join('\n')}\nwrote ${out}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
