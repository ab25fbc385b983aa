/**
 * Writes a whisper.cpp ggml model whose weights are RANDOM (seeded, deterministic): the shapes of
 * an English-only whisper (51864 tokens, 80 mel bands, 30-second windows) with one encoder and
 * one decoder layer of width 32, about 4 MB (matrices f16). whisper.cpp loads and runs it like a real model, so
 * tests exercise the real binding end to end (segments, timing, cancellation) without a
 * download; its text is meaningless.
 *
 *   tsx scripts/speech/generate-whisper-ggml.ts --out models/generated/whisper-random.bin [--seed N]
 *
 * The layout is the one whisper.cpp's models/convert-pt-to-ggml.py writes: the magic, eleven
 * int32 hyper-parameters, the mel filter bank, the vocabulary (length-prefixed bytes), then each
 * tensor as `n_dims, name length, type, dims (innermost first), name, data`. Two things a real
 * model always has are load-bearing for whisper.cpp at run time, not at load: f16 convolution
 * kernels (ftype 1) and a " " token; see `whisperGgmlBytes` and `SPACE_TOKEN`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../capabilities/math/seeded-random.js';

/** "ggml", as whisper.cpp reads it: one little-endian uint32. */
const GGML_MAGIC = 0x67676d6c;

export interface WhisperShape {
  readonly vocab: number;
  readonly audioCtx: number;
  readonly state: number;
  readonly heads: number;
  readonly layers: number;
  readonly textCtx: number;
  readonly mels: number;
}

/** English-only whisper's vocabulary and windows, at toy width and depth. */
export const TINY_RANDOM_WHISPER: WhisperShape = { vocab: 51_864, audioCtx: 1500, state: 32, heads: 2, layers: 1, textCtx: 448, mels: 80 };

/** Tokens below this id are text; the special and timestamp tokens above are named by whisper.cpp itself. */
const TEXT_TOKENS = 50_256;
const N_FFT = 201;

class Writer {
  readonly #parts: Buffer[] = [];

  int32(...values: number[]): void {
    const buffer = Buffer.alloc(4 * values.length);
    values.forEach((value, i) => buffer.writeInt32LE(value, 4 * i));
    this.#parts.push(buffer);
  }

