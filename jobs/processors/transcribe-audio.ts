import { SPEECH_SAMPLE_RATE, type SpeechRecognizer } from '../../models/speech/types.js';
import { audioChunks } from '../media/audio-chunks.js';
import { decodeAudio } from '../media/decode-audio.js';

/** A segment of the transcript; times in seconds from the start of the file. */
export interface TranscriptSegment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** What `transcribe` gives for an audio or video file. */
export interface Transcript {
  /** The segments' text, joined by spaces; empty for silence. */
  readonly text: string;
  readonly segments: readonly TranscriptSegment[];
  /** Seconds of audio decoded (and transcribed). */
  readonly durationSec: number;
  /** Chunks the audio was cut into for the recognizer. */
  readonly chunks: number;
  readonly backend: string;
  readonly language: string;
  /**
   * Set when fewer seconds decoded than ffprobe announced (a cut-off download): the part that
   * decoded is transcribed, and this says how much was expected.
   */
  readonly truncated?: { readonly expectedSec: number; readonly decodedSec: number };
  /** Set when there was nothing to transcribe: `no_audio`, a video without an audio stream. */
  readonly reason?: 'no_audio';
}

export interface TranscribeOptions {
  readonly recognizer: SpeechRecognizer;
  /** Cancels the job: ffmpeg is killed and the recognizer aborted at once. */
  readonly signal: AbortSignal;
  /** @default 30 */
  readonly chunkSeconds?: number;
  /** ffprobe's duration: progress is the share of it transcribed. */
  readonly durationSec?: number;
  /** Called as each chunk finishes, 0 to 1. */
  readonly progress?: (fraction: number) => void;
  /** @default "ffmpeg" */
  readonly ffmpegPath?: string;
  /** Told the ffmpeg child's pid. */
  readonly onSpawn?: (pid: number) => void;
}

/** A shortfall under both is rounding and codec padding, not truncation. */
const TRUNCATED_MIN_SECONDS = 0.5;
const TRUNCATED_MIN_SHARE = 0.02;

/**
 * Transcribes a file: ffmpeg decodes it to 16 kHz mono PCM, the PCM is cut into chunks at
 * quiet moments, and each chunk goes through the recognizer in turn, its segments moved by the
 * chunk's start. Decoding runs ahead of the recognizer only by the pipe and one chunk, so a long
 * file is never held whole. Progress is the end of the last chunk done over `durationSec`
 * (without it, it approaches 1 as chunks finish).
 * @throws whatever decodeAudio throws (MEDIA_DECODE_FAILED, UNSUPPORTED_MEDIA), the
 *   recognizer's errors, and the signal's reason once it aborts.
 */
export async function transcribeAudio(file: string, options: TranscribeOptions): Promise<Transcript> {
  const { recognizer, signal } = options;
  const rate = SPEECH_SAMPLE_RATE;
  const pcm = decodeAudio(file, {
    signal,
    sampleRate: rate,
    ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
    ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
  });
  const segments: TranscriptSegment[] = [];
  let chunks = 0;
  let decodedSec = 0;
  for await (const chunk of audioChunks(pcm, { chunkSeconds: options.chunkSeconds ?? 30, sampleRate: rate })) {
    const found = await recognizer.transcribe(chunk.pcm, { signal });
    signal.throwIfAborted();
    const chunkSec = chunk.pcm.length / rate;
    for (const segment of found) {
      const text = segment.text.trim();
      if (text.length === 0) continue;
      // A backend's times may run a frame past its chunk; clamped, segments stay in order across chunks.
      const start = round3(chunk.startSec + clamp(segment.start, 0, chunkSec));
      const end = round3(chunk.startSec + clamp(segment.end, segment.start, chunkSec));
      segments.push({ start, end, text });
    }
    chunks += 1;
    decodedSec = chunk.startSec + chunkSec;
    const expected = options.durationSec;
    options.progress?.(expected !== undefined && expected > 0 ? Math.min(1, decodedSec / expected) : 1 - 1 / (1 + chunks));
  }
  const expectedSec = options.durationSec;
  const short = expectedSec === undefined ? 0 : expectedSec - decodedSec;
  const truncated = expectedSec !== undefined && short > TRUNCATED_MIN_SECONDS && short > expectedSec * TRUNCATED_MIN_SHARE;
  return {
    text: segments.map((segment) => segment.text).join(' '),
    segments,
    durationSec: round3(decodedSec),
    chunks,
    backend: recognizer.backend,
    language: recognizer.language,
    ...(truncated ? { truncated: { expectedSec: round3(expectedSec), decodedSec: round3(decodedSec) } } : {}),
  };
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
const round3 = (value: number): number => Math.round(value * 1000) / 1000;
