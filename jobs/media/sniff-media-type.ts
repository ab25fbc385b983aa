import { type MediaKind } from '../types.js';

/** What the bytes of a file say it is. */
export interface SniffedMedia {
  readonly mediaType: string;
  readonly kind: MediaKind;
}

/** How much of a file the text check decodes; enough to tell text from binary. */
const TEXT_SAMPLE_BYTES = 64 * 1024;

const ascii = (bytes: Buffer, offset: number, text: string): boolean =>
  bytes.length >= offset + text.length && bytes.toString('latin1', offset, offset + text.length) === text;

const startsWith = (bytes: Buffer, prefix: readonly number[]): boolean =>
  bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);

/**
 * The media type of a file from its magic bytes, never from the client's header. Unknown or
 * truncated inputs give `undefined`. ISO-BMFF (`ftyp`) and Matroska files are told apart as
 * audio or video by brand or doc type only; `readJobFacts` corrects the kind from ffprobe's
 * streams. A zip is a document when its entries say it is an OOXML, ODF or EPUB file, else
 * `other` ("application/zip"): capserve cannot read an arbitrary archive.
 */
export function sniffMediaType(bytes: Buffer): SniffedMedia | undefined {
  if (bytes.length === 0) return undefined;
  return sniffBinary(bytes) ?? sniffText(bytes);
}

function sniffBinary(bytes: Buffer): SniffedMedia | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('image/png');
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return image('image/jpeg');
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return image('image/gif');
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return image('image/tiff');
  if (isBmp(bytes)) return image('image/bmp');
  if (ascii(bytes, 0, '%PDF-')) return { mediaType: 'application/pdf', kind: 'document' };
  if (ascii(bytes, 0, '{\\rtf')) return { mediaType: 'application/rtf', kind: 'document' };
  if (ascii(bytes, 0, 'RIFF') && bytes.length >= 12) {
    if (ascii(bytes, 8, 'WEBP')) return image('image/webp');
    if (ascii(bytes, 8, 'WAVE')) return { mediaType: 'audio/wav', kind: 'audio' };
    if (ascii(bytes, 8, 'AVI ')) return { mediaType: 'video/x-msvideo', kind: 'video' };
    return undefined;
  }
  if (ascii(bytes, 0, 'fLaC')) return { mediaType: 'audio/flac', kind: 'audio' };
  if (ascii(bytes, 0, 'OggS')) return sniffOgg(bytes);
  if (ascii(bytes, 0, 'ID3') || isMpegAudioFrame(bytes)) return { mediaType: 'audio/mpeg', kind: 'audio' };
  if (isAdtsFrame(bytes)) return { mediaType: 'audio/aac', kind: 'audio' };
  if (ascii(bytes, 4, 'ftyp') && bytes.length >= 12) return sniffIsoBmff(bytes.toString('latin1', 8, 12));
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, 64));
    return head.includes('webm') ? { mediaType: 'video/webm', kind: 'video' } : { mediaType: 'video/x-matroska', kind: 'video' };
  }
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return sniffZip(bytes);
  return undefined;
}

const image = (mediaType: string): SniffedMedia => ({ mediaType, kind: 'image' });

/** "BM" alone is too weak (a text may start so); the DIB header size must be a known one. */
function isBmp(bytes: Buffer): boolean {
  if (!ascii(bytes, 0, 'BM') || bytes.length < 26) return false;
  return [12, 40, 52, 56, 64, 108, 124].includes(bytes.readUInt32LE(14));
}

const mpegBitrates = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
} as const;
const mpegSampleRates: Readonly<Record<number, readonly number[]>> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** The length of the MPEG audio frame whose header starts at `at`, or undefined if it is no valid header. */
function mpegFrameLength(bytes: Buffer, at: number): number | undefined {
  if (bytes.length < at + 4 || bytes[at] !== 0xff) return undefined;
  const b1 = bytes[at + 1] ?? 0;
  const b2 = bytes[at + 2] ?? 0;
  const version = (b1 >> 3) & 0b11; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
  const layer = 4 - ((b1 >> 1) & 0b11); // 4 means reserved
  const sampleRate = mpegSampleRates[version]?.[(b2 >> 2) & 0b11];
  if ((b1 & 0xe0) !== 0xe0 || layer === 4 || sampleRate === undefined) return undefined;
  const table = version === 3 ? (layer === 1 ? mpegBitrates.v1l1 : layer === 2 ? mpegBitrates.v1l2 : mpegBitrates.v1l3) : layer === 1 ? mpegBitrates.v2l1 : mpegBitrates.v2l23;
  const kbps = table[b2 >> 4];
  if (kbps === undefined || kbps === 0) return undefined;
  const padding = (b2 >> 1) & 1;
  if (layer === 1) return (Math.floor((12 * kbps * 1000) / sampleRate) + padding) * 4;
  const perFrame = layer === 3 && version !== 3 ? 72 : 144;
  return Math.floor((perFrame * kbps * 1000) / sampleRate) + padding;
}

/**
 * An MPEG audio stream without ID3 starts with a frame header: 11 sync bits, a real version,
 * layer, bitrate and sample rate. Four bytes are weak evidence (a UTF-16LE byte-order mark
 * passes), so when the buffer holds it the next frame must follow where this one ends, and the
 * UTF-16LE mark is refused outright.
 */
function isMpegAudioFrame(bytes: Buffer): boolean {
  if (bytes[1] === 0xfe) return false;
  const length = mpegFrameLength(bytes, 0);
  if (length === undefined) return false;
  return bytes.length < length + 4 || mpegFrameLength(bytes, length) !== undefined;
}

