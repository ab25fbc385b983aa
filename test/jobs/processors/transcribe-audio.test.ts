import path from 'node:path';
import t from 'tap';
import { decodeAudio } from '../../../jobs/media/decode-audio.js';
import { transcribeAudio } from '../../../jobs/processors/transcribe-audio.js';
import { PocketsphinxRecognizer } from '../../../models/speech/pocketsphinx.js';
import { type SpeechRecognizer } from '../../../models/speech/types.js';
import { alive, childProcesses } from '../../helpers/child-processes.js';
import { until, within } from '../../helpers/until.js';
import { makeWav } from '../media/fixtures/make-media.js';
import { ffmpegTo, skipWithoutSpeechTools, spokenFiles, tempDir, truncated, writeIn } from '../media/fixtures/make-speech.js';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const never = new AbortController().signal;

const skip = await skipWithoutSpeechTools();
if (skip !== false) {
  t.comment(`skipped: ${skip}`);
} else {
  const recognizer = await PocketsphinxRecognizer.open();
  t.teardown(() => recognizer.close());

  t.test('espeak-ng speech as WAV, MP3 and Ogg: segments with times inside the audio, in order', async (t) => {
    const dir = await tempDir(t);
    const files = await spokenFiles(dir);
    for (const [name, file] of Object.entries(files)) {
      const fractions: number[] = [];
      const transcript = await transcribeAudio(file, { recognizer, signal: never, durationSec: 5.2, progress: (f) => fractions.push(f) });
      t.ok(transcript.segments.length > 0, `${name}: ${JSON.stringify(transcript.segments)}`);
      t.ok(transcript.text.split(' ').length >= 5, `${name}: words "${transcript.text}"`);
      t.ok(transcript.durationSec > 4 && transcript.durationSec < 7, `${name}: ${transcript.durationSec} s decoded`);
      for (const segment of transcript.segments) {
        t.ok(segment.start >= 0 && segment.start <= segment.end && segment.end <= transcript.durationSec, `${name}: ${segment.start}–${segment.end} s`);
      }
      t.match(transcript, { chunks: 1, backend: 'pocketsphinx', language: 'en-us' });
      t.equal(transcript.truncated, undefined);
      t.same(fractions.length, 1, `${name}: progress once per chunk`);
    }
  });

  t.test('chunks of a longer recording: segment times are offset by each chunk start, and progress rises to 1', async (t) => {
    const dir = await tempDir(t);
    const inputs = ['0870', '0880', '0890'].map((id) => ['-i', path.join(LIBRIVOX, `sense_and_sensibility_01_austen_64kb-${id}.wav`)]).flat();
    const file = await ffmpegTo(dir, 'three.wav', [...inputs, '-filter_complex', '[0][1][2]concat=n=3:v=0:a=1']);
    const fractions: number[] = [];
    const transcript = await transcribeAudio(file, { recognizer, signal: never, chunkSeconds: 6, durationSec: 15.39, progress: (f) => fractions.push(f) });
    t.ok(transcript.chunks >= 3, `${transcript.chunks} chunks`);
    t.equal(fractions.length, transcript.chunks);
    t.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!), `progress rises: ${fractions.map((f) => f.toFixed(2)).join(' ')}`);
    t.ok(Math.abs(fractions.at(-1)! - 1) < 0.02, 'and ends at the whole duration');
    const starts = transcript.segments.map((segment) => segment.start);
    t.same(starts, [...starts].sort((a, b) => a - b), 'segments in order across chunks');
    t.ok(transcript.segments.some((segment) => segment.start > 6), 'segments from later chunks carry their offset');
    t.ok(transcript.segments.at(-1)!.end <= transcript.durationSec);
    t.match(transcript.text, /leisure|consider|power/, `LibriVox words: "${transcript.text.slice(0, 120)}…"`);
  });

  t.test('silence: a transcript with no segments, not an error', async (t) => {
    const dir = await tempDir(t);
    const file = await writeIn(dir, 'quiet.wav', makeWav({ seconds: 3, sampleRate: 16_000 }));
    const transcript = await transcribeAudio(file, { recognizer, signal: never, durationSec: 3 });
    t.same(transcript.segments, []);
    t.equal(transcript.text, '');
    t.equal(transcript.durationSec, 3);
  });

  t.test('bad input gets a coded error', async (t) => {
    const dir = await tempDir(t);
    const cases: [name: string, file: string, code: string, reason?: string][] = [
      ['corrupt bytes named .wav', await writeIn(dir, 'junk.wav', Buffer.from('this is not audio at all, just text pretending '.repeat(40))), 'MEDIA_DECODE_FAILED', 'unreadable'],
      ['a zero-length file', await writeIn(dir, 'empty.mp3', Buffer.alloc(0)), 'MEDIA_DECODE_FAILED', 'unreadable'],
      ['a WAV header with no samples', await writeIn(dir, 'header.wav', makeWav({ seconds: 0 })), 'MEDIA_DECODE_FAILED', 'empty'],
      ['a video without an audio stream', await ffmpegTo(dir, 'mute.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-t', '1']), 'MEDIA_DECODE_FAILED', 'no_audio'],
    ];
    for (const [name, file, code, reason] of cases) {
      const before = childProcesses().length;
      await t.rejects(transcribeAudio(file, { recognizer, signal: never }), { code, details: { reason } }, name);
      t.equal(childProcesses().length, before, `${name}: no child left`);
    }
    const noFfmpeg = transcribeAudio(cases[0]![1], { recognizer, signal: never, ffmpegPath: path.join(dir, 'no-such-ffmpeg') });
    await t.rejects(noFfmpeg, { code: 'UNSUPPORTED_MEDIA', message: /needs ffmpeg/ }, 'ffmpeg missing');
    const error = await transcribeAudio(cases[0]![1], { recognizer, signal: never }).then(
      () => new Error('decoded'),
      (caught: Error) => caught,
    );
    t.notMatch(error.message, dir, 'no server path in the message');
  });

  t.test('a truncated file: the part that decodes is transcribed and marked truncated', async (t) => {
    const dir = await tempDir(t);
    const { mp3, wav } = await spokenFiles(dir);
    const cutMp3 = await truncated(mp3, dir, 'cut.mp3', 12_000);
    const transcript = await transcribeAudio(cutMp3, { recognizer, signal: never, durationSec: 5.2 });
    t.ok(transcript.truncated !== undefined && transcript.truncated.decodedSec < 5.2 - 0.5, `truncated: ${JSON.stringify(transcript.truncated)}`);
    // A WAV cut after its header is a file of no samples.
    const cutWav = await truncated(wav, dir, 'cut.wav', 44);
    await t.rejects(transcribeAudio(cutWav, { recognizer, signal: never, durationSec: 5.2 }), { code: 'MEDIA_DECODE_FAILED' });
  });

  t.test('aborting stops at once: the promise rejects with the reason and neither ffmpeg nor the decoder remains', async (t) => {
    const dir = await tempDir(t);
    const inputs = ['0870', '0880', '0890', '0920', '0930'].map((id) => ['-i', path.join(LIBRIVOX, `sense_and_sensibility_01_austen_64kb-${id}.wav`)]).flat();
    const file = await ffmpegTo(dir, 'five.wav', [...inputs, '-filter_complex', '[0][1][2][3][4]concat=n=5:v=0:a=1']);
    const controller = new AbortController();
    let ffmpegPid = 0;
    let spawned: number[] = [];
    let reachedDecoder: () => void = () => {};
    const firstChunk = new Promise<void>((resolve) => (reachedDecoder = resolve));
    const watching: SpeechRecognizer = {
      backend: recognizer.backend,
      language: recognizer.language,
      close: async () => {},
      transcribe: (pcm, options) => {
        reachedDecoder();
        return recognizer.transcribe(pcm, options);
      },
    };
    const job = transcribeAudio(file, { recognizer: watching, signal: controller.signal, chunkSeconds: 5, onSpawn: (pid) => (ffmpegPid = pid) });
    const jobDone = job.then(
      () => new Error('it finished'),
      (error: unknown) => error,
    );
    await within(firstChunk, { what: 'the first chunk to reach the recognizer' });
    // The recognizer spawns its decoder by itself; no event says when, so the process table is polled.
    spawned = await until(
      () => {
        const children = childProcesses();
        return children.some((child) => child.pid !== ffmpegPid) && children.map((child) => child.pid);
      },
      { what: 'the decoder process to start' },
    );
    t.ok(ffmpegPid > 0 && spawned.includes(ffmpegPid), 'ffmpeg was running');
    t.ok(spawned.length >= 2, `children while transcribing: ${spawned.join(', ')}`);
    controller.abort(new Error('cancelled by the test'));
    t.match(await within(jobDone, { what: 'the transcription to stop', timeoutMs: 2000 }), { message: 'cancelled by the test' }, 'rejects with the reason');
    // The job settles only after ffmpeg has exited; the decoder is killed on the same abort.
    t.notOk(alive(ffmpegPid), 'ffmpeg is gone');
    const left = await within(
      (async () => {
        for (;;) {
          const remaining = spawned.filter(alive);
          if (remaining.length === 0) return remaining;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      { what: 'the decoder to exit', timeoutMs: 2000 },
    );
    t.same(left, []);
  });

  t.test('decodeAudio, broken off by its consumer, kills ffmpeg before it ends', async (t) => {
    const dir = await tempDir(t);
    const file = await ffmpegTo(dir, 'tone.ogg', ['-f', 'lavfi', '-i', 'sine=frequency=300:duration=120', '-c:a', 'libopus', '-b:a', '8k']);
    let pid = 0;
    for await (const piece of decodeAudio(file, { signal: never, onSpawn: (p) => (pid = p) })) {
      t.ok(piece.length > 0);
      break;
    }
    t.notOk(alive(pid), 'ffmpeg is gone once the loop is left');
  });
}
