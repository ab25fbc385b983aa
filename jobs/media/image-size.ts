import sharp from 'sharp';
import { CapserveError, messageOf } from '../../core/errors.js';

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/**
 * Width and height of an image, read from its header without decoding it. PNG, JPEG, GIF,
 * WebP and BMP are parsed here; anything else (TIFF, AVIF, HEIF, a header these parsers do not
 * follow) goes to `sharp().metadata()`, which also reads headers only.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when neither can read the image.
 */
export async function imageSize(bytes: Buffer): Promise<ImageSize> {
  const parsed = readHeaderSize(bytes);
  if (parsed !== undefined) return parsed;
  const metadata = await sharp(bytes)
    .metadata()
    .catch((error: unknown) => {
      throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', `the image could not be read: ${messageOf(error)}`, { cause: error });
    });
  if (!metadata.width || !metadata.height) {
    throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', `the image has no size in its header (${metadata.format})`);
  }
  return { width: metadata.width, height: metadata.height };
}

/** The size from a PNG, JPEG, GIF, WebP or BMP header; `undefined` for other or broken headers. */
export function readHeaderSize(bytes: Buffer): ImageSize | undefined {
  const size = pngSize(bytes) ?? gifSize(bytes) ?? bmpSize(bytes) ?? webpSize(bytes) ?? jpegSize(bytes);
  return size !== undefined && size.width > 0 && size.height > 0 ? size : undefined;
}

const ascii = (bytes: Buffer, offset: number, text: string): boolean =>
  bytes.length >= offset + text.length && bytes.toString('latin1', offset, offset + text.length) === text;

function pngSize(bytes: Buffer): ImageSize | undefined {
  if (!ascii(bytes, 1, 'PNG\r\n\x1a\n') || !ascii(bytes, 12, 'IHDR') || bytes.length < 24) return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

function gifSize(bytes: Buffer): ImageSize | undefined {
  if (!(ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) || bytes.length < 10) return undefined;
  return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
}

function bmpSize(bytes: Buffer): ImageSize | undefined {
  if (!ascii(bytes, 0, 'BM') || bytes.length < 26) return undefined;
  const dibSize = bytes.readUInt32LE(14);
  if (dibSize === 12) return { width: bytes.readUInt16LE(18), height: bytes.readUInt16LE(20) };
  if (dibSize < 40) return undefined;
  // A negative height marks a top-down bitmap.
  return { width: Math.abs(bytes.readInt32LE(18)), height: Math.abs(bytes.readInt32LE(22)) };
}

function webpSize(bytes: Buffer): ImageSize | undefined {
  if (!ascii(bytes, 0, 'RIFF') || !ascii(bytes, 8, 'WEBP') || bytes.length < 30) return undefined;
  const chunk = bytes.toString('latin1', 12, 16);
  if (chunk === 'VP8 ' && bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a) {
    return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L' && bytes[20] === 0x2f) {
    const bits = bytes.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
  return undefined;
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT, JPG or DAC. */
const sofMarkers = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the marker segments up to the first start-of-frame, which holds the size. */
function jpegSize(bytes: Buffer): ImageSize | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or scan data before any frame
    const length = bytes.readUInt16BE(at + 2);
    if (sofMarkers.has(marker)) {
      if (at + 9 > bytes.length) return undefined;
      return { width: bytes.readUInt16BE(at + 7), height: bytes.readUInt16BE(at + 5) };
    }
    at += 2 + length;
  }
  return undefined;
}
