import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CapserveError } from '../../core/errors.js';

/** What ffprobe says about an audio or video file. */
export interface MediaProbe {
  readonly durationSec?: number;
  readonly width?: number;
  readonly height?: number;
  /** True only for a real video stream: cover art (an attached picture) does not count. */
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  /** The first video stream's codec, else the first audio stream's. */
  readonly codec?: string;
}

export interface ProbeOptions {
  /** Kills ffprobe after this long. @default 10000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The ffprobe executable, looked up on PATH. @default "ffprobe" */
  readonly ffprobePath?: string;
  /** Where a Buffer input is written while ffprobe reads it. @default os.tmpdir() */
  readonly tempDir?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** ffprobe's JSON for a file with many streams stays far below this. */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

const availability = new Map<string, Promise<boolean>>();

/** Whether ffprobe runs at all; asked once per executable path. */
export function ffprobeAvailable(ffprobePath = 'ffprobe'): Promise<boolean> {
  let known = availability.get(ffprobePath);
  if (known === undefined) {
    known = new Promise<boolean>((resolve) => {
      execFile(ffprobePath, ['-version'], { timeout: DEFAULT_TIMEOUT_MS }, (error) => resolve(error === null));
    });
    availability.set(ffprobePath, known);
  }
  return known;
}

/**
 * Duration, resolution, streams and codec of an audio or video file, from
 * `ffprobe -show_format -show_streams`. A Buffer is written to a temporary file (MP4 needs
 * seeking, so a pipe will not do) that is removed afterwards.
 * @returns undefined when ffprobe is not installed.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when ffprobe cannot read the input or times out,
 *   REQUEST_CANCELLED when `signal` aborts.
 */
export async function probeMedia(input: string | Buffer, options: ProbeOptions = {}): Promise<MediaProbe | undefined> {
  const ffprobePath = options.ffprobePath ?? 'ffprobe';
  if (!(await ffprobeAvailable(ffprobePath))) return undefined;
  if (typeof input === 'string') return parseProbe(await runFfprobe(input, ffprobePath, options));
  const dir = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'capserve-probe-'));
  try {
    const file = path.join(dir, 'input');
    await writeFile(file, input);
    return parseProbe(await runFfprobe(file, ffprobePath, options));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runFfprobe(file: string, ffprobePath: string, options: ProbeOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file];
  return new Promise((resolve, reject) => {
    execFile(
      ffprobePath,
      args,
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, ...(options.signal ? { signal: options.signal } : {}) },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        if (options.signal?.aborted) return reject(new CapserveError('REQUEST_CANCELLED', 'probing the media was cancelled', { cause: error }));
        if (error.killed) {
          return reject(
            new CapserveError('UNSUPPORTED_MEDIA_TYPE', `ffprobe did not finish reading the media within ${timeoutMs} ms`, {
              details: { reason: 'timeout' },
              cause: error,
            }),
          );
        }
        const said = stderr.trim().split('\n').at(-1)?.replace(file, '<input>') || error.message;
        reject(new CapserveError('UNSUPPORTED_MEDIA_TYPE', `ffprobe could not read the media: ${said}`, { details: { reason: 'unreadable' }, cause: error }));
      },
    );
  });
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
}

interface FfprobeOutput {
  format?: { duration?: string };
  streams?: FfprobeStream[];
}

function parseProbe(stdout: string): MediaProbe {
  let output: FfprobeOutput;
  try {
    output = JSON.parse(stdout) as FfprobeOutput;
  } catch (error) {
    throw new CapserveError('INTERNAL_ERROR', 'ffprobe printed something other than JSON', { cause: error });
  }
  const streams = output.streams ?? [];
  const video = streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1);
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  // Some containers (raw streams, some WebM) carry the duration only per stream.
  const durations = [output.format?.duration, ...streams.map((stream) => stream.duration)].map(seconds).filter((d) => d !== undefined);
  const durationSec = seconds(output.format?.duration) ?? (durations.length > 0 ? Math.max(...durations) : undefined);
  const codec = video?.codec_name ?? audio?.codec_name;
  return {
    ...(durationSec === undefined ? {} : { durationSec }),
    ...(video?.width ? { width: video.width } : {}),
    ...(video?.height ? { height: video.height } : {}),
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    ...(codec === undefined ? {} : { codec }),
  };
}

/** ffprobe writes "N/A" for unknown durations. */
function seconds(value: string | undefined): number | undefined {
  const parsed = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}
