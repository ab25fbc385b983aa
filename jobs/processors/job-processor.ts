import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CapserveError } from '../../core/errors.js';
import { type MediaProbe, probeMedia } from '../media/ffprobe.js';
import { type MediaLimits } from '../media/media-limits.js';
import { type MediaWorkers } from '../media/media-workers.js';
import { readTextFile } from '../media/text-file.js';
import { speechSource } from '../speech-source.js';
import { isMediaCapability, type JobPayload, type JobProcessor, type JobsSpeech, type SpeechSource } from '../types.js';
import { analyseText, type TextAnalysis } from './analyse-text.js';
import { type Transcript, transcribeAudio } from './transcribe-audio.js';
import { type AnalyseTexts } from './analyse-in-groups.js';


export interface JobProcessorDeps {
  readonly analyse: AnalyseTexts;
  /** The media worker threads: PDF text and OCR run there, off the event loop. */
  readonly media: Pick<MediaWorkers, 'run'>;
  /** Checked again before decoding: a job from Redis may have been planned under other limits. */
  readonly limits: MediaLimits;
  /** MAX_JOB_SECONDS, in milliseconds: a job still running then fails with JOB_TIMEOUT. */
  readonly maxJobMs: number;
  /** Characters per chunk of long text (about MAX_INLINE_TOKENS tokens). */
  readonly chunkChars: number;
  /** Chunks per batcher submission. */
  readonly groupSize: number;
  /**
   * Speech-to-text for audio and video: fixed, or a source a reload changes (each transcription
   * keeps the recognizer it started on). @default none: transcription fails with UNSUPPORTED_MEDIA
   */
  readonly speech?: JobsSpeech | SpeechSource;
}

/**
 * Runs one queued job by its media kind: long text (given, or an uploaded text file) is chunked
 * through the batcher; images are read with OCR and PDFs with pdf.js in a media worker thread,
 * then the requested text capabilities run over the text; audio and video get their ffprobe
 * metadata and, with `transcribe` or any text capability, a transcript that the text
 * capabilities then run over (without a recognizer: UNSUPPORTED_MEDIA with the reason). A job that runs past `maxJobMs` is aborted
 * (its media worker thread terminated) and fails with JOB_TIMEOUT.
 */
