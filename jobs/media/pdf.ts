import { getDocumentProxy } from 'unpdf';
import { CapserveError, messageOf } from '../../core/errors.js';
import { checkPdfInflatedBytes } from './pdf-inflate-budget.js';

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

/** pdf.js logs only errors; its warnings about fonts and broken objects are noise here. */
const PDFJS_VERBOSITY_ERRORS = 0;

export interface PdfReadOptions {
  /** Refuse (MEDIA_TOO_LARGE) a PDF whose compressed streams inflate to more bytes. @default no limit */
  readonly maxInflatedBytes?: number;
}

/**
 * The page count of a PDF.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when pdf.js cannot open it; MEDIA_TOO_LARGE past `maxInflatedBytes`.
 */
export async function pdfInfo(bytes: Uint8Array, options: PdfReadOptions = {}): Promise<{ pages: number }> {
  return withPdf(bytes, options, async (pdf) => ({ pages: pdf.numPages }));
}

export interface PdfTextOptions extends PdfReadOptions {
  /** Read at most this many pages from the start. @default every page */
  readonly maxPages?: number;
  /** Refuse (MEDIA_TOO_LARGE) a PDF of more pages, before reading any. @default no limit */
  readonly pageLimit?: number;
  /** Called after each page with the pages read and the pages to read. */
  readonly onPage?: (read: number, of: number) => void;
}

/**
 * The text of each page, in order, lines joined with "\n". Pages are read one after another,
 * so a long PDF never holds every page's text items at once.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when pdf.js cannot open it or a page is broken;
 *   MEDIA_TOO_LARGE past `pageLimit` or `maxInflatedBytes`.
 */
export async function pdfText(bytes: Uint8Array, options: PdfTextOptions = {}): Promise<{ pages: string[] }> {
  return withPdf(bytes, options, async (pdf) => {
    if (options.pageLimit !== undefined && pdf.numPages > options.pageLimit) throw tooManyPages(pdf.numPages, options.pageLimit);
    const count = Math.min(pdf.numPages, options.maxPages ?? pdf.numPages);
    const pages: string[] = [];
    for (let number = 1; number <= count; number += 1) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      pages.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('').trimEnd());
      page.cleanup();
      options.onPage?.(number, count);
    }
    return { pages };
  });
}

/** MEDIA_TOO_LARGE for a PDF of more than MAX_PDF_PAGES pages. */
export function tooManyPages(pages: number, max: number): CapserveError {
  return new CapserveError('MEDIA_TOO_LARGE', `the PDF has ${pages} pages, more than MAX_PDF_PAGES (${max})`, {
    details: { limit: 'MAX_PDF_PAGES', max, pages },
  });
}

async function withPdf<T>(bytes: Uint8Array, options: PdfReadOptions, read: (pdf: PdfDocument) => Promise<T>): Promise<T> {
  // Counted before pdf.js sees the bytes: it would inflate a bomb whole (see checkPdfInflatedBytes).
  if (options.maxInflatedBytes !== undefined) await checkPdfInflatedBytes(bytes, options.maxInflatedBytes);
  let pdf: PdfDocument | undefined;
  try {
    // pdf.js may transfer (detach) the buffer it is given: hand it a copy, never the caller's.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDFJS_VERBOSITY_ERRORS });
    return await read(pdf);
  } catch (error) {
    if (error instanceof CapserveError) throw error;
    throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', `the PDF could not be read: ${messageOf(error)}`, {
      details: { mediaType: 'application/pdf' },
      cause: error,
    });
  } finally {
    await pdf?.destroy();
  }
}
