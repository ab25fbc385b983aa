import { CapserveError } from '../../../core/errors.js';
import { decodeUtf8 } from './infer-body.js';

/**
 * The binary tensor data extension's element encodings: little-endian, row-major, no padding;
 * a BYTES element is a 4-byte unsigned length followed by that many bytes.
 */

/**
 * Reads exactly `count` BYTES elements that fill `bytes` exactly, each as well-formed UTF-8
 * text. Every length is checked against the bytes left before anything is sliced, so a length
 * that lies cannot read past the tensor.
 */
export function readBytesElements(bytes: Buffer, count: number, tensor: string): string[] {
  const texts: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (texts.length === count) {
      throw new CapserveError('VALIDATION_ERROR', `input "${tensor}" has ${bytes.length - offset} bytes after its ${count} elements`);
    }
    if (offset + 4 > bytes.length) {
      throw new CapserveError('VALIDATION_ERROR', `input "${tensor}" element ${texts.length}: ${bytes.length - offset} bytes left, too few for a 4-byte length`);
    }
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (length > bytes.length - offset) {
      throw new CapserveError('VALIDATION_ERROR', `input "${tensor}" element ${texts.length} claims ${length} bytes but only ${bytes.length - offset} remain`, {
        details: { index: texts.length },
      });
    }
    texts.push(decodeUtf8(bytes.subarray(offset, offset + length), `input "${tensor}" element ${texts.length}`));
    offset += length;
  }
  if (texts.length !== count) {
    throw new CapserveError('VALIDATION_ERROR', `input "${tensor}" has ${texts.length} elements in its binary data but its shape says ${count}`);
  }
  return texts;
}

/** BYTES elements as binary tensor data. */
export function bytesTensor(values: readonly string[]): Buffer {
  const encoded = values.map((value) => Buffer.from(value, 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((sum, bytes) => sum + 4 + bytes.length, 0));
  let offset = 0;
  for (const bytes of encoded) {
    offset = out.writeUInt32LE(bytes.length, offset);
    offset += bytes.copy(out, offset);
  }
  return out;
}

/** FP32 elements as binary tensor data (float64 values are rounded to the nearest float32). */
export function fp32Tensor(values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(values.length * 4);
  values.forEach((value, i) => out.writeFloatLE(value, i * 4));
  return out;
}