export function createJobProcessor(deps: JobProcessorDeps): JobProcessor {
  const processJob = processByKind(deps, speechSource(deps.speech));
  return async (payload, context) => {
    const deadline = new AbortController();
    const timeout = new CapserveError('JOB_TIMEOUT', `the job ran longer than MAX_JOB_SECONDS (${deps.maxJobMs / 1000} s)`, {
      details: { limit: 'MAX_JOB_SECONDS', max: deps.maxJobMs / 1000 },
    });
    const timer = setTimeout(() => deadline.abort(timeout), deps.maxJobMs);
    try {
      return await processJob(payload, { ...context, signal: AbortSignal.any([context.signal, deadline.signal]) });
    } catch (error) {
      // Whatever the aborted step threw (a cancelled batch, a terminated worker), the cause is the deadline.
      if (deadline.signal.aborted && !context.signal.aborted) throw timeout;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}

function processByKind(deps: JobProcessorDeps, speech: SpeechSource): JobProcessor {
  return async (payload, context) => {
    const textCapabilities = payload.capabilities.filter((name) => !isMediaCapability(name));
    const analyse = (text: string, from: number): Promise<TextAnalysis> =>
      analyseText(text, textCapabilities, {
        analyse: deps.analyse,
        chunkChars: deps.chunkChars,
        groupSize: deps.groupSize,
        signal: context.signal,
        progress: (fraction) => context.progress(from + fraction * (1 - from), 'analysing'),
      });

    switch (payload.kind) {
      case 'text': {
        // An uploaded text file travels as a file, a given text as text.
        const text = payload.text ?? readTextFile(await fileOf(payload));
        return { kind: 'text', ...(await analyse(text, 0)) };
      }
      case 'image': {
        context.progress(0.05, 'ocr');
        const ocr = await deps.media.run(
          { type: 'ocr', bytes: await fileOf(payload), mediaType: payload.mediaType, maxPixels: deps.limits.maxImagePixels },
          { signal: context.signal },
        );
        context.progress(0.5, 'ocr');
        const analysis = textCapabilities.length > 0 ? await analyse(ocr.text, 0.5) : undefined;
        return { kind: 'image', ocr: { text: ocr.text, lines: ocr.lines, width: ocr.width, height: ocr.height }, ...analysis };
      }
      case 'document': {
        if (payload.mediaType !== 'application/pdf') {
          throw new CapserveError('UNSUPPORTED_MEDIA', `documents of type ${payload.mediaType} are not supported; only PDF text extraction is installed`);
        }
        context.progress(0.05, 'extracting');
        const { pages } = await deps.media.run(
          { type: 'pdf-text', bytes: await fileOf(payload), maxPages: deps.limits.maxPdfPages, maxInflatedBytes: deps.limits.maxPdfInflatedBytes },
          { signal: context.signal, onProgress: (fraction) => context.progress(0.05 + 0.25 * fraction, 'extracting') },
        );
        const text = pages.join('\n\n');
        context.progress(0.3, 'extracted');
        const analysis = await analyse(text, 0.3);
        return { kind: 'document', pages: pages.length, text, ...analysis };
      }
      case 'audio':
      case 'video':
        return withLocalFile(payload, (file) => processSpeech(speech, payload, file, context, textCapabilities, analyse));
      default:
        throw new CapserveError('UNSUPPORTED_MEDIA', `no processor for ${payload.mediaType}`);
    }
  };
}

type Context = Parameters<JobProcessor>[1];

/** Media capabilities audio and video have: the others (ocr, document) are refused by name. */
const speechSteps = new Set(['metadata', 'transcribe']);
/** Progress at which transcription starts, and where it ends when text capabilities follow. */
const TRANSCRIBE_FROM = 0.05;
const ANALYSE_FROM = 0.9;

/**
 * Audio and video: ffprobe metadata always; a transcript when `transcribe` (or option
 * `transcribe: true`) or any text capability is asked for, then the text capabilities over the
 * transcript through the chunked text path. A video without an audio stream gets an empty
 * transcript with `reason: "no_audio"` (a defined result, not an error: its metadata and its
 * silence are both true answers), and silence a transcript with no segments.
 */
async function processSpeech(
  source: SpeechSource,
  payload: JobPayload,
  file: string,
  context: Context,
  textCapabilities: string[],
  analyse: (text: string, from: number) => Promise<TextAnalysis>,
): Promise<unknown> {
  const { kind } = payload;
  const refused = payload.capabilities.filter((name) => isMediaCapability(name) && !speechSteps.has(name));
  if (refused.length > 0) {
    throw new CapserveError('UNSUPPORTED_MEDIA', `${refused.join(', ')} cannot run on ${kind}; audio and video take "metadata", "transcribe" and text capabilities`, {
      details: { refused },
    });
  }
  const metadata = await probeMedia(file, { signal: context.signal });
  const wantsTranscript = payload.capabilities.includes('transcribe') || payload.options.transcribe === true || textCapabilities.length > 0;
  if (!wantsTranscript) {
    if (metadata === undefined) throw new CapserveError('UNSUPPORTED_MEDIA', `${kind} metadata needs ffprobe (Debian package ffmpeg), which is not installed`);
    return { kind, metadata };
  }
  // The whole transcript on one recognizer: a reload that replaces it meanwhile closes it only after this release.
  const use = source.acquire();
  let transcript: Transcript;
  try {
    const { recognizer, chunkSeconds, unavailable } = use.speech;
    if (recognizer === undefined) {
      const reason = unavailable ?? 'no speech-to-text model is configured (the "speech" section of the capabilities file)';
      const wanted = payload.capabilities.filter((name) => name !== 'metadata');
      throw new CapserveError(
        'UNSUPPORTED_MEDIA',
        `${kind} transcription is unavailable: ${reason}; ${wanted.join(', ')} cannot run on ${kind}. Ask for "metadata" alone to get the ffprobe facts.`,
        { details: { missing: 'speech-to-text model', reason, ...(metadata === undefined ? {} : { metadata }) } },
      );
    }
    const until = textCapabilities.length > 0 ? ANALYSE_FROM : 1;
    context.progress(TRANSCRIBE_FROM, 'transcribing');
    transcript =
      metadata !== undefined && !metadata.hasAudio
        ? { text: '', segments: [], durationSec: 0, chunks: 0, backend: recognizer.backend, language: recognizer.language, reason: 'no_audio' }
        : await transcribeAudio(file, {
            recognizer,
            signal: context.signal,
            ...(chunkSeconds === undefined ? {} : { chunkSeconds }),
            ...durationOf(metadata),
            progress: (fraction) => context.progress(TRANSCRIBE_FROM + fraction * (until - TRANSCRIBE_FROM), 'transcribing'),
          });
  } finally {
    use.release();
  }
  const analysis = textCapabilities.length > 0 ? await analyse(transcript.text, ANALYSE_FROM) : undefined;
  return { kind, ...(metadata === undefined ? {} : { metadata }), transcript, ...analysis };
}

const durationOf = (metadata: MediaProbe | undefined): { durationSec?: number } =>
  metadata?.durationSec === undefined ? {} : { durationSec: metadata.durationSec };

/**
 * Runs `task` on the job's file by path (ffprobe and ffmpeg read files, and MP4 needs seeking):
 * the spooled copy as it is, or the carried bytes written to a temporary file removed afterwards.
 */
async function withLocalFile<T>(payload: JobPayload, task: (file: string) => Promise<T>): Promise<T> {
  if (payload.filePath !== undefined) return task(payload.filePath);
  const bytes = await fileOf(payload);
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-media-'));
  try {
    const file = path.join(dir, 'input');
    await writeFile(file, bytes);
    return await task(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The job's file: its spooled copy (in-process queues) or the bytes it carries (BullMQ). */
async function fileOf(payload: JobPayload): Promise<Buffer> {
  if (payload.filePath !== undefined) return readFile(payload.filePath);
  if (payload.fileBase64 === undefined) throw new CapserveError('VALIDATION_ERROR', `a ${payload.kind} job needs a file`);
  return Buffer.from(payload.fileBase64, 'base64');
}
