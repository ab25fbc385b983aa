import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CapserveError, messageOf } from '../../core/errors.js';
import { parsePocketsphinxOutput } from './pocketsphinx-output.js';
import { POCKETSPHINX_MODEL_ROOT } from './speech-spec.js';
import { SPEECH_SAMPLE_RATE, type SpeechRecognizer, type SpeechSegment } from './types.js';

/** The Debian packages that provide the decoder and its US English model. */
export const POCKETSPHINX_PACKAGES = 'pocketsphinx pocketsphinx-en-us';

export interface PocketsphinxOptions {
  /** The model's language; names its files in `modelDir`. @default "en-us" */
  readonly language?: string;
  /** Folder with `<language>/`, `<language>.lm.bin` and `cmudict-<language>.dict`. @default "/usr/share/pocketsphinx/model/<language>" */
  readonly modelDir?: string;
  /** The decoder executable, looked up on PATH. @default "pocketsphinx_continuous" */
  readonly binary?: string;
  /** Where each chunk's samples are written while the decoder reads them. @default os.tmpdir() */
  readonly tempDir?: string;
}

/** A chunk of a minute prints a few kilobytes; far more means something else is talking. */
const MAX_STDOUT_BYTES = 1024 * 1024;
/** The decoder logs ~6 KB of INFO per run; only the tail, where an ERROR or FATAL line ends up, is kept. */
const STDERR_TAIL_BYTES = 8 * 1024;
/** The load check decodes this much silence: enough to start the decoder and read the whole model. */
const PROBE_SAMPLES = SPEECH_SAMPLE_RATE / 5;

function loadError(reason: string, where: string, cause?: unknown): CapserveError {
  return new CapserveError('MODEL_LOAD_FAILED', `speech backend "pocketsphinx": ${reason} (${where})`, {
    details: { model: 'pocketsphinx', path: where, install: POCKETSPHINX_PACKAGES },
    cause,
  });
}

/** The last ERROR or FATAL line the decoder logged, without its source-file prefix. */
function lastErrorLine(stderr: string): string | undefined {
  const line = stderr.split('\n').filter((entry) => /^(?:ERROR|FATAL)/.test(entry)).at(-1);
  return line?.replace(/^(ERROR|FATAL(?:_ERROR)?): "[^"]*", line \d+: /, '').slice(0, 300);
}

/**
 * Speech-to-text by CMU PocketSphinx: `pocketsphinx_continuous` reads the chunk's samples from a
 * temporary file (`-infile`; a name without `.wav` is read as headerless 16 kHz PCM) and prints
 * each utterance with its word times. Not stdin: Node's pipes are sockets, which the decoder's
 * `fopen("/dev/stdin")` cannot open.
 *
 * One process per chunk: starting one costs about 0.3 s (reading the 40 MB model), against about
 * 0.25 s of decoding per second of audio, so a 30-second chunk pays ~4 %. A long-lived decoder
 * reading a stream cannot tell where one chunk ends and the next begins, and a process per chunk
 * makes cancellation exact: aborting kills that process and nothing else.
 */
export class PocketsphinxRecognizer implements SpeechRecognizer {
  readonly backend = 'pocketsphinx';
  readonly language: string;
  readonly #binary: string;
  readonly #args: readonly string[];
  readonly #tempDir: string;
  readonly #children = new Set<ChildProcess>();
  #closed = false;

