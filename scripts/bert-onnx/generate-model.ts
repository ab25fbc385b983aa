import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configJson, presets, validateShape, type BertShape, type PresetName } from './bert-config.js';
import { buildBertGraph } from './bert-graph.js';
import { SeededRandom } from './prng.js';
import { tokenizerConfigJson, tokenizerJson } from './tokenizer-files.js';
import { buildVocabulary } from './vocab.js';

export interface GenerateBertOptions {
  /** Directory to write; created when missing, files in it overwritten. */
  readonly out: string;
  /** Starting shape, which the fields below override. @default "tiny" */
  readonly preset?: PresetName;
  /** PRNG seed; the same seed and shape give byte-identical files. @default 42 */
  readonly seed?: number;
  readonly layers?: number;
  readonly hidden?: number;
  readonly heads?: number;
  readonly intermediate?: number;
  readonly vocab?: number;
  readonly maxPositions?: number;
  /** Class labels in logit order. */
  readonly labels?: readonly string[];
}

export interface GeneratedModel {
  /** Absolute model directory, in the transformers.js local-model layout. */
  readonly dir: string;
  readonly files: {
    readonly config: string;
    readonly tokenizer: string;
    readonly tokenizerConfig: string;
    readonly model: string;
  };
  readonly shape: BertShape;
  /** The config.json that was written. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly seed: number;
  /** Learnable float parameters (embeddings, encoder, pooler, classifier). */
  readonly parameters: number;
  /** Size of onnx/model.onnx. */
  readonly modelBytes: number;
}

export const DEFAULT_SEED = 42;

/**
 * Writes a BERT sequence classifier with random weights: config.json, tokenizer.json,
 * tokenizer_config.json and onnx/model.onnx. Deterministic for a given seed and shape.
 */
export async function generateBertModel(options: GenerateBertOptions): Promise<GeneratedModel> {
  const presetName = options.preset ?? 'tiny';
  const base = presets[presetName];
  if (base === undefined) throw new Error(`unknown preset "${String(presetName)}"`);
  const shape: BertShape = {
    layers: options.layers ?? base.layers,
    hidden: options.hidden ?? base.hidden,
    heads: options.heads ?? base.heads,
    intermediate: options.intermediate ?? base.intermediate,
    vocabSize: options.vocab ?? base.vocabSize,
    maxPositions: options.maxPositions ?? base.maxPositions,
    labels: [...(options.labels ?? base.labels)],
  };
  validateShape(shape);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);

  const vocabulary = buildVocabulary(shape.vocabSize);
  const { bytes, parameters } = buildBertGraph(shape, new SeededRandom(seed));
  const config = configJson(shape, { seed, preset: presetName });

  const dir = path.resolve(options.out);
  const files = {
    config: path.join(dir, 'config.json'),
    tokenizer: path.join(dir, 'tokenizer.json'),
    tokenizerConfig: path.join(dir, 'tokenizer_config.json'),
    model: path.join(dir, 'onnx', 'model.onnx'),
  };
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  await mkdir(path.dirname(files.model), { recursive: true });
  await Promise.all([
    writeFile(files.config, json(config)),
    writeFile(files.tokenizer, json(tokenizerJson(vocabulary))),
    writeFile(files.tokenizerConfig, json(tokenizerConfigJson(shape.maxPositions))),
    writeFile(files.model, bytes),
  ]);
  return { dir, files, shape, config, seed, parameters, modelBytes: bytes.byteLength };
}
