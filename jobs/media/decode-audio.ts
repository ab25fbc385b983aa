import { spawn } from 'node:child_process';
import { CapserveError } from '../../core/errors.js';

export interface DecodeAudioOptions {
  /** Aborting kills ffmpeg at once; the stream then throws the signal's reason. */
  readonly signal: AbortSignal;
  /** The ffmpeg executable, looked up on PATH. @default "ffmpeg" */
  readonly ffmpegPath?: string;
  /** Output rate of the mono s16le PCM. @default 16000 */
  readonly sampleRate?: number;
  /** Told the child's pid once it is spawned (tests check it is gone after a cancel). */
  readonly onSpawn?: (pid: number) => void;
}

/** The tail of ffmpeg's stderr kept for the error message: its last lines say why it failed. */
const MAX_STDERR_BYTES = 8 * 1024;

/**
 * Decodes the first audio stream of any file ffmpeg reads (audio or video, by path: MP4 needs
 * seeking, so no pipe in) to mono signed 16-bit little-endian PCM at `sampleRate`, yielded as
 * ffmpeg writes it. The stream is pulled: while the consumer is busy (a recognizer on a chunk)
 * the pipe fills and ffmpeg waits, so memory holds what the consumer keeps, not the file.
 * ffmpeg is spawned without a shell; stopping early (the consumer breaks, or `signal` aborts)
 * kills it.
 *
 * A truncated file is decoded as far as it goes (ffmpeg exits 0 on a cut-off WAV or MP3); the
 * caller compares the samples with ffprobe's duration.
 * @throws CapserveError UNSUPPORTED_MEDIA when ffmpeg is not installed; MEDIA_DECODE_FAILED
 *   when the file has no audio stream (`reason: "no_audio"`), ffmpeg cannot read it
 *   (`"unreadable"`), or it holds no samples at all (`"empty"`); the signal's reason on abort.
 */
export async function* decodeAudio(file: string, options: DecodeAudioOptions): AsyncGenerator<Buffer, void, undefined> {
  const { signal } = options;
  signal.throwIfAborted();
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:a:0', '-vn', '-sn', '-dn', '-ac', '1', '-ar', String(options.sampleRate ?? 16_000), '-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1'];
  const child = spawn(options.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-MAX_STDERR_BYTES);
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal.addEventListener('abort', kill, { once: true });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);

  let bytes = 0;
  try {
    try {
      for await (const data of child.stdout as AsyncIterable<Buffer>) {
        bytes += data.length;
        yield data;
      }
    } catch (error) {
      // The pipe broke because the child was killed: the abort is the story, not the pipe.
      signal.throwIfAborted();
      throw error;
    }
    const { code, error } = await exited;
    signal.throwIfAborted();
    if (error !== undefined) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new CapserveError(
        'UNSUPPORTED_MEDIA',
        missing ? 'decoding audio needs ffmpeg (Debian package ffmpeg), which is not installed' : `ffmpeg could not start: ${error.message}`,
        { details: { missing: 'ffmpeg' }, cause: error },
      );
    }
    if (code !== 0) throw decodeFailure(stderr, file);
    if (bytes < 2) throw new CapserveError('MEDIA_DECODE_FAILED', 'the file holds no audio samples', { details: { reason: 'empty' } });
  } finally {
    signal.removeEventListener('abort', kill);
    kill();
    // The generator ends only once ffmpeg is gone, so no child outlives a cancelled job.
    await exited;
  }
}

/** ffmpeg's own words for a failure, its last line, with the server's path taken out. */
function decodeFailure(stderr: string, file: string): CapserveError {
  const lines = stderr.split('\n').map((line) => line.split(file).join('<input>').trim()).filter((line) => line.length > 0);
  const noAudio = lines.some((line) => /matches no streams|does not contain any stream/.test(line));
  if (noAudio) return new CapserveError('MEDIA_DECODE_FAILED', 'the file has no audio stream', { details: { reason: 'no_audio' } });
  const said = lines.at(-1) ?? 'no message';
  return new CapserveError('MEDIA_DECODE_FAILED', `ffmpeg could not decode the audio: ${said}`, { details: { reason: 'unreadable' } });
}
