import { type OcrBox } from './types.js';

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Four corners in the order top-left, top-right, bottom-right, bottom-left. */
export type Quad = readonly [Point, Point, Point, Point];

/** A rotated rectangle: centre, unit direction of its `width` side, and side lengths. */
export interface RotatedRect {
  readonly cx: number;
  readonly cy: number;
  readonly ux: number;
  readonly uy: number;
  readonly width: number;
  readonly height: number;
}

const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);

/** Convex hull (Andrew's monotone chain), counter-clockwise in y-down coordinates, no collinear points. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (sorted.length <= 2) return sorted;
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * The minimum-area enclosing rectangle of a convex hull. One side of the optimum lies on a hull
 * edge, so trying every edge direction is exact; hulls of text components have few vertices.
 */
export function minAreaRect(hull: readonly Point[]): RotatedRect {
  const first = hull[0];
  if (first === undefined) return { cx: 0, cy: 0, ux: 1, uy: 0, width: 0, height: 0 };
  let best: RotatedRect = { cx: first.x, cy: first.y, ux: 1, uy: 0, width: 0, height: 0 };
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const length = Math.hypot(b.x - a.x, b.y - a.y);
    if (length === 0) continue;
    const ux = (b.x - a.x) / length;
    const uy = (b.y - a.y) / length;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, ux, uy, width: maxU - minU, height: maxV - minV };
    }
  }
  return best;
}

/** The same rectangle grown by `distance` on every side. */
export function expandRect(rect: RotatedRect, distance: number): RotatedRect {
  return { ...rect, width: rect.width + 2 * distance, height: rect.height + 2 * distance };
}

/**
 * Corners ordered like PaddleOCR's mini boxes: of the two leftmost corners the upper one is
 * top-left, of the two rightmost the upper one is top-right.
 */
export function rectCorners(rect: RotatedRect): Quad {
  const { cx, cy, ux, uy } = rect;
  const hw = rect.width / 2;
  const hh = rect.height / 2;
  const corners = [
    { x: cx - ux * hw + uy * hh, y: cy - uy * hw - ux * hh },
    { x: cx + ux * hw + uy * hh, y: cy + uy * hw - ux * hh },
    { x: cx + ux * hw - uy * hh, y: cy + uy * hw + ux * hh },
    { x: cx - ux * hw - uy * hh, y: cy - uy * hw + ux * hh },
  ].sort((a, b) => a.x - b.x);
  const [l1, l2, r1, r2] = corners as [Point, Point, Point, Point];
  const [tl, bl] = l1.y <= l2.y ? [l1, l2] : [l2, l1];
  const [tr, br] = r1.y <= r2.y ? [r1, r2] : [r2, r1];
  return [tl, tr, br, bl];
}

export function quadBounds(quad: Quad): { minX: number; minY: number; maxX: number; maxY: number } {
  const xs = quad.map((p) => p.x);
  const ys = quad.map((p) => p.y);
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

/** Scales a quad by independent x/y factors and clamps it to [0, width] × [0, height]. */
export function scaleQuad(quad: Quad, sx: number, sy: number, width: number, height: number): Quad {
  const clamp = (v: number, max: number): number => Math.min(Math.max(v, 0), max);
  return quad.map((p) => ({ x: clamp(p.x * sx, width), y: clamp(p.y * sy, height) })) as unknown as Quad;
}

/** The integer pixel rectangle covering a quad, clipped to the image. */
export function boundingBox(quad: Quad, width: number, height: number): OcrBox {
  const b = quadBounds(quad);
  const x = Math.max(0, Math.floor(b.minX));
  const y = Math.max(0, Math.floor(b.minY));
  const right = Math.min(width, Math.ceil(b.maxX));
  const bottom = Math.min(height, Math.ceil(b.maxY));
  return { x, y, width: Math.max(0, right - x), height: Math.max(0, bottom - y) };
}

/**
 * Reading order: rows top to bottom, left to right inside a row. Two boxes share a row when
 * their vertical centres are closer than half the smaller height, compared with the row's first
 * box so that a slightly slanted line does not drift into the next one.
 */
export function sortReadingOrder<T>(items: readonly T[], boxOf: (item: T) => OcrBox): T[] {
  const byTop = [...items].sort((a, b) => boxOf(a).y - boxOf(b).y || boxOf(a).x - boxOf(b).x);
  const rows: T[][] = [];
  let anchor: OcrBox | undefined;
  for (const item of byTop) {
    const box = boxOf(item);
    const sameRow =
      anchor !== undefined &&
      Math.abs(box.y + box.height / 2 - (anchor.y + anchor.height / 2)) < Math.min(box.height, anchor.height) / 2;
    if (sameRow) rows[rows.length - 1]!.push(item);
    else {
      rows.push([item]);
      anchor = box;
    }
  }
  return rows.flatMap((row) => row.sort((a, b) => boxOf(a).x - boxOf(b).x));
}
