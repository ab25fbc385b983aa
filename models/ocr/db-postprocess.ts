import { convexHull, expandRect, minAreaRect, rectCorners, type Point, type Quad, type RotatedRect } from './geometry.js';

/** A probability map from the DB detector: `height` rows of `width` values in 0..1. */
export interface ProbabilityMap {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

export interface DbOptions {
  /** Pixel probability above which a pixel is text. */
  readonly threshold: number;
  /** Mean probability inside a box needed to keep it. */
  readonly boxThreshold: number;
  /** Growth of the shrunk kernel: offset = area × ratio / perimeter. */
  readonly unclipRatio: number;
  /** Boxes whose short side is smaller (before growing; +2 after) are noise. @default 3 */
  readonly minSize?: number;
  /** Components looked at, in scan order; the rest are ignored. @default 1000 */
  readonly maxCandidates?: number;
}

/** A detected text region in map coordinates. */
export interface DetectedBox {
  readonly quad: Quad;
  /** Mean probability inside the kernel's rectangle, before growing it. */
  readonly score: number;
}

/**
 * DB (differentiable binarisation) post-processing: binarise, take each 8-connected component,
 * fit its minimum-area rectangle, score it by the mean probability inside, and grow it back by the
 * DB unclip offset. The detector predicts text kernels shrunk by that same offset during training,
 * which is why a box is grown by area × ratio / perimeter. Growing a rectangle's polygon by a
 * rounded offset and refitting a minimum rectangle (PaddleOCR's pyclipper path) is the same as
 * widening each side by the offset, so no polygon clipping is needed.
 */
export function extractBoxes(map: ProbabilityMap, options: DbOptions): DetectedBox[] {
  const { data, width, height } = map;
  const minSize = options.minSize ?? 3;
  const maxCandidates = options.maxCandidates ?? 1000;
  if (data.length < width * height) throw new Error(`probability map has ${data.length} values, expected ${width}×${height}`);

  const labels = new Uint8Array(width * height); // 0 unvisited, 1 visited
  const stack = new Int32Array(width * height);
  const pixels = new Int32Array(width * height);
  const boxes: DetectedBox[] = [];
  let candidates = 0;

  for (let start = 0; start < width * height && candidates < maxCandidates; start++) {
    if (labels[start] !== 0 || !((data[start] ?? 0) > options.threshold)) continue;
    candidates++;
    const count = floodFill(data, width, height, options.threshold, start, labels, stack, pixels);
    const rect = minAreaRect(convexHull(rowExtremes(pixels, count, width)));
    if (Math.min(rect.width, rect.height) < minSize) continue;
    const score = meanInside(map, rectCorners(rect));
    if (score < options.boxThreshold) continue;
    const grown = unclip(rect, options.unclipRatio);
    if (Math.min(grown.width, grown.height) < minSize + 2) continue;
    boxes.push({ quad: rectCorners(grown), score });
  }
  return boxes;
}

/** The DB unclip of a rectangle: offset = area × ratio / perimeter on every side. */
export function unclip(rect: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (rect.width + rect.height);
  if (perimeter === 0) return rect;
  return expandRect(rect, (rect.width * rect.height * ratio) / perimeter);
}

/** Marks one 8-connected component above `threshold`; returns how many pixel indices it wrote. */
function floodFill(
  data: Float32Array,
  width: number,
  height: number,
  threshold: number,
  start: number,
  labels: Uint8Array,
  stack: Int32Array,
  pixels: Int32Array,
): number {
  let top = 0;
  let count = 0;
  stack[top++] = start;
  labels[start] = 1;
  while (top > 0) {
    const index = stack[--top]!;
    pixels[count++] = index;
    const x = index % width;
    const y = (index - x) / width;
    for (let dy = -1; dy <= 1; dy++) {
      const ny = y + dy;
      if (ny < 0 || ny >= height) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
        const next = ny * width + nx;
        if (labels[next] === 0 && (data[next] ?? 0) > threshold) {
          labels[next] = 1;
          stack[top++] = next;
        }
      }
    }
  }
  return count;
}

/** The leftmost and rightmost pixel centre of each row: enough points for the convex hull. */
function rowExtremes(pixels: Int32Array, count: number, width: number): Point[] {
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < count; i++) {
    const y = Math.floor(pixels[i]! / width);
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const rows = maxY - minY + 1;
  const left = new Int32Array(rows).fill(width);
  const right = new Int32Array(rows).fill(-1);
  for (let i = 0; i < count; i++) {
    const index = pixels[i]!;
    const x = index % width;
    const row = (index - x) / width - minY;
    if (x < left[row]!) left[row] = x;
    if (x > right[row]!) right[row] = x;
  }
  const points: Point[] = [];
  for (let row = 0; row < rows; row++) {
    if (right[row]! < 0) continue;
    points.push({ x: left[row]!, y: row + minY });
    if (right[row] !== left[row]) points.push({ x: right[row]!, y: row + minY });
  }
  return points;
}

/**
 * Mean probability of the pixels whose centres lie inside the quad (half a pixel of tolerance,
 * so that a one-pixel-thin rectangle still covers its own pixels).
 */
export function meanInside(map: ProbabilityMap, quad: Quad): number {
  const { data, width, height } = map;
  const xs = quad.map((p) => p.x);
  const ys = quad.map((p) => p.y);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  const edges = quad.map((a, i) => {
    const b = quad[(i + 1) % 4]!;
    const length = Math.hypot(b.x - a.x, b.y - a.y);
    return { a, dx: b.x - a.x, dy: b.y - a.y, length };
  });
  let sum = 0;
  let n = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // Corners run clockwise on screen (y down), so the inside is where every cross product is >= 0.
      const inside = edges.every((e) => e.length === 0 || (e.dx * (y - e.a.y) - e.dy * (x - e.a.x)) / e.length >= -0.5);
      if (!inside) continue;
      sum += data[y * width + x] ?? 0;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}
