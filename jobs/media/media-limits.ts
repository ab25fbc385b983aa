import { CapserveError } from '../../core/errors.js';
import { type ImageSize } from './image-size.js';

/**
 * Caps on what a media job may cost, checked before anything is decoded: from the image header,
 * the PDF's page count and its streams' inflated size (see docs/configuration.md).
 */
export interface MediaLimits {
  /** MAX_IMAGE_PIXELS. */
  readonly maxImagePixels: number;
  /** MAX_PDF_PAGES. */
  readonly maxPdfPages: number;
  /** MAX_PDF_INFLATED_BYTES. */
  readonly maxPdfInflatedBytes: number;
}

/** @throws CapserveError MEDIA_TOO_LARGE when the header's width × height is over `max`. */
export function checkImagePixels(size: ImageSize, max: number): void {
  const pixels = size.width * size.height;
  if (pixels <= max) return;
  throw new CapserveError('MEDIA_TOO_LARGE', `the image is ${size.width}×${size.height} (${pixels} pixels), more than MAX_IMAGE_PIXELS (${max})`, {
    details: { limit: 'MAX_IMAGE_PIXELS', max, width: size.width, height: size.height },
  });
}