  floats(values: Float32Array): void {
    this.#parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }

  halves(values: Float32Array): void {
    const buffer = Buffer.alloc(2 * values.length);
    values.forEach((value, i) => buffer.writeUInt16LE(toHalf(value), 2 * i));
    this.#parts.push(buffer);
  }

  bytes(value: Buffer): void {
    this.#parts.push(value);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/**
 * IEEE half precision bits of `value`, rounded to nearest (Node 20 has no Float16Array). Covers
 * what the weights here hold: finite values well inside half's range; the tiny ones flush to 0.
 */
export function toHalf(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 0x1f) return sign | 0x7c00;
  // Round the 23-bit mantissa to 10 bits; a carry out of the mantissa correctly bumps the exponent.
  return sign | ((exponent << 10) + (((bits & 0x7fffff) + 0x1000) >>> 13));
}

/**
 * GPT-2's id for a lone space. whisper.cpp looks the token " " up by text (`token_to_id.at(" ")`,
 * to suppress a blank first token) and throws std::out_of_range from the decoder when a vocabulary
 * lacks it, which the binding turns into a transcription that never settles.
 */
const SPACE_TOKEN = 220;

/** Syllables make pronounceable, distinct text tokens: " ka", "lo", " mire", …, and the space. */
function tokenText(id: number): string {
  if (id === SPACE_TOKEN) return ' ';
  const consonants = 'bdfgklmnprstvz';
  const vowels = 'aeiou';
  let text = '';
  let rest = id;
  do {
    text += (consonants[rest % consonants.length] ?? '') + (vowels[Math.floor(rest / consonants.length) % vowels.length] ?? '');
    rest = Math.floor(rest / (consonants.length * vowels.length));
  } while (rest > 0);
  return id % 2 === 0 ? ` ${text}` : text;
}

/** Triangular filters over the 201 FFT bins, evenly spaced: the shape of a mel bank, not its scale. */
function melFilters(mels: number): Float32Array {
  const filters = new Float32Array(mels * N_FFT);
  const spacing = N_FFT / (mels + 1);
  for (let m = 0; m < mels; m += 1) {
    const centre = (m + 1) * spacing;
    for (let bin = 0; bin < N_FFT; bin += 1) filters[m * N_FFT + bin] = Math.max(0, 1 - Math.abs(bin - centre) / spacing);
  }
  return filters;
}

/** The ggml model as bytes. */
export function whisperGgmlBytes(shape: WhisperShape = TINY_RANDOM_WHISPER, seed = 42): Buffer {
  const next = seededRandom(seed);
  const out = new Writer();
  // ftype 1 (mostly f16), as whisper.cpp's converter writes by default. Not ftype 0 (all f32):
  // whisper.cpp then loads the convolution kernels as f32, and ggml's CPU im2col asserts they are
  // f16 (GGML_ASSERT(src0->type == GGML_TYPE_F16) in ggml-cpu/ops.cpp), aborting the process at
  // the first encode.
  out.int32(GGML_MAGIC, shape.vocab, shape.audioCtx, shape.state, shape.heads, shape.layers, shape.textCtx, shape.state, shape.heads, shape.layers, shape.mels, 1);
  out.int32(shape.mels, N_FFT);
  out.floats(melFilters(shape.mels));
  out.int32(TEXT_TOKENS);
  for (let id = 0; id < TEXT_TOKENS; id += 1) {
    const text = Buffer.from(tokenText(id), 'utf8');
    out.int32(text.length);
    out.bytes(text);
  }
  /**
   * `dims` innermost first, as ggml counts them (PyTorch's shape reversed). Matrices and kernels
   * (`*.weight` of two or more dimensions) are f16 (ggml type 1), everything else f32 (type 0):
   * the types whisper.cpp's loader expects of an ftype-1 file.
   */
  const tensor = (name: string, dims: readonly number[], fill: 'random' | 'ones' | 'zeros', scale = 0.2): void => {
    const half = dims.length >= 2 && name.endsWith('.weight');
    const encoded = Buffer.from(name, 'utf8');
    out.int32(dims.length, encoded.length, half ? 1 : 0, ...dims);
    out.bytes(encoded);
    const size = dims.reduce((product, dim) => product * dim, 1);
    const values = new Float32Array(size);
    if (fill === 'ones') values.fill(1);
    else if (fill === 'random') for (let i = 0; i < size; i += 1) values[i] = (next() * 2 - 1) * scale;
    if (half) out.halves(values);
    else out.floats(values);
  };
  const { state: n, mels } = shape;
  const block = (prefix: string, cross: boolean): void => {
    const attention = (kind: string): void => {
      tensor(`${prefix}.${kind}_ln.weight`, [n], 'ones');
      tensor(`${prefix}.${kind}_ln.bias`, [n], 'zeros');
      tensor(`${prefix}.${kind}.query.weight`, [n, n], 'random');
      tensor(`${prefix}.${kind}.query.bias`, [n], 'random');
      tensor(`${prefix}.${kind}.key.weight`, [n, n], 'random');
      tensor(`${prefix}.${kind}.value.weight`, [n, n], 'random');
      tensor(`${prefix}.${kind}.value.bias`, [n], 'random');
      tensor(`${prefix}.${kind}.out.weight`, [n, n], 'random');
      tensor(`${prefix}.${kind}.out.bias`, [n], 'random');
    };
    attention('attn');
    if (cross) attention('cross_attn');
    tensor(`${prefix}.mlp_ln.weight`, [n], 'ones');
    tensor(`${prefix}.mlp_ln.bias`, [n], 'zeros');
    tensor(`${prefix}.mlp.0.weight`, [n, 4 * n], 'random');
    tensor(`${prefix}.mlp.0.bias`, [4 * n], 'random');
    tensor(`${prefix}.mlp.2.weight`, [4 * n, n], 'random');
    tensor(`${prefix}.mlp.2.bias`, [n], 'random');
  };
  tensor('encoder.positional_embedding', [n, shape.audioCtx], 'random');
  tensor('encoder.conv1.weight', [3, mels, n], 'random', 0.05);
  tensor('encoder.conv1.bias', [1, n], 'random');
  tensor('encoder.conv2.weight', [3, n, n], 'random', 0.05);
  tensor('encoder.conv2.bias', [1, n], 'random');
  for (let layer = 0; layer < shape.layers; layer += 1) block(`encoder.blocks.${layer}`, false);
  tensor('encoder.ln_post.weight', [n], 'ones');
  tensor('encoder.ln_post.bias', [n], 'zeros');
  tensor('decoder.positional_embedding', [n, shape.textCtx], 'random');
  tensor('decoder.token_embedding.weight', [n, shape.vocab], 'random', 1);
  for (let layer = 0; layer < shape.layers; layer += 1) block(`decoder.blocks.${layer}`, true);
  tensor('decoder.ln.weight', [n], 'ones');
  tensor('decoder.ln.bias', [n], 'zeros');
  return out.toBuffer();
}

/** Writes the model to `file` (creating its folder) and returns the path. */
export async function writeRandomWhisperModel(file: string, seed = 42): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, whisperGgmlBytes(TINY_RANDOM_WHISPER, seed));
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string' } }, strict: true });
  if (values.out === undefined) {
    console.error('usage: generate-whisper-ggml --out FILE [--seed N]');
    process.exit(2);
  }
  const file = await writeRandomWhisperModel(values.out, values.seed === undefined ? 42 : Number(values.seed));
  console.log(`wrote ${file}`);
}
