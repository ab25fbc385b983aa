import path from 'node:path';
import { type PresetName } from '../bert-onnx/bert-config.js';

/** A random-weight ONNX model the benchmark generates on first use (scripts/generate-bert-onnx.ts). */
export interface GeneratedBenchModel {
  readonly preset: PresetName;
  /** Folder under models/generated/. */
  readonly folder: string;
  readonly shape: string;
}

/** The generated models the benchmark knows, by the name `--models` takes. */
export const generatedModels = {
  minilm: { preset: 'minilm-l6', folder: 'minilm-l6-random', shape: 'MiniLM-L6-shaped BERT, RANDOM weights (22.7M parameters)' },
  'bert-base': { preset: 'bert-base', folder: 'bert-base-random', shape: 'BERT-base-shaped, RANDOM weights (109.5M parameters)' },
} as const satisfies Record<string, GeneratedBenchModel>;

export type GeneratedModelName = keyof typeof generatedModels;

export function generatedModelDir(root: string, model: GeneratedModelName): string {
  return path.join(root, 'models', 'generated', generatedModels[model].folder);
}
