import t from 'tap';
import { audioChunks, quietestCut } from '../../../jobs/media/audio-chunks.js';

const RATE = 1000;

/** Mono s16le PCM: a 440 Hz-like square tone of `amplitude` for `seconds`, or silence at 0. */
function tone(seconds: number, amplitude = 8000): Buffer {
  const samples = Math.round(seconds * RATE);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(i % 4 < 2 ? amplitude : -amplitude, i * 2);
  return pcm;
}
const gap = (seconds: number): Buffer => tone(seconds, 0);

/** Splits `pcm` into pieces of `size` bytes (odd sizes cut samples in half, as a pipe may). */
async function* pieces(pcm: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < pcm.length; at += size) yield pcm.subarray(at, at + size);
}

async function collect(pcm: Buffer, size: number, options: Parameters<typeof audioChunks>[1]) {
  const chunks = [];
  for await (const chunk of audioChunks(pieces(pcm, size), { sampleRate: RATE, frameSeconds: 0.02, ...options })) chunks.push(chunk);
  return chunks;
}

t.test('cuts land in the gaps between tones, and the chunks put back together are the input', async (t) => {
  // Tones of 7.5 s with 0.4 s gaps at 7.5–7.9, 15.4–15.8, 23.3–23.7; windows of 10 s searched back 3 s.
  const pcm = Buffer.concat([tone(7.5), gap(0.4), tone(7.5), gap(0.4), tone(7.5), gap(0.4), tone(4)]);
  const chunks = await collect(pcm, 333, { chunkSeconds: 10, searchSeconds: 3 });
  const cuts = chunks.slice(1).map((chunk) => chunk.startSec);
  t.equal(cuts.length, 3, `cuts at ${cuts.join(', ')}`);
  const gaps: [number, number][] = [[7.5, 7.9], [15.4, 15.8], [23.3, 23.7]];
  cuts.forEach((cut, i) => {
    const [from, to] = gaps[i]!;
    t.ok(cut >= from && cut <= to, `cut ${i} at ${cut} s is inside the gap ${from}–${to} s`);
  });
  t.same(chunks.map((chunk) => chunk.index), [0, 1, 2, 3]);
  for (const chunk of chunks) t.ok(chunk.pcm.length <= 10 * RATE, `chunk ${chunk.index} is at most a window`);
  const joined = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.pcm.buffer, chunk.pcm.byteOffset, chunk.pcm.byteLength)));
  t.ok(joined.equals(pcm), 'every sample once, in order, across odd-sized pieces');
  let start = 0;
  for (const chunk of chunks) {
    t.equal(chunk.startSec, start / RATE, `chunk ${chunk.index} starts where the last ended`);
    start += chunk.pcm.length;
  }
});

t.test('without a quiet moment in reach the cut takes the quietest frame, never past the window', async (t) => {
  // A steady tone except one softer stretch 8.2–8.4 s: the cut goes there.
  const pcm = Buffer.concat([tone(8.2), tone(0.2, 500), tone(6)]);
  const chunks = await collect(pcm, 4096, { chunkSeconds: 10, searchSeconds: 3 });
  t.equal(chunks.length, 2);
  const cut = chunks[1]!.startSec;
  t.ok(cut >= 8.2 && cut <= 8.4, `cut at ${cut} s, in the softer stretch`);
  // All tone: no frame is quieter, so the latest frame wins and chunks stay as long as allowed.
  const steady = await collect(tone(25), 1000, { chunkSeconds: 10, searchSeconds: 3 });
  t.ok(steady.every((chunk) => chunk.pcm.length <= 10 * RATE && chunk.pcm.length > 9.9 * RATE || chunk.index === steady.length - 1), 'full-length chunks');
});

t.test('short audio is one chunk; silence cuts late; an empty stream gives none', async (t) => {
  const short = await collect(tone(3), 100, { chunkSeconds: 10 });
  t.equal(short.length, 1);
  t.equal(short[0]!.pcm.length, 3 * RATE);
  const silent = await collect(gap(25), 4096, { chunkSeconds: 10, searchSeconds: 3 });
  t.ok(silent[0]!.pcm.length > 9.9 * RATE, 'digital silence: the latest of equal frames');
  t.same(await collect(Buffer.alloc(0), 10, {}), []);
  t.same(await collect(Buffer.from([1]), 10, {}), [], 'half a sample is nothing');
});

t.test('the search reaches back a third of a window at most', async (t) => {
  const window = new Int16Array(300).fill(1000);
  window.fill(0, 10, 30); // a quiet stretch early in the window, out of reach
  t.equal(quietestCut(window, 100, 20) >= 200, true);
  window.fill(0, 250, 270);
  t.equal(quietestCut(window, 100, 20), 260, 'the middle of the quiet frame');
});

t.test('memory stays one window: a long stream is cut without being held', async (t) => {
  async function* endless(): AsyncGenerator<Buffer> {
    const second = tone(1);
    for (let i = 0; i < 3 * 3600; i++) yield second; // three hours at 1 kHz
  }
  const before = process.memoryUsage().rss;
  let chunks = 0;
  let seconds = 0;
  for await (const chunk of audioChunks(endless(), { sampleRate: RATE, chunkSeconds: 30 })) {
    chunks += 1;
    seconds += chunk.pcm.length / RATE;
  }
  t.equal(Math.round(seconds), 3 * 3600);
  t.ok(chunks >= 360 && chunks <= 3 * 3600 / 25 + 1, `${chunks} chunks`);
  const grew = (process.memoryUsage().rss - before) / 2 ** 20;
  t.ok(grew < 50, `RSS grew ${grew.toFixed(1)} MiB over three hours of PCM`);
});
