import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { addNativeLogListener, initWhisper, toggleNativeLog, type WhisperContext } from '@fugood/whisper.node';
import { CapserveError, messageOf } from '../../core/errors.js';
import { SPEECH_SAMPLE_RATE, type SpeechRecognizer, type SpeechSegment } from './types.js';

export interface WhisperOptions {
  /** The ggml model file, absolute or relative to the working directory. */
  readonly file: string;
  /** How messages name the file: the setting and the path as configured, never where the server is installed. */
  readonly label: string;
  /** Whisper's language code, or "auto". @default "en" */
  readonly language?: string;
  /** CPU threads per chunk. @default 2 */
  readonly threads?: number;
  /**
   * How much whisper raises the sampling temperature to retry a window whose text looks like a
   * loop (too compressible) or too unlikely, up to 1.0; 0 decodes each window once. @default 0.2
   * (whisper's own: better text on hard audio, up to six decodes per window).
   */
  readonly temperatureIncrement?: number;
}

/**
 * A chunk whose loudest sample is below this (about -54 dBFS) is silence. Whisper, given
 * silence, tends to invent a sentence; the interface promises `[]`.
 */
const SILENCE_PEAK = 64;
/**
 * The binding (1.1.3) never settles a transcription that fails: its worker's `OnError` is
 * N-API's, which calls the completion callback with one argument (the error), and that callback
 * acts only when given two (src/WhisperContext.cpp, `OnError` and the callback made in
 * `TranscribeData`). A whisper.cpp error code, a C++ exception in the decoder and `stop()` all
 * take that path. So a chunk that runs far past any real model's speed is failed rather than
 * left pending: a minute plus 20 seconds per second of audio.
 */
function stallLimitMs(samples: number): number {
  return 60_000 + 20_000 * (samples / SPEECH_SAMPLE_RATE);
}
/** What whisper prints for a stretch without speech: `[BLANK_AUDIO]`, `(silence)`, `[MUSIC]`, `*sighs*`. */
const NON_SPEECH = /^(?:\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|\s)*$/;

function loadError(options: WhisperOptions, reason: string, cause?: unknown): CapserveError {
  return new CapserveError('MODEL_LOAD_FAILED', `speech backend "whisper": ${reason}: ${options.label}`, {
    details: { model: 'whisper', path: options.label },
    cause,
  });
}

/** `ggml` as the first little-endian uint32 of a whisper.cpp model file. */
const GGML_MAGIC = 0x67676d6c;

/**
 * The model's ftype (the last of the eleven hyper-parameters after the magic), without its
 * quantisation version; undefined when the file is too short or not a ggml file (whisper.cpp
 * then says why).
 */
async function modelFtype(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(48);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead < header.length || header.readUInt32LE(0) !== GGML_MAGIC) return undefined;
    return header.readInt32LE(44) % 1000;
  } finally {
    await handle.close();
  }
}

function isSilent(pcm: Int16Array): boolean {
  for (const sample of pcm) if (sample > SILENCE_PEAK || sample < -SILENCE_PEAK) return false;
  return true;
}

/**
 * whisper.cpp's log lines while `load` runs, for the reason a model does not load ("bad magic").
 * The binding's log hook keeps the event loop alive while it is on, so it is on only during a load.
 */
