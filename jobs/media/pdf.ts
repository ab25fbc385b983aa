import { getDocumentProxy } from 'unpdf';
import { CapserveError, messageOf } from '../../core/errors.js';

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

/** pdf.js logs only errors; its warnings about fonts and broken objects are noise here. */
const PDFJS_VERBOSITY_ERRORS = 0;

/**
 * The page count of a PDF.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when pdf.js cannot open it.
 */
export async function pdfInfo(bytes: Uint8Array): Promise<{ pages: number }> {
  return withPdf(bytes, async (pdf) => ({ pages: pdf.numPages }));
}

export interface PdfTextOptions {
  /** Read at most this many pages from the start. @default every page */
  readonly maxPages?: number;
}

/**
 * The text of each page, in order, lines joined with "\n". Pages are read one after another,
 * so a long PDF never holds every page's text items at once.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when pdf.js cannot open it or a page is broken.
 */
export async function pdfText(bytes: Uint8Array, options: PdfTextOptions = {}): Promise<{ pages: string[] }> {
  return withPdf(bytes, async (pdf) => {
    const count = Math.min(pdf.numPages, options.maxPages ?? pdf.numPages);
    const pages: string[] = [];
    for (let number = 1; number <= count; number += 1) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      pages.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('').trimEnd());
      page.cleanup();
    }
    return { pages };
  });
}

async function withPdf<T>(bytes: Uint8Array, read: (pdf: PdfDocument) => Promise<T>): Promise<T> {
  let pdf: PdfDocument | undefined;
  try {
    // pdf.js may transfer (detach) the buffer it is given: hand it a copy, never the caller's.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDFJS_VERBOSITY_ERRORS });
    return await read(pdf);
  } catch (error) {
    throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', `the PDF could not be read: ${messageOf(error)}`, {
      details: { mediaType: 'application/pdf' },
      cause: error,
    });
  } finally {
    await pdf?.destroy();
  }
}
