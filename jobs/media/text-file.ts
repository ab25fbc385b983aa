import path from 'node:path';
import { CapserveError } from '../../core/errors.js';

/** Media types of text files by their name's extension; anything else sniffed as text is text/plain. */
const textTypes: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.text': 'text/plain',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.ndjson': 'application/jsonl',
};

/**
 * The media type of a file its bytes say is text: by the name's extension when it is a known
 * text format (the bytes already proved it is text, so the name only tells which kind), else text/plain.
 */
export function textMediaType(fileName: string | undefined): string {
  if (fileName === undefined) return 'text/plain';
  return textTypes[path.extname(fileName).toLowerCase()] ?? 'text/plain';
}

/**
 * The text of an uploaded text file: strict UTF-8 (a leading byte-order mark dropped), so the
 * string is well-formed Unicode like every text the server takes. The sniffer decodes only the
 * first 64 KiB; this reads all of it.
 * @throws CapserveError UNSUPPORTED_MEDIA_TYPE when the bytes are not UTF-8 text.
 */
export function readTextFile(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CapserveError('UNSUPPORTED_MEDIA_TYPE', 'the uploaded text file is not valid UTF-8', { details: { bytes: bytes.length } });
  }
}