async function withNativeLog<T>(load: () => Promise<T>): Promise<{ value?: T; error?: unknown; log: string[] }> {
  const log: string[] = [];
  const listener = addNativeLogListener((level, text) => {
    if (level === 'error' && log.length < 20) log.push(text.trim());
  });
  await toggleNativeLog(true);
  try {
    return { value: await load(), log };
  } catch (error) {
    // The lines reach us through the event loop after the (synchronous) load has failed; its last
    // one is "failed to load model". Wait for it, briefly: the reason is a nicety, not a need.
    for (let waited = 0; waited < 250 && !log.some((line) => /failed to (?:load model|open)/.test(line)); waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { error, log: [...log] };
  } finally {
    await toggleNativeLog(false);
    listener.remove();
  }
}

/**
 * Speech-to-text by whisper.cpp (`@fugood/whisper.node`) on a ggml model file. The model loads
 * once and stays resident; chunks are transcribed one at a time by the binding (it locks the
 * model while one runs).
 *
 * Cancelling: the binding's `stop()` only drops the result, it does not interrupt whisper.cpp
 * (it sets no abort callback), so an aborted `transcribe` rejects at once but the native work
 * finishes in the background (at most one chunk), and the next chunk waits for it.
 */
export class WhisperRecognizer implements SpeechRecognizer {
  readonly backend = 'whisper';
  readonly language: string;
  readonly #context: WhisperContext;
  readonly #threads: number;
  readonly #temperatureIncrement: number;
  #closed = false;

  private constructor(context: WhisperContext, language: string, threads: number, temperatureIncrement: number) {
    this.#context = context;
    this.language = language;
    this.#threads = threads;
    this.#temperatureIncrement = temperatureIncrement;
  }

  /**
   * Loads the model.
   * @throws CapserveError MODEL_LOAD_FAILED naming the setting and the configured path when the file
   *   is missing, unreadable, not a model whisper.cpp can load (never quoting the file), or an
   *   all-f32 model, which would abort the process at its first transcription.
   */
  static async open(options: WhisperOptions): Promise<WhisperRecognizer> {
    try {
      await access(options.file, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw loadError(options, code === 'ENOENT' ? 'the model file does not exist' : `the model file cannot be read (${code ?? 'unreadable'})`, error);
    }
    if (!(await stat(options.file)).isFile()) throw loadError(options, 'the model path is not a file');
    // whisper.cpp loads an all-f32 model's convolution kernels as f32, and ggml's CPU im2col
    // asserts f16 kernels (GGML_ASSERT(src0->type == GGML_TYPE_F16), ggml-cpu/ops.cpp): the
    // first transcription would abort the whole server, so such a model is refused here.
    if ((await modelFtype(options.file)) === 0) {
      throw loadError(options, 'the model is all f32 (ftype 0), which whisper.cpp cannot run on the CPU; convert it to f16 or a quantised type');
    }
    const loaded = await withNativeLog(() => initWhisper({ filePath: options.file, useGpu: false }));
    if (loaded.value === undefined) {
      // whisper.cpp's own reason ("invalid model data (bad magic)") says what is wrong without quoting the file.
      const reason = loaded.log.map((line) => line.replace(/^\w+: /, '')).find((line) => !line.startsWith('failed to load model'));
      throw loadError(options, `whisper.cpp cannot load the model${reason === undefined ? '' : ` (${reason.slice(0, 200)})`}`, loaded.error);
    }
    return new WhisperRecognizer(loaded.value, options.language ?? 'en', options.threads ?? 2, options.temperatureIncrement ?? 0.2);
  }

  async transcribe(pcm: Int16Array, options: { readonly signal: AbortSignal }): Promise<SpeechSegment[]> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN', 'the speech recognizer is closed');
    options.signal.throwIfAborted();
    if (pcm.length === 0 || isSilent(pcm)) return [];
    // The binding reads the samples as 16-bit PCM from an ArrayBuffer of exactly their bytes.
    const bytes = pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength) as ArrayBuffer;
    const { stop, promise } = this.#context.transcribeData(bytes, {
      language: this.language,
      maxThreads: this.#threads,
      temperature: 0,
      temperatureInc: this.#temperatureIncrement,
    });
    const signal = options.signal;
    let onAbort: (() => void) | undefined;
    let stall: NodeJS.Timeout | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        void stop();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stall = setTimeout(() => {
        void stop();
        reject(new Error(`whisper.cpp did not finish a ${(pcm.length / SPEECH_SAMPLE_RATE).toFixed(1)} s chunk within ${stallLimitMs(pcm.length) / 1000} s`));
      }, stallLimitMs(pcm.length));
    });
    // An abort after the result arrived must not leave a rejection nobody handles.
    aborted.catch(() => undefined);
    try {
      const result = await Promise.race([promise, aborted]);
      if (result.isAborted) throw signal.reason ?? new CapserveError('REQUEST_CANCELLED');
      return toSegments(result.segments, pcm.length / SPEECH_SAMPLE_RATE);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new CapserveError('CAPABILITY_FAILED', `speech backend "whisper": ${messageOf(error)}`, { cause: error });
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      clearTimeout(stall);
      // A result that arrives after an abort is dropped.
      promise.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#context.release();
  }
}

/** whisper's segments (milliseconds) as ours (seconds), without empty and non-speech ones, clipped to the chunk and in order. */
function toSegments(segments: readonly { text: string; t0: number; t1: number }[], durationSec: number): SpeechSegment[] {
  const found: SpeechSegment[] = [];
  let floor = 0;
  for (const segment of segments) {
    const text = segment.text.trim();
    if (text === '' || NON_SPEECH.test(text)) continue;
    const start = Math.min(Math.max(segment.t0 / 1000, floor), durationSec);
    const end = Math.min(Math.max(segment.t1 / 1000, start), durationSec);
    floor = end;
    found.push({ start, end, text });
  }
  return found;
}
