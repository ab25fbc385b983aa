/** The shape of a generated BERT model. */
export interface BertShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** Class labels, in logit order. */
  readonly labels: readonly string[];
}

export const presetNames = ['tiny', 'minilm-l6', 'bert-base'] as const;
export type PresetName = (typeof presetNames)[number];

/**
 * `tiny` is for tests (builds in milliseconds); `minilm-l6` has the shape of
 * all-MiniLM-L6-v2 with a BERT vocabulary size, so its compute cost is realistic; `bert-base`
 * has the shape of bert-base-uncased (110M parameters, about 420 MiB), for the GPU benchmark.
 */
export const presets: Readonly<Record<PresetName, BertShape>> = Object.freeze({
  tiny: { layers: 2, hidden: 32, heads: 2, intermediate: 64, vocabSize: 1000, maxPositions: 128, labels: ['NEGATIVE', 'POSITIVE'] },
  'minilm-l6': {
    layers: 6,
    hidden: 384,
    heads: 12,
    intermediate: 1536,
    vocabSize: 30522,
    maxPositions: 512,
    labels: ['NEGATIVE', 'POSITIVE'],
  },
  'bert-base': {
    layers: 12,
    hidden: 768,
    heads: 12,
    intermediate: 3072,
    vocabSize: 30522,
    maxPositions: 512,
    labels: ['NEGATIVE', 'POSITIVE'],
  },
});

/** Token-type vocabulary (segments A and B), as in BERT. */
export const TYPE_VOCAB_SIZE = 2;
export const LAYER_NORM_EPS = 1e-12;
export const INITIALIZER_RANGE = 0.02;

/** Throws on shapes the graph cannot express. */
export function validateShape(shape: BertShape): void {
  const positive = ['layers', 'hidden', 'heads', 'intermediate', 'vocabSize', 'maxPositions'] as const;
  for (const key of positive) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1) throw new Error(`${key} must be a positive integer, got ${shape[key]}`);
  }
  if (shape.hidden % shape.heads !== 0) {
    throw new Error(`hidden size ${shape.hidden} is not divisible by ${shape.heads} attention heads`);
  }
  if (shape.labels.length === 0) throw new Error('at least one label is needed');
  if (new Set(shape.labels).size !== shape.labels.length) throw new Error(`labels must be distinct: ${shape.labels.join(',')}`);
}

/** config.json in the Hugging Face layout, which transformers.js reads to pick BertForSequenceClassification. */
export function configJson(shape: BertShape, meta: { seed: number; preset: string }): Record<string, unknown> {
  const id2label = Object.fromEntries(shape.labels.map((label, i) => [String(i), label]));
  const label2id = Object.fromEntries(shape.labels.map((label, i) => [label, i]));
  return {
    _name_or_path: `capserve/random-bert-${meta.preset}`,
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hidden,
    initializer_range: INITIALIZER_RANGE,
    intermediate_size: shape.intermediate,
    layer_norm_eps: LAYER_NORM_EPS,
    max_position_embeddings: shape.maxPositions,
    num_attention_heads: shape.heads,
    num_hidden_layers: shape.layers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: TYPE_VOCAB_SIZE,
    vocab_size: shape.vocabSize,
    problem_type: 'single_label_classification',
    id2label,
    label2id,
    // Not read by any library: a marker for people who open the file.
    capserve: {
      random_weights: true,
      seed: meta.seed,
      note: 'Random weights from scripts/generate-bert-onnx.ts: real compute cost, meaningless outputs.',
    },
  };
}
