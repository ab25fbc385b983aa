import { CapserveError } from '../../../core/errors.js';
import { checkTexts, type TextLimits } from '../../check-texts.js';
import { readBytesElements } from './binary-tensors.js';
import { textInput } from './model-signature.js';
import { type InferRequest, type RequestInput } from './types.js';

const invalid = (message: string): CapserveError => new CapserveError('VALIDATION_ERROR', message);

/**
 * The texts of an inference request: its one BYTES input `text` of shape [n] or [n, 1], as JSON
 * `data` (flat, or nested as the shape) or as `binary_data_size` bytes of the binary section.
 * Everything is checked before a text reaches the batcher: the input's name, type and shape,
 * the text count against MAX_TEXTS_PER_REQUEST before any element is decoded, the element count
 * against the shape, every binary length, and each text as `/classify` checks it.
 */
export function readTexts(request: InferRequest, binary: Buffer, limits: TextLimits): string[] {
  const [input, ...others] = request.inputs;
  if (input === undefined || others.length > 0) {
    throw invalid(`the model takes exactly one input, "${textInput}"; the request has ${request.inputs.length}`);
  }
  if (input.name !== textInput) throw invalid(`unknown input "${input.name}"; the model's input is "${textInput}"`);
  if (input.datatype !== 'BYTES') throw invalid(`input "${textInput}" has datatype ${input.datatype}; the model takes BYTES`);
  const count = countOf(input.shape);
  if (count > limits.maxTextsPerRequest) {
    throw new CapserveError('TOO_MANY_TEXTS', `input "${textInput}" has ${count} texts; the limit is ${limits.maxTextsPerRequest} per request`, {
      details: { limit: limits.maxTextsPerRequest },
    });
  }
  const texts = binarySize(input) === undefined ? jsonTexts(input, binary, count) : binaryTexts(input, binary, count);
  const empty = texts.findIndex((text) => text.length === 0);
  if (empty !== -1) throw new CapserveError('VALIDATION_ERROR', `text ${empty} is empty`, { details: { index: empty } });
  checkTexts(texts, limits);
  return texts;
}

/** n for shape [n] or [n, 1]. */
function countOf(shape: readonly number[]): number {
  const [count, width, ...rest] = shape;
  if (count === undefined || rest.length > 0 || (width !== undefined && width !== 1)) {
    throw invalid(`input "${textInput}" has shape [${shape.join(', ')}]; the model takes [n] or [n, 1]`);
  }
  if (count === 0) throw invalid(`input "${textInput}" has no texts; give at least one`);
  return count;
}

/** `parameters.binary_data_size`, checked; undefined when the input is JSON. */
function binarySize(input: RequestInput): number | undefined {
  const size = input.parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`input "${input.name}" parameter binary_data_size must be a non-negative integer`);
  }
  return size;
}

function binaryTexts(input: RequestInput, binary: Buffer, count: number): string[] {
  if (input.data !== undefined) throw invalid(`input "${input.name}" gives both data and binary_data_size; give one`);
  const size = binarySize(input) ?? 0;
  // One input, so its tensor is the whole binary section: a size that disagrees is a lie either way.
  if (size !== binary.length) {
    throw invalid(`input "${input.name}" says binary_data_size ${size} but ${binary.length} bytes follow the JSON header`);
  }
  return readBytesElements(binary, count, input.name);
}

function jsonTexts(input: RequestInput, binary: Buffer, count: number): string[] {
  if (binary.length > 0) throw invalid(`${binary.length} bytes of binary data follow the JSON header but no input has binary_data_size`);
  if (input.data === undefined) throw invalid(`input "${input.name}" has neither data nor binary_data_size`);
  if (!Array.isArray(input.data)) throw invalid(`input "${input.name}" data must be an array`);
  const data: readonly unknown[] = input.data;
  // The spec allows the natural nested form ([[a], [b]] for [n, 1]) or the flat one; nothing deeper.
  const nested = input.shape.length === 2 && data.length > 0 && data.every(Array.isArray);
  const flat = nested ? (data as unknown[][]).map((row, i) => onlyElement(row, i, input.name)) : data;
  if (flat.length !== count) {
    throw invalid(`input "${input.name}" has ${flat.length} elements but its shape [${input.shape.join(', ')}] says ${count}`);
  }
  const bad = flat.findIndex((element) => typeof element !== 'string');
  if (bad !== -1) throw invalid(`input "${input.name}" element ${bad} is not a string (BYTES elements are strings)`);
  return flat as string[];
}

function onlyElement(row: unknown[], index: number, name: string): unknown {
  if (row.length !== 1) throw invalid(`input "${name}" row ${index} has ${row.length} elements; shape [n, 1] rows have one`);
  return row[0];
}
