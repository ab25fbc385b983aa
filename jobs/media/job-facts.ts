import { CapserveError } from '../../core/errors.js';
import { type JobFacts, type MediaKind } from '../types.js';
import { estimateTokens } from '../../core/estimate-tokens.js';
import { type MediaProbe, probeMedia } from './ffprobe.js';
import { imageSize } from './image-size.js';
import { checkImagePixels, type MediaLimits } from './media-limits.js';
import { type MediaWorkers } from './media-workers.js';
import { pdfInfo, tooManyPages } from './pdf.js';
import { sniffMediaType } from './sniff-media-type.js';
import { readTextFile, textMediaType } from './text-file.js';

export interface JobInput {
  readonly text?: string;
  readonly file?: Buffer;
  /** The uploaded file's name: says which kind of text a text file is (.md, .csv, .json). */
  readonly fileName?: string;
  readonly capabilities: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
}

export interface ReadFactsOptions {
  readonly signal?: AbortSignal;
  /** @default "ffprobe" */
  readonly ffprobePath?: string;
  /** @default 10000 */
  readonly probeTimeoutMs?: number;
  /** Refuse (MEDIA_TOO_LARGE) images, PDFs over these before anything is decoded. @default no limits */
  readonly limits?: MediaLimits;
  /** Where a PDF is opened to count its pages, off the event loop. @default this thread */
  readonly media?: Pick<MediaWorkers, 'run'>;
}

/**
 * The facts the job planner decides on, read from the job's content: tokens of a text
 * (given or uploaded), an image's size from its header, the duration and resolution of audio
 * and video from ffprobe (which also settles audio against video by the streams it finds), the
 * page count of a PDF. Without ffprobe, audio and video keep their sniffed kind and no duration.
 * @throws CapserveError VALIDATION_ERROR with neither text nor file; UNSUPPORTED_MEDIA_TYPE for
 *   a file of no known format or one that its reader cannot open (a text file that is not
 *   UTF-8); MEDIA_TOO_LARGE over `limits` (image pixels from the header, PDF pages, inflated bytes).
 */
export async function readJobFacts(input: JobInput, options: ReadFactsOptions = {}): Promise<JobFacts> {
  const common = { capabilities: [...input.capabilities], options: { ...input.options } };
  const textTokens = input.text === undefined ? {} : { tokens: estimateTokens(input.text) };
  if (input.file === undefined) {
    if (input.text === undefined) throw new CapserveError('VALIDATION_ERROR', 'a job needs a text or a file');
    return { kind: 'text', mediaType: 'text/plain', bytes: Buffer.byteLength(input.text), ...textTokens, ...common };
  }

  const file = input.file;
  const sniffed = sniffMediaType(file);
  if (sniffed === undefined) {
    throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', 'the uploaded file is of no known format', { details: { bytes: file.length } });
  }
  const base = { kind: sniffed.kind, mediaType: sniffed.mediaType, bytes: file.length, ...textTokens, ...common };
  switch (sniffed.kind) {
    case 'text':
      return { ...base, mediaType: textMediaType(input.fileName), tokens: estimateTokens(readTextFile(file)) };
    case 'image': {
      const size = await imageSize(file);
      if (options.limits !== undefined) checkImagePixels(size, options.limits.maxImagePixels);
      return { ...base, ...size };
    }
    case 'audio':
    case 'video': {
      const probe = await probeMedia(file, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.ffprobePath ? { ffprobePath: options.ffprobePath } : {}),
        ...(options.probeTimeoutMs ? { timeoutMs: options.probeTimeoutMs } : {}),
      });
      return probe === undefined ? base : { ...base, ...streamFacts(sniffed.kind, sniffed.mediaType, probe) };
    }
    case 'document':
      return sniffed.mediaType === 'application/pdf' ? { ...base, ...(await pdfPages(file, options)) } : base;
    default:
      return base;
  }
}

/** The page count, checked against MAX_PDF_PAGES; pdf.js runs in a media worker when there is one. */
async function pdfPages(file: Buffer, options: ReadFactsOptions): Promise<{ pages: number }> {
  const maxInflatedBytes = options.limits?.maxPdfInflatedBytes;
  const { pages } =
    options.media === undefined
      ? await pdfInfo(file, maxInflatedBytes === undefined ? {} : { maxInflatedBytes })
      : await options.media.run(
          { type: 'pdf-info', bytes: file, maxInflatedBytes: maxInflatedBytes ?? Number.MAX_SAFE_INTEGER },
          options.signal === undefined ? {} : { signal: options.signal },
        );
  if (options.limits !== undefined && pages > options.limits.maxPdfPages) throw tooManyPages(pages, options.limits.maxPdfPages);
  return { pages };
}

/** Sniffed containers that say video but may hold only audio, and back. */
const audioTypeOf: Readonly<Record<string, string>> = {
  'video/mp4': 'audio/mp4',
  'video/x-m4v': 'audio/mp4',
  'video/quicktime': 'audio/mp4',
  'video/3gpp': 'audio/3gpp',
  'video/3gpp2': 'audio/3gpp2',
  'video/webm': 'audio/webm',
  'video/x-matroska': 'audio/x-matroska',
  'video/ogg': 'audio/ogg',
};
const videoTypeOf: Readonly<Record<string, string>> = {
  'audio/mp4': 'video/mp4',
  'audio/ogg': 'video/ogg',
  'audio/webm': 'video/webm',
};

/** The kind is what the streams are: any real video stream makes a video, else audio. */
function streamFacts(sniffedKind: MediaKind, mediaType: string, probe: MediaProbe): Partial<JobFacts> {
  const kind: MediaKind = probe.hasVideo ? 'video' : probe.hasAudio ? 'audio' : sniffedKind;
  const correctedType = kind === sniffedKind ? mediaType : (kind === 'audio' ? audioTypeOf : videoTypeOf)[mediaType] ?? mediaType;
  return {
    kind,
    mediaType: correctedType,
    ...(probe.durationSec === undefined ? {} : { durationSec: probe.durationSec }),
    ...(kind === 'video' && probe.width !== undefined ? { width: probe.width } : {}),
    ...(kind === 'video' && probe.height !== undefined ? { height: probe.height } : {}),
  };
}
