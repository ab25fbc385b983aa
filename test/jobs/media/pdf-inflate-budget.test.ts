import t from 'tap';
import { checkPdfInflatedBytes } from '../../../jobs/media/pdf-inflate-budget.js';
import { pdfInfo, pdfText } from '../../../jobs/media/pdf.js';
import { makePdf } from './fixtures/make-media.js';
import { makeFlatePdf } from '../../../scripts/fixtures/hostile-media.js';

const MiB = 2 ** 20;

t.test('counts what the compressed streams inflate to; uncompressed streams count nothing', async (t) => {
  t.equal(await checkPdfInflatedBytes(makePdf(['plain', 'text']), 1), 0);
  const flate = await makeFlatePdf('hello', 2 * MiB);
  t.ok(flate.length < 20_000, `${flate.length} bytes on disk`);
  const counted = await checkPdfInflatedBytes(flate, 4 * MiB);
  t.ok(counted > 2 * MiB && counted < 2 * MiB + 100, `${counted} bytes`);
  t.same(await pdfText(flate, { maxInflatedBytes: 4 * MiB }), { pages: ['hello'] }, 'under the limit pdf.js reads it');
});

t.test('past the limit: MEDIA_TOO_LARGE before pdf.js reads it, also behind an ASCIIHex layer', async (t) => {
  for (const wrap of [undefined, 'hex'] as const) {
    const bomb = await makeFlatePdf('boom', 64 * MiB, wrap === undefined ? {} : { wrap });
    const rssBefore = process.memoryUsage().rss;
    await t.rejects(checkPdfInflatedBytes(bomb, 8 * MiB), { code: 'MEDIA_TOO_LARGE', details: { limit: 'MAX_PDF_INFLATED_BYTES', max: 8 * MiB } }, `wrap ${wrap}`);
    await t.rejects(pdfInfo(bomb, { maxInflatedBytes: 8 * MiB }), { code: 'MEDIA_TOO_LARGE' });
    await t.rejects(pdfText(bomb, { maxInflatedBytes: 8 * MiB }), { code: 'MEDIA_TOO_LARGE' });
    const grew = (process.memoryUsage().rss - rssBefore) / MiB;
    t.ok(grew < 48, `RSS grew ${grew.toFixed(1)} MiB checking a 64 MiB bomb against 8 MiB`);
  }
});

t.test('a broken stream counts what it gave and is left to pdf.js', async (t) => {
  const flate = await makeFlatePdf('x', MiB);
  const at = flate.indexOf('stream\n') + 7 + 40;
  const broken = Buffer.from(flate);
  broken.fill(0xff, at, at + 16);
  const counted = await checkPdfInflatedBytes(broken, 4 * MiB);
  t.ok(counted < MiB, `${counted} bytes before the break`);
});

t.test('pageLimit refuses a long PDF before reading its pages, with progress per page otherwise', async (t) => {
  const pdf = makePdf(['one', 'two', 'three']);
  await t.rejects(pdfText(pdf, { pageLimit: 2 }), { code: 'MEDIA_TOO_LARGE', details: { limit: 'MAX_PDF_PAGES', max: 2, pages: 3 } });
  const seen: string[] = [];
  t.same(await pdfText(pdf, { pageLimit: 3, onPage: (read, of) => seen.push(`${read}/${of}`) }), { pages: ['one', 'two', 'three'] });
  t.same(seen, ['1/3', '2/3', '3/3']);
});
