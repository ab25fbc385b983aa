import sharp from 'sharp';
import t from 'tap';
import { readJobFacts } from '../../../jobs/media/job-facts.js';
import { makePdf, makeWav, makeZip, mediaFixture, skipWithoutFfmpeg } from './fixtures/make-media.js';

const skip = await skipWithoutFfmpeg();
const common = { capabilities: ['topics'], options: { ocr: true } };

t.test('text: tokens and bytes', async (t) => {
  t.same(await readJobFacts({ text: 'The app crashes every time I log in.', ...common }), {
    kind: 'text',
    mediaType: 'text/plain',
    bytes: 36,
    tokens: 11,
    capabilities: ['topics'],
    options: { ocr: true },
  });
  t.match(await readJobFacts({ file: Buffer.from('an uploaded note, in UTF-8: café'), ...common }), {
    kind: 'text',
    mediaType: 'text/plain',
    bytes: 33,
    tokens: 8,
  });
});

t.test('image: size from the header', async (t) => {
  const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#fff' } }).png().toBuffer();
  const facts = await readJobFacts({ file: png, ...common });
  t.same(facts, { kind: 'image', mediaType: 'image/png', bytes: png.length, width: 1200, height: 800, ...common });
});

t.test('pdf: page count; other documents: bytes only', async (t) => {
  const pdf = makePdf(['one', 'two', 'three', 'four']);
  t.match(await readJobFacts({ file: pdf, ...common }), { kind: 'document', mediaType: 'application/pdf', bytes: pdf.length, pages: 4 });
  const docx = makeZip([{ name: 'word/document.xml', content: '<w:document/>' }]);
  const facts = await readJobFacts({ file: docx, ...common });
  t.match(facts, { kind: 'document', bytes: docx.length });
  t.equal(facts.pages, undefined);
  t.match(await readJobFacts({ file: makeZip([{ name: 'a.bin', content: 'x' }]), ...common }), { kind: 'other', mediaType: 'application/zip' });
});

t.test('audio and video: duration and resolution from ffprobe, kind from the streams', { skip }, async (t) => {
  const wav = await readJobFacts({ file: makeWav({ seconds: 1.5 }), ...common });
  t.match(wav, { kind: 'audio', mediaType: 'audio/wav', durationSec: 1.5 });
  t.equal(wav.width, undefined);

  const video = await readJobFacts({ file: await mediaFixture('video.mp4'), ...common });
  t.match(video, { kind: 'video', mediaType: 'video/mp4', width: 320, height: 240 });
  t.ok(Math.abs((video.durationSec ?? 0) - 1) < 0.1);

  t.match(await readJobFacts({ file: await mediaFixture('audio-only.mp4'), ...common }), { kind: 'audio', mediaType: 'audio/mp4' }, 'mp4 holding only audio');
  t.match(await readJobFacts({ file: await mediaFixture('audio-only.webm'), ...common }), { kind: 'audio', mediaType: 'audio/webm' }, 'webm holding only audio');
  const cover = await readJobFacts({ file: await mediaFixture('cover.mp3'), ...common });
  t.match(cover, { kind: 'audio', mediaType: 'audio/mpeg' }, 'mp3 with cover art stays audio');
  t.equal(cover.width, undefined, 'no resolution from a cover picture');
});

t.test('without ffprobe, audio keeps its sniffed kind and no duration', async (t) => {
  const facts = await readJobFacts({ file: makeWav({ seconds: 1 }), ...common }, { ffprobePath: '/nonexistent/ffprobe' });
  t.match(facts, { kind: 'audio', mediaType: 'audio/wav' });
  t.equal(facts.durationSec, undefined);
});

t.test('errors: no content, unknown bytes, unreadable files', async (t) => {
  await t.rejects(readJobFacts({ ...common }), { code: 'VALIDATION_ERROR' });
  await t.rejects(readJobFacts({ file: Buffer.from([0, 1, 2, 3, 4, 5]), ...common }), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'the uploaded file is of no known format',
  });
  await t.rejects(readJobFacts({ file: Buffer.from('%PDF-1.4\nbroken'), ...common }), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /PDF/ });
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer();
  await t.rejects(readJobFacts({ file: png.subarray(0, 12), ...common }), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /image/ });
});

t.test('a text file: its kind by name, all of it strict UTF-8', async (t) => {
  const note = Buffer.from('# Notes\n\nThe delivery was late.');
  t.match(await readJobFacts({ file: note, fileName: 'notes.md', ...common }), { kind: 'text', mediaType: 'text/markdown', tokens: Number });
  t.match(await readJobFacts({ file: note, fileName: 'rows.CSV', ...common }), { mediaType: 'text/csv' });
  t.match(await readJobFacts({ file: note, ...common }), { mediaType: 'text/plain' });
  // Valid in the first 64 KiB the sniffer looks at, broken after it.
  const late = Buffer.concat([Buffer.alloc(70_000, 0x61), Buffer.from([0xc3, 0x28])]);
  await t.rejects(readJobFacts({ file: late, fileName: 'big.txt', ...common }), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /UTF-8/ });
});

t.test('limits refuse images and PDFs before decoding', async (t) => {
  const limits = { maxImagePixels: 1_000_000, maxPdfPages: 2, maxPdfInflatedBytes: 1024 * 1024 };
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80, 8, 2, 0, 0, 0])]);
  await t.rejects(readJobFacts({ file: png, ...common }, { limits }), { code: 'MEDIA_TOO_LARGE', details: { limit: 'MAX_IMAGE_PIXELS', width: 16_000, height: 16_000 } });
  await t.rejects(readJobFacts({ file: makePdf(['a', 'b', 'c']), ...common }, { limits }), { code: 'MEDIA_TOO_LARGE', details: { limit: 'MAX_PDF_PAGES', pages: 3 } });
  t.match(await readJobFacts({ file: makePdf(['a', 'b']), ...common }, { limits }), { pages: 2 });
});