  private constructor(language: string, binary: string, modelDir: string, tempDir: string) {
    this.language = language;
    this.#binary = binary;
    this.#tempDir = tempDir;
    this.#args = [
      ...['-time', 'yes', '-samprate', String(SPEECH_SAMPLE_RATE)],
      ...['-hmm', path.join(modelDir, language), '-lm', path.join(modelDir, `${language}.lm.bin`), '-dict', path.join(modelDir, `cmudict-${language}.dict`)],
    ];
  }

  /**
   * Checks the model files and runs the decoder once on a moment of silence, so a missing
   * package fails here, at load, and not on the first job.
   * @throws CapserveError MODEL_LOAD_FAILED naming the missing file or executable and the Debian packages to install.
   */
  static async open(options: PocketsphinxOptions = {}): Promise<PocketsphinxRecognizer> {
    const language = options.language ?? 'en-us';
    const modelDir = options.modelDir ?? path.join(POCKETSPHINX_MODEL_ROOT, language);
    const binary = options.binary ?? 'pocketsphinx_continuous';
    const acoustic = path.join(modelDir, language);
    const isDir = await stat(acoustic).then((found) => found.isDirectory(), () => false);
    if (!isDir) throw loadError(`the acoustic model folder is missing; install the Debian packages ${POCKETSPHINX_PACKAGES}`, acoustic);
    for (const file of [path.join(modelDir, `${language}.lm.bin`), path.join(modelDir, `cmudict-${language}.dict`)]) {
      try {
        await access(file);
      } catch (error) {
        throw loadError(`a model file is missing; install the Debian packages ${POCKETSPHINX_PACKAGES}`, file, error);
      }
    }
    const recognizer = new PocketsphinxRecognizer(language, binary, modelDir, options.tempDir ?? tmpdir());
    try {
      await recognizer.#decode(new Int16Array(PROBE_SAMPLES), AbortSignal.timeout(30_000));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw loadError(`the decoder is not installed; install the Debian packages ${POCKETSPHINX_PACKAGES}`, binary, error);
      }
      throw loadError(`the decoder does not start: ${messageOf(error)}`, binary, error);
    }
    return recognizer;
  }

  async transcribe(pcm: Int16Array, options: { readonly signal: AbortSignal }): Promise<SpeechSegment[]> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN', 'the speech recognizer is closed');
    options.signal.throwIfAborted();
    if (pcm.length === 0) return [];
    try {
      return await this.#decode(pcm, options.signal);
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw new CapserveError('CAPABILITY_FAILED', `speech backend "pocketsphinx": ${messageOf(error)}`, { cause: error });
    }
  }

  /** Kills every decoder still running; their `transcribe` calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const child of this.#children) child.kill('SIGKILL');
    this.#children.clear();
  }

  async #decode(pcm: Int16Array, signal: AbortSignal): Promise<SpeechSegment[]> {
    const dir = await mkdtemp(path.join(this.#tempDir, 'capserve-speech-'));
    try {
      const file = path.join(dir, 'chunk.raw');
      await writeFile(file, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), { signal });
      return await this.#run(file, pcm.length / SPEECH_SAMPLE_RATE, signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #run(file: string, durationSec: number, signal: AbortSignal): Promise<SpeechSegment[]> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const child = spawn(this.#binary, ['-infile', file, ...this.#args], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.#children.add(child);
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        this.#children.delete(child);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        outcome();
      };
      // The promise rejects at once with the signal's reason; the kill needs no waiting for.
      const onAbort = (): void => finish(() => reject(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error) => finish(() => reject(error)));
      child.stdout.on('data', (data: Buffer) => {
        stdoutBytes += data.length;
        if (stdoutBytes > MAX_STDOUT_BYTES) return finish(() => reject(new Error(`the decoder printed more than ${MAX_STDOUT_BYTES} bytes`)));
        stdout.push(data);
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (data: string) => {
        stderr = (stderr + data).slice(-STDERR_TAIL_BYTES);
      });
      child.on('close', (code, killedBy) => {
        if (code === 0) return finish(() => resolve(parsePocketsphinxOutput(Buffer.concat(stdout).toString('utf8'), durationSec)));
        const why = lastErrorLine(stderr) ?? (killedBy === null ? `exit code ${code}` : `killed by ${killedBy}`);
        finish(() => reject(new Error(`the decoder failed: ${why}`)));
      });
    });
  }
}