/** AAC in ADTS: the same sync word with layer 0. */
function isAdtsFrame(bytes: Buffer): boolean {
  const b1 = bytes[1] ?? 0;
  return bytes.length >= 7 && bytes[0] === 0xff && (b1 & 0xf6) === 0xf0 && ((bytes[2] ?? 0) >> 2) % 16 < 13;
}

/** Ogg is audio unless its first page opens a Theora stream. */
function sniffOgg(bytes: Buffer): SniffedMedia {
  const head = bytes.toString('latin1', 0, Math.min(bytes.length, 512));
  if (head.includes('\x80theora')) return { mediaType: 'video/ogg', kind: 'video' };
  if (head.includes('OpusHead')) return { mediaType: 'audio/ogg', kind: 'audio' };
  return { mediaType: 'audio/ogg', kind: 'audio' };
}

const isoBrands: Readonly<Record<string, SniffedMedia>> = {
  'M4A ': { mediaType: 'audio/mp4', kind: 'audio' },
  'M4B ': { mediaType: 'audio/mp4', kind: 'audio' },
  'M4P ': { mediaType: 'audio/mp4', kind: 'audio' },
  'F4A ': { mediaType: 'audio/mp4', kind: 'audio' },
  'F4B ': { mediaType: 'audio/mp4', kind: 'audio' },
  'qt  ': { mediaType: 'video/quicktime', kind: 'video' },
  'M4V ': { mediaType: 'video/x-m4v', kind: 'video' },
  '3gp4': { mediaType: 'video/3gpp', kind: 'video' },
  '3gp5': { mediaType: 'video/3gpp', kind: 'video' },
  '3gp6': { mediaType: 'video/3gpp', kind: 'video' },
  '3g2a': { mediaType: 'video/3gpp2', kind: 'video' },
  avif: image('image/avif'),
  avis: image('image/avif'),
  heic: image('image/heic'),
  heix: image('image/heic'),
  mif1: image('image/heif'),
  msf1: image('image/heif'),
};

/** Any other brand (isom, mp41, mp42, avc1, dash...) is taken as MP4 video until ffprobe says otherwise. */
function sniffIsoBmff(majorBrand: string): SniffedMedia {
  return isoBrands[majorBrand] ?? { mediaType: 'video/mp4', kind: 'video' };
}

const zipDocuments: readonly { prefix: string; mediaType: string }[] = [
  { prefix: 'word/', mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  { prefix: 'xl/', mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  { prefix: 'ppt/', mediaType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation' },
];

function sniffZip(bytes: Buffer): SniffedMedia {
  // ODF and EPUB store an uncompressed "mimetype" entry first, so its content sits at byte 38.
  if (ascii(bytes, 30, 'mimetype')) {
    const declared = bytes.toString('latin1', 38, Math.min(bytes.length, 38 + 80)).match(/^application\/[a-z0-9.+-]+/)?.[0];
    if (declared !== undefined && (declared.startsWith('application/vnd.oasis.opendocument.') || declared === 'application/epub+zip')) {
      return { mediaType: declared, kind: 'document' };
    }
  }
  const names = zipEntryNames(bytes);
  for (const { prefix, mediaType } of zipDocuments) {
    if (names.some((name) => name.startsWith(prefix))) return { mediaType, kind: 'document' };
  }
  return { mediaType: 'application/zip', kind: 'other' };
}

/**
 * Entry names from the central directory (at the end, so complete files are read right even
 * with data descriptors), else by walking local headers (a truncated file may still say enough).
 */
function zipEntryNames(bytes: Buffer): string[] {
  const names: string[] = [];
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd >= 0 && eocd + 22 <= bytes.length) {
    const count = bytes.readUInt16LE(eocd + 10);
    let at = bytes.readUInt32LE(eocd + 16);
    for (let i = 0; i < count && at + 46 <= bytes.length && bytes.readUInt32LE(at) === 0x02014b50; i += 1) {
      const nameLength = bytes.readUInt16LE(at + 28);
      names.push(bytes.toString('utf8', at + 46, Math.min(bytes.length, at + 46 + nameLength)));
      at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
    }
    if (names.length > 0) return names;
  }
  let at = 0;
  while (at + 30 <= bytes.length && bytes.readUInt32LE(at) === 0x04034b50) {
    const nameLength = bytes.readUInt16LE(at + 26);
    names.push(bytes.toString('utf8', at + 30, Math.min(bytes.length, at + 30 + nameLength)));
    const compressedSize = bytes.readUInt32LE(at + 18);
    if (compressedSize === 0) break; // sizes in a data descriptor: the next header cannot be found cheaply
    at += 30 + nameLength + bytes.readUInt16LE(at + 28) + compressedSize;
  }
  return names;
}

/**
 * Text is valid UTF-8 with no NUL and no C0 control other than tab, newlines, form feed and
 * escape. Only the first 64 KiB are decoded; a multi-byte character cut by that sample is fine,
 * one cut by the end of the file is not.
 */
function sniffText(bytes: Buffer): SniffedMedia | undefined {
  const sample = bytes.subarray(0, TEXT_SAMPLE_BYTES);
  for (const byte of sample) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0b && byte !== 0x0c && byte !== 0x0d && byte !== 0x1b) return undefined;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: sample.length < bytes.length });
  } catch {
    return undefined;
  }
  return { mediaType: 'text/plain', kind: 'text' };
}
