import sharp from 'sharp';
import { type Quad } from './geometry.js';

/** Interleaved 8-bit RGB pixels, row-major. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** A float32 NCHW batch ready for onnxruntime. */
export interface TensorData {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number, number];
}

/** The bytes are not an image sharp can decode (e.g. BMP or HEIC, which its libvips build lacks). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

/**
 * Decodes any format sharp reads to RGB, honouring EXIF orientation and flattening transparency
 * onto white (ink on a transparent PNG would otherwise vanish into black). Only the first page
 * of a multi-page image is read. Throws an {@link ImageDecodeError} that says the bytes are not an image it reads.
 */
export async function decodeImage(bytes: Buffer): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes)
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new ImageDecodeError(`cannot decode the image: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The detector's input size: the longer side capped at `limitSideLen`, never upscaled, then each
 * side rounded to a multiple of 32 (the detector downsamples five times), at least 32.
 */
export function detectionSize(width: number, height: number, limitSideLen: number): { width: number; height: number } {
  const ratio = Math.max(width, height) > limitSideLen ? limitSideLen / Math.max(width, height) : 1;
  const round32 = (v: number): number => Math.max(32, Math.round(Math.trunc(v * ratio) / 32) * 32);
  return { width: round32(width), height: round32(height) };
}

// PaddleOCR reads images with OpenCV, so the models were trained on BGR planes and its ImageNet
// constants are applied in that plane order. Feeding BGR keeps us on the training distribution.
const DET_MEAN = [0.485, 0.456, 0.406] as const;
const DET_STD = [0.229, 0.224, 0.225] as const;
const BGR = [2, 1, 0] as const;

/** Resizes with libvips (off the event loop) and normalises to the detector's 1×3×H×W input. */
export async function detectionTensor(image: RgbImage, size: { width: number; height: number }): Promise<TensorData> {
  const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const plane = size.width * size.height;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const source = BGR[c]!;
    const mean = DET_MEAN[c]!;
    const std = DET_STD[c]!;
    const out = c * plane;
    for (let i = 0; i < plane; i++) data[out + i] = ((resized[i * 3 + source] ?? 0) / 255 - mean) / std;
  }
  return { data, dims: [1, 3, size.height, size.width] };
}

/** Bilinear sample of channel `c` at pixel-index coordinates, edges replicated. */
function sample(image: RgbImage, x: number, y: number, c: number): number {
  const { data, width, height } = image;
  const cx = Math.min(Math.max(x, 0), width - 1);
  const cy = Math.min(Math.max(y, 0), height - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = (data[(y0 * width + x0) * 3 + c] ?? 0) * (1 - fx) + (data[(y0 * width + x1) * 3 + c] ?? 0) * fx;
  const bottom = (data[(y1 * width + x0) * 3 + c] ?? 0) * (1 - fx) + (data[(y1 * width + x1) * 3 + c] ?? 0) * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * Cuts a (possibly rotated) rectangle out of the image, upright, at its own size: width along
 * top-left → top-right, height along top-left → bottom-left. A crop at least 1.5 times taller
 * than wide is vertical text and is turned 90° counter-clockwise so that it reads left to right.
 */
export function cropQuad(image: RgbImage, quad: Quad): RgbImage {
  const [tl, tr, br, bl] = quad;
  const width = Math.max(1, Math.trunc(Math.max(Math.hypot(tr.x - tl.x, tr.y - tl.y), Math.hypot(br.x - bl.x, br.y - bl.y))));
  const height = Math.max(1, Math.trunc(Math.max(Math.hypot(bl.x - tl.x, bl.y - tl.y), Math.hypot(br.x - tr.x, br.y - tr.y))));
  const data = new Uint8Array(width * height * 3);
  const ux = (tr.x - tl.x) / width;
  const uy = (tr.y - tl.y) / width;
  const vx = (bl.x - tl.x) / height;
  const vy = (bl.y - tl.y) / height;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const x = tl.x + u * ux + v * vx;
      const y = tl.y + u * uy + v * vy;
      const out = (v * width + u) * 3;
      for (let c = 0; c < 3; c++) data[out + c] = Math.round(sample(image, x, y, c));
    }
  }
  const crop = { data, width, height };
  return height >= 1.5 * width ? rotate90CounterClockwise(crop) : crop;
}

export function rotate90CounterClockwise(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Source (x, y) lands at column y, row (width - 1 - x) of a height-wide image.
      const out = ((width - 1 - x) * height + y) * 3;
      const from = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[out + c] = image.data[from + c] ?? 0;
    }
  }
  return { data, width: height, height: width };
}

export function rotate180(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  const pixels = image.width * image.height;
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) data[(pixels - 1 - i) * 3 + c] = image.data[i * 3 + c] ?? 0;
  }
  return { data, width: image.width, height: image.height };
}

/** The width a line gets at `height` pixels tall, keeping its aspect ratio, capped at `maxWidth`. */
export function lineWidth(image: RgbImage, height: number, maxWidth: number): number {
  return Math.max(1, Math.min(maxWidth, Math.ceil((height * image.width) / image.height)));
}

/**
 * A batch of text lines for the classifier or recogniser: each resized to `height` keeping its
 * aspect ratio (at most `width` wide), scaled to [-1, 1] in BGR plane order, and padded on the
 * right with zeros up to `width`, as PaddleOCR's own preprocessing pads.
 */
export function lineTensor(images: readonly RgbImage[], height: number, width: number): TensorData {
  const plane = height * width;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    const resizedWidth = lineWidth(image, height, width);
    const sx = image.width / resizedWidth;
    const sy = image.height / height;
    for (let y = 0; y < height; y++) {
      const fy = (y + 0.5) * sy - 0.5;
      for (let x = 0; x < resizedWidth; x++) {
        const fx = (x + 0.5) * sx - 0.5;
        for (let c = 0; c < 3; c++) {
          data[(n * 3 + c) * plane + y * width + x] = sample(image, fx, fy, BGR[c]!) / 127.5 - 1;
        }
      }
    }
  });
  return { data, dims: [images.length, 3, height, width] };
}
