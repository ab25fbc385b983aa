import t from 'tap';
import { pdfInfo, pdfText } from '../../../jobs/media/pdf.js';
import { makePdf } from './fixtures/make-media.js';

const pages = ['Hello from page one', 'Page two (with parentheses)', 'The third and last page'];

t.test('counts the pages and reads each page of a hand-made PDF', async (t) => {
  const pdf = makePdf(pages);
  t.same(await pdfInfo(pdf), { pages: 3 });
  t.same(await pdfText(pdf), { pages });
  t.same(await pdfText(pdf, { maxPages: 2 }), { pages: pages.slice(0, 2) }, 'maxPages reads from the start');
  t.same(await pdfText(pdf, { maxPages: 10 }), { pages }, 'maxPages past the end reads them all');
  t.equal(pdf.length > 0 && pdf.subarray(0, 5).toString('latin1'), '%PDF-', "the caller's buffer is not detached");
});

t.test('a one-page PDF and a page without text', async (t) => {
  t.same(await pdfInfo(makePdf(['only'])), { pages: 1 });
  t.same(await pdfText(makePdf(['', 'second'])), { pages: ['', 'second'] });
});

t.test('a corrupt PDF is UNSUPPORTED_MEDIA_TYPE with the reason', async (t) => {
  const pdf = makePdf(pages);
  const cases: [name: string, input: Buffer][] = [
    ['header only', Buffer.from('%PDF-1.4\n')],
    ['garbage after the header', Buffer.from('%PDF-1.7\nthis is not a pdf at all\n%%EOF')],
    ['truncated', pdf.subarray(0, 200)],
    ['not a PDF', Buffer.from('plain text')],
  ];
  for (const [name, input] of cases) {
    await t.rejects(pdfInfo(input), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /^the PDF could not be read: / }, `pdfInfo: ${name}`);
    await t.rejects(pdfText(input), { code: 'UNSUPPORTED_MEDIA_TYPE' }, `pdfText: ${name}`);
  }
});
