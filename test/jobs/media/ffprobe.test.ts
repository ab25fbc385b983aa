import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ffprobeAvailable, probeMedia } from '../../../jobs/media/ffprobe.js';
import { type MediaFixture, makeWav, mediaFixture, skipWithoutFfmpeg } from './fixtures/make-media.js';

const skip = await skipWithoutFfmpeg();

t.test('without ffprobe, probing gives undefined', async (t) => {
  const missing = '/nonexistent/ffprobe';
  t.equal(await ffprobeAvailable(missing), false);
  t.equal(ffprobeAvailable(missing), ffprobeAvailable(missing), 'memoised: the same promise');
  t.equal(await probeMedia(makeWav({ seconds: 1 }), { ffprobePath: missing }), undefined);
});

t.test('probes what ffmpeg made', { skip }, async (t) => {
  t.equal(await ffprobeAvailable(), true);
  const cases: [MediaFixture, { durationSec: number; width?: number; height?: number; hasVideo: boolean; hasAudio: boolean; codec: string }][] = [
    ['video.mp4', { durationSec: 1, width: 320, height: 240, hasVideo: true, hasAudio: true, codec: 'h264' }],
    ['video-640x360.mp4', { durationSec: 1, width: 640, height: 360, hasVideo: true, hasAudio: false, codec: 'mpeg4' }],
    ['audio-only.mp4', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'aac' }],
    ['audio.m4a', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'aac' }],
    ['audio.mp3', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'mp3' }],
    ['audio.flac', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'flac' }],
    ['audio.ogg', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'vorbis' }],
    ['video.webm', { durationSec: 1, width: 320, height: 240, hasVideo: true, hasAudio: false, codec: 'vp8' }],
    ['audio-only.webm', { durationSec: 1, hasVideo: false, hasAudio: true, codec: 'opus' }],
    ['video.avi', { durationSec: 1, width: 320, height: 240, hasVideo: true, hasAudio: false, codec: 'mpeg4' }],
  ];
  for (const [name, expected] of cases) {
    const probe = await probeMedia(await mediaFixture(name));
    if (probe === undefined) throw new Error('ffprobe is installed');
    const { durationSec, ...rest } = probe;
    const { durationSec: expectedDuration, ...expectedRest } = expected;
    t.same(rest, expectedRest, name);
    t.ok(durationSec !== undefined && Math.abs(durationSec - expectedDuration) < 0.1, `${name}: about ${expectedDuration} s (${durationSec})`);
  }
});

t.test('cover art is not a video stream', { skip }, async (t) => {
  const mp3 = await mediaFixture('cover.mp3');
  const dir = t.testdir();
  await writeFile(path.join(dir, 'cover.mp3'), mp3);
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', path.join(dir, 'cover.mp3')]);
  t.same(stdout.trim().split('\n').sort(), ['audio', 'video'], 'the file does carry a picture stream');
  t.match(await probeMedia(mp3), { hasVideo: false, hasAudio: true, codec: 'mp3' });
});

t.test('probes a hand-written WAV from a path and from a buffer, and cleans up', { skip }, async (t) => {
  const dir = t.testdir();
  const wav = makeWav({ seconds: 2.5, sampleRate: 8000, channels: 2 });
  const file = path.join(dir, 'tone.wav');
  await writeFile(file, wav);
  const expected = { durationSec: 2.5, hasVideo: false, hasAudio: true, codec: 'pcm_s16le' };
  t.same(await probeMedia(file), expected, 'path');
  const temp = t.testdir();
  t.same(await probeMedia(wav, { tempDir: temp }), expected, 'buffer');
  t.same(await readdir(temp), [], 'the temporary copy is removed');
  await t.rejects(probeMedia(Buffer.from('RIFF\0\0\0\0WAVEnonsense'), { tempDir: temp }), { code: 'UNSUPPORTED_MEDIA_TYPE' });
  t.same(await readdir(temp), [], 'removed after a failure too');
});

t.test('corrupt input, a timeout and cancellation are coded errors', { skip }, async (t) => {
  await t.rejects(probeMedia(Buffer.from('this is not media at all')), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: /^ffprobe could not read the media: /,
    details: { reason: 'unreadable' },
  });
  const mp4 = await mediaFixture('video.mp4');
  await t.rejects(probeMedia(mp4.subarray(0, 100)), { code: 'UNSUPPORTED_MEDIA_TYPE' }, 'a truncated mp4');
  await t.rejects(probeMedia(mp4, { timeoutMs: 1 }), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'ffprobe did not finish reading the media within 1 ms',
    details: { reason: 'timeout' },
  });
  await t.rejects(probeMedia(mp4, { signal: AbortSignal.abort() }), { code: 'REQUEST_CANCELLED' });
  const controller = new AbortController();
  const probing = probeMedia(mp4, { signal: controller.signal });
  controller.abort();
  await t.rejects(probing, { code: 'REQUEST_CANCELLED' }, 'aborted while running');
});
