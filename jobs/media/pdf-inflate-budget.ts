import { createInflate } from 'node:zlib';
import { CapserveError } from '../../core/errors.js';

const STREAM = Buffer.from('stream');
const END_STREAM = Buffer.from('endstream');
/** How far before a `stream` keyword its dictionary is looked for. */
const DICTIONARY_WINDOW = 2048;

/**
 * Refuses a PDF whose compressed streams inflate to more than `maxBytes` in all, before pdf.js
 * reads it: pdf.js inflates a whole stream into one growing buffer, outside the JavaScript heap
 * (so a worker's `resourceLimits` never sees it), and a 1 MB stream of zeros inflates to 1 GB.
 * Every stream body that starts with a zlib header is inflated here, whatever its dictionary
 * says (pdf.js accepts the same bodies), after undoing an ASCIIHex or ASCII85 wrapping; the
 * output is counted and dropped, so this holds one 64 KiB chunk at a time. A broken stream
 * counts what it gave before it broke, as pdf.js reads it.
 * @returns the inflated bytes counted.
 * @throws CapserveError MEDIA_TOO_LARGE past `maxBytes`.
 */
export async function checkPdfInflatedBytes(bytes: Uint8Array, maxBytes: number): Promise<number> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  for (const { dictionary, body } of pdfStreams(buffer)) {
    const compressed = unwrapAscii(dictionary, body);
    if (!isZlib(compressed)) continue;
    total += await inflatedSize(compressed, maxBytes - total);
    if (total > maxBytes) {
      throw new CapserveError('MEDIA_TOO_LARGE', `the PDF's streams inflate to more than MAX_PDF_INFLATED_BYTES (${maxBytes} bytes)`, {
        details: { limit: 'MAX_PDF_INFLATED_BYTES', max: maxBytes },
      });
    }
  }
  return total;
}

/** Each `stream … endstream` body with the text just before it (its dictionary). */
function* pdfStreams(buffer: Buffer): Generator<{ dictionary: string; body: Buffer }> {
  let at = 0;
  for (;;) {
    const keyword = buffer.indexOf(STREAM, at);
    if (keyword < 0) return;
    at = keyword + STREAM.length;
    // `endstream` contains `stream`: a keyword preceded by "end" is the end of an earlier one.
    if (keyword >= 3 && buffer.toString('latin1', keyword - 3, keyword) === 'end') continue;
    let start = at;
    if (buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
    else if (buffer[start] === 0x0a || buffer[start] === 0x0d) start += 1;
    else continue; // a word that merely ends in "stream"
    const end = buffer.indexOf(END_STREAM, start);
    if (end < 0) return;
    const dictionary = buffer.toString('latin1', Math.max(0, keyword - DICTIONARY_WINDOW), keyword);
    yield { dictionary: dictionary.slice(dictionary.lastIndexOf('obj') + 1), body: buffer.subarray(start, end) };
    at = end + END_STREAM.length;
  }
}

/** A zlib header: deflate method, a window of at most 32 KiB, and the header check. */
function isZlib(body: Buffer): boolean {
  const cmf = body[0] ?? 0;
  const flg = body[1] ?? 0;
  return body.length >= 2 && (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && (cmf * 256 + flg) % 31 === 0;
}

/** The body without an ASCIIHex or ASCII85 layer in front of the compression, as the dictionary names it. */
function unwrapAscii(dictionary: string, body: Buffer): Buffer {
  const first = /\/Filter\s*\[?\s*\/(\w+)/.exec(dictionary)?.[1];
  if (first === 'ASCIIHexDecode' || first === 'AHx') return asciiHexDecode(body);
  if (first === 'ASCII85Decode' || first === 'A85') return ascii85Decode(body);
  return body;
}

function asciiHexDecode(body: Buffer): Buffer {
  const digits = body.toString('latin1').split('>')[0]!.replace(/[^0-9a-fA-F]/g, '');
  return Buffer.from(digits.length % 2 === 0 ? digits : `${digits}0`, 'hex');
}

function ascii85Decode(body: Buffer): Buffer {
  const text = body.toString('latin1').split('~>')[0]!.replace(/\s/g, '').replace(/^<~/, '');
  const out: number[] = [];
  let group: number[] = [];
  const flush = (count: number): void => {
    const padded = [...group, ...Array<number>(5 - group.length).fill(84)];
    const value = padded.reduce((sum, digit) => sum * 85 + digit, 0);
    for (let i = 0; i < count; i += 1) out.push((value >>> (24 - 8 * i)) & 0xff);
    group = [];
  };
  for (const char of text) {
    if (char === 'z' && group.length === 0) {
      out.push(0, 0, 0, 0);
      continue;
    }
    const digit = char.charCodeAt(0) - 33;
    if (digit < 0 || digit > 84) continue;
    group.push(digit);
    if (group.length === 5) flush(4);
  }
  if (group.length > 1) flush(group.length - 1);
  return Buffer.from(out);
}

/** Bytes `compressed` inflates to, stopping a little past `limit`; output is counted, not kept. */
function inflatedSize(compressed: Buffer, limit: number): Promise<number> {
  return new Promise((resolve) => {
    const inflate = createInflate({ chunkSize: 64 * 1024 });
    let total = 0;
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        inflate.destroy();
        resolve(total);
      }
    });
    inflate.once('end', () => resolve(total));
    inflate.once('error', () => resolve(total));
    inflate.once('close', () => resolve(total));
    inflate.end(compressed);
  });
}
