import { ImageDecodeError, type OcrEngine } from '../../models/ocr/paddle-ocr.js';
import { CapserveError } from '../../core/errors.js';
import { probeMedia } from '../media/ffprobe.js';
import { pdfText } from '../media/pdf.js';
import { isMediaCapability, type JobPayload, type JobProcessor } from '../types.js';
import { analyseText, type TextAnalysis } from './analyse-text.js';
import { type AnalyseTexts } from './analyse-in-groups.js';


export interface JobProcessorDeps {
  readonly analyse: AnalyseTexts;
  /** The OCR engine, loaded on the first image job. */
  readonly ocr: () => Promise<OcrEngine>;
  /** Characters per chunk of long text (about MAX_INLINE_TOKENS tokens). */
  readonly chunkChars: number;
  /** Chunks per batcher submission. */
  readonly groupSize: number;
}

/**
 * Runs one queued job by its media kind: long text is chunked through the batcher; images are
 * read with OCR and PDFs with pdf.js, then the requested text capabilities run over the text;
 * audio and video get their ffprobe metadata, and transcription is refused by name.
 */
export function createJobProcessor(deps: JobProcessorDeps): JobProcessor {
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
        return { kind: 'text', ...(await analyse(payload.text ?? '', 0)) };
      }
      case 'image': {
        context.progress(0.05, 'ocr');
        const ocr = await (await deps.ocr()).recognize(fileOf(payload), context.signal).catch((error: unknown) => {
          if (!(error instanceof ImageDecodeError)) throw error;
          throw new CapserveError('UNSUPPORTED_MEDIA', `${payload.mediaType} cannot be read for OCR (${error.message}); send PNG, JPEG, WebP, GIF, TIFF or AVIF`);
        });
        context.progress(0.5, 'ocr');
        const analysis = textCapabilities.length > 0 ? await analyse(ocr.text, 0.5) : undefined;
        return { kind: 'image', ocr: { text: ocr.text, lines: ocr.lines, width: ocr.width, height: ocr.height }, ...analysis };
      }
      case 'document': {
        if (payload.mediaType !== 'application/pdf') {
          throw new CapserveError('UNSUPPORTED_MEDIA', `documents of type ${payload.mediaType} are not supported; only PDF text extraction is installed`);
        }
        context.progress(0.05, 'extracting');
        const { pages } = await pdfText(fileOf(payload));
        const text = pages.join('\n\n');
        context.progress(0.3, 'extracted');
        const analysis = await analyse(text, 0.3);
        return { kind: 'document', pages: pages.length, text, ...analysis };
      }
      case 'audio':
      case 'video': {
        const metadata = await probeMedia(fileOf(payload));
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

function fileOf(payload: JobPayload): Buffer {
  if (payload.fileBase64 === undefined) throw new CapserveError('VALIDATION_ERROR', `a ${payload.kind} job needs a file`);
  return Buffer.from(payload.fileBase64, 'base64');
}
