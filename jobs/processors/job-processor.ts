import { readFile } from 'node:fs/promises';
import { CapserveError } from '../../core/errors.js';
import { probeMedia } from '../media/ffprobe.js';
import { type MediaLimits } from '../media/media-limits.js';
import { type MediaWorkers } from '../media/media-workers.js';
import { readTextFile } from '../media/text-file.js';
import { isMediaCapability, type JobPayload, type JobProcessor } from '../types.js';
import { analyseText, type TextAnalysis } from './analyse-text.js';
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
}

/**
 * Runs one queued job by its media kind: long text (given, or an uploaded text file) is chunked
 * through the batcher; images are read with OCR and PDFs with pdf.js in a media worker thread,
 * then the requested text capabilities run over the text; audio and video get their ffprobe
 * metadata, and transcription is refused by name. A job that runs past `maxJobMs` is aborted
 * (its media worker thread terminated) and fails with JOB_TIMEOUT.
 */
export function createJobProcessor(deps: JobProcessorDeps): JobProcessor {
  const processJob = processByKind(deps);
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

function processByKind(deps: JobProcessorDeps): JobProcessor {
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
      case 'video': {
        const metadata = await probeMedia(await fileOf(payload));
        const wanted = payload.capabilities.filter((name) => name !== 'metadata');
        if (wanted.length > 0) {
          throw new CapserveError(
            'UNSUPPORTED_MEDIA',
            `${payload.kind} transcription is not installed: it needs a speech-to-text model, and none installs from the npm registry or Debian's packages here; ` +
              `${wanted.join(', ')} cannot run on ${payload.kind}. Ask for "metadata" alone to get the ffprobe facts.`,
            { details: { missing: 'speech-to-text model', metadata } },
          );
        }
        if (metadata === undefined) throw new CapserveError('UNSUPPORTED_MEDIA', `${payload.kind} metadata needs ffprobe (Debian package ffmpeg), which is not installed`);
        return { kind: payload.kind, metadata };
      }
      default:
        throw new CapserveError('UNSUPPORTED_MEDIA', `no processor for ${payload.mediaType}`);
    }
  };
}

/** The job's file: its spooled copy (in-process queues) or the bytes it carries (BullMQ). */
async function fileOf(payload: JobPayload): Promise<Buffer> {
  if (payload.filePath !== undefined) return readFile(payload.filePath);
  if (payload.fileBase64 === undefined) throw new CapserveError('VALIDATION_ERROR', `a ${payload.kind} job needs a file`);
  return Buffer.from(payload.fileBase64, 'base64');
}
