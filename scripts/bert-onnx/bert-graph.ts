import { INITIALIZER_RANGE, LAYER_NORM_EPS, TYPE_VOCAB_SIZE, type BertShape } from './bert-config.js';
import { GraphBuilder } from './onnx-builder.js';
import { type SeededRandom } from './prng.js';

/** Operator set 17 is the first with LayerNormalization in the default domain. */
export const OPSET = 17;

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';

/**
 * Padding positions get this added to their attention scores: large enough that
 * their softmax weight underflows to exactly 0 in float32, small enough to stay finite.
 */
const MASK_BIAS = -1e4;

export interface BuiltGraph {
  readonly bytes: Uint8Array;
  readonly parameters: number;
}

/**
 * Builds a BERT encoder with a pooler and a sequence-classification head, as the
 * Hugging Face ONNX export lays it out: inputs input_ids / attention_mask / token_type_ids
 * ([batch, sequence] int64), outputs last_hidden_state [batch, sequence, hidden] and logits [batch, labels].
 * Weight matrices are stored [in, out] so that they feed MatMul/Gemm without a transpose.
 */
export function buildBertGraph(shape: BertShape, random: SeededRandom): BuiltGraph {
  const g = new GraphBuilder();
  const { hidden, heads, intermediate } = shape;
  const headDim = hidden / heads;

  /*
   * Embedding tables use BERT's initializer_range (0.02). Matrices use 1/sqrt(fan_in) instead
   * (0.05 and 0.026 at MiniLM's size): at 0.02 a random BERT attends uniformly and gives every
   * text nearly the same logits (1e-5 apart), so padding and mask bugs would hide under any
   * reasonable test tolerance. With fan-in scaling the outputs visibly depend on every token.
   */
  const embedding = (name: string, rows: number): string =>
    g.float(name, [rows, hidden], random.normals(rows * hidden, INITIALIZER_RANGE));
  const weight = (name: string, rows: number, cols: number): string =>
    g.float(name, [rows, cols], random.normals(rows * cols, 1 / Math.sqrt(rows)));
  const zeros = (name: string, size: number): string => g.float(name, [size], new Float32Array(size));
  const ones = (name: string, size: number): string => g.float(name, [size], new Float32Array(size).fill(1));
  const scalar = (name: string, value: number): string => g.float(name, [], Float32Array.of(value), false);

  /** x·W + b, with W [inDim, outDim]. */
  const dense = (x: string, name: string, inDim: number, outDim: number): string => {
    const product = g.node('MatMul', [x, weight(`${name}.weight`, inDim, outDim)], `${name}/MatMul`);
    return g.node('Add', [product, zeros(`${name}.bias`, outDim)], `${name}/Add`);
  };
  const layerNorm = (x: string, name: string, output?: string): string =>
    g.node(
      'LayerNormalization',
      [x, ones(`${name}.weight`, hidden), zeros(`${name}.bias`, hidden)],
      `${name}/LayerNormalization`,
      { axis: -1, epsilon: { float: LAYER_NORM_EPS } },
      output,
    );

  const inputIds = g.input('input_ids', 'int64', [BATCH, SEQUENCE]);
  const attentionMask = g.input('attention_mask', 'int64', [BATCH, SEQUENCE]);
  const tokenTypeIds = g.input('token_type_ids', 'int64', [BATCH, SEQUENCE]);

  // Shared constants.
  const one = scalar('const.one', 1);
  const maskBias = scalar('const.mask_bias', MASK_BIAS);
  const sqrt2 = scalar('const.sqrt2', Math.SQRT2);
  const half = scalar('const.half', 0.5);
  const attentionScale = scalar('const.attention_scale', 1 / Math.sqrt(headDim));
  const zeroStart = g.int64('const.zero_1d', [1], [0]);
  const axisZero = g.int64('const.axis0_1d', [1], [0]);
  const maskAxes = g.int64('const.mask_axes', [2], [1, 2]);
  const clsIndex = g.int64('const.cls_index', [], [0]);
  const splitHeads = g.int64('const.split_heads_shape', [4], [0, 0, heads, headDim]);
  const mergeHeads = g.int64('const.merge_heads_shape', [3], [0, 0, hidden]);
  const positionIds = g.int64(
    'bert.embeddings.position_ids',
    [shape.maxPositions],
    Array.from({ length: shape.maxPositions }, (_, i) => i),
  );

  // Embeddings: word + position + token type, then LayerNorm.
  const e = 'bert.embeddings';
  const words = g.node('Gather', [embedding(`${e}.word_embeddings.weight`, shape.vocabSize), inputIds], `${e}/word/Gather`, { axis: 0 });
  const sequenceLength = g.node('Shape', [inputIds], `${e}/Shape`, { start: 1, end: 2 });
  const positionSlice = g.node('Slice', [positionIds, zeroStart, sequenceLength, axisZero], `${e}/position_ids/Slice`);
  const positions = g.node('Gather', [embedding(`${e}.position_embeddings.weight`, shape.maxPositions), positionSlice], `${e}/position/Gather`, { axis: 0 });
  const types = g.node('Gather', [embedding(`${e}.token_type_embeddings.weight`, TYPE_VOCAB_SIZE), tokenTypeIds], `${e}/token_type/Gather`, { axis: 0 });
  const withPositions = g.node('Add', [words, positions], `${e}/Add_position`);
  const summed = g.node('Add', [withPositions, types], `${e}/Add_token_type`);
  let x = layerNorm(summed, `${e}.LayerNorm`);

  // Additive attention bias (1 - mask) * -1e4, shaped [batch, 1, 1, sequence] to broadcast over heads and queries.
  const maskFloat = g.node('Cast', [attentionMask], 'mask/Cast', { to: 1 });
  const inverted = g.node('Sub', [one, maskFloat], 'mask/Sub');
  const bias = g.node('Mul', [inverted, maskBias], 'mask/Mul');
  const bias4d = g.node('Unsqueeze', [bias, maskAxes], 'mask/Unsqueeze');

  for (let layer = 0; layer < shape.layers; layer++) {
    const p = `bert.encoder.layer.${layer}`;
    const last = layer === shape.layers - 1;
    // [batch, seq, hidden] -> [batch, heads, seq, headDim]; keys go to [batch, heads, headDim, seq] directly.
    const project = (name: string, perm: readonly number[]): string => {
      const projected = dense(x, `${p}.attention.self.${name}`, hidden, hidden);
      const split = g.node('Reshape', [projected, splitHeads], `${p}.attention.self.${name}/Reshape`);
      return g.node('Transpose', [split], `${p}.attention.self.${name}/Transpose`, { perm });
    };
    const query = project('query', [0, 2, 1, 3]);
    const key = project('key', [0, 2, 3, 1]);
    const value = project('value', [0, 2, 1, 3]);

    const scores = g.node('MatMul', [query, key], `${p}.attention.self/scores/MatMul`);
    const scaled = g.node('Mul', [scores, attentionScale], `${p}.attention.self/scores/Mul`);
    const masked = g.node('Add', [scaled, bias4d], `${p}.attention.self/scores/Add_mask`);
    const probabilities = g.node('Softmax', [masked], `${p}.attention.self/Softmax`, { axis: -1 });
    const context = g.node('MatMul', [probabilities, value], `${p}.attention.self/context/MatMul`);
    const contextT = g.node('Transpose', [context], `${p}.attention.self/context/Transpose`, { perm: [0, 2, 1, 3] });
    const merged = g.node('Reshape', [contextT, mergeHeads], `${p}.attention.self/context/Reshape`);

    const attentionOut = dense(merged, `${p}.attention.output.dense`, hidden, hidden);
    const attentionResidual = g.node('Add', [attentionOut, x], `${p}.attention.output/Add_residual`);
    const attended = layerNorm(attentionResidual, `${p}.attention.output.LayerNorm`);

    // FFN with exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))).
    const h = dense(attended, `${p}.intermediate.dense`, hidden, intermediate);
    const erf = g.node('Erf', [g.node('Div', [h, sqrt2], `${p}.intermediate.gelu/Div`)], `${p}.intermediate.gelu/Erf`);
    const gate = g.node('Add', [erf, one], `${p}.intermediate.gelu/Add`);
    const gelu = g.node('Mul', [g.node('Mul', [h, gate], `${p}.intermediate.gelu/Mul`), half], `${p}.intermediate.gelu/Mul_half`);
    const ffnOut = dense(gelu, `${p}.output.dense`, intermediate, hidden);
    const ffnResidual = g.node('Add', [ffnOut, attended], `${p}.output/Add_residual`);
    x = layerNorm(ffnResidual, `${p}.output.LayerNorm`, last ? 'last_hidden_state' : undefined);
  }

  // Pooler on [CLS], then the classifier.
  const cls = g.node('Gather', [x, clsIndex], 'bert.pooler/Gather_cls', { axis: 1 });
  const pooledLinear = g.node(
    'Gemm',
    [cls, weight('bert.pooler.dense.weight', hidden, hidden), zeros('bert.pooler.dense.bias', hidden)],
    'bert.pooler.dense/Gemm',
  );
  const pooled = g.node('Tanh', [pooledLinear], 'bert.pooler/Tanh');
  const labels = shape.labels.length;
  g.node('Gemm', [pooled, weight('classifier.weight', hidden, labels), zeros('classifier.bias', labels)], 'classifier/Gemm', {}, 'logits');

  g.output('last_hidden_state', 'float', [BATCH, SEQUENCE, hidden]);
  g.output('logits', 'float', [BATCH, labels]);

  const bytes = g.encode({
    graphName: 'bert_random',
    opset: OPSET,
    producer: 'capserve-generate-bert-onnx',
    docString: 'BERT with random weights: the compute cost of the real architecture, meaningless outputs.',
  });
  return { bytes, parameters: g.parameterCount };
}
