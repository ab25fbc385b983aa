/**
 * Writes a BERT-architecture ONNX model whose weights are RANDOM (seeded, deterministic).
 * It has the compute cost of the real architecture, so it serves tests and benchmarks
 * without downloads, but its outputs are meaningless: never use it for real predictions.
 *
 *   tsx scripts/generate-bert-onnx.ts --preset tiny --out models/generated/tiny-bert
 *   tsx scripts/generate-bert-onnx.ts --preset minilm-l6 --out DIR [--seed N]
 *     [--layers N --hidden N --heads N --intermediate N --vocab N --labels a,b,c]
 *
 * Layout (transformers.js local model): config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { presetNames, type PresetName } from './bert-onnx/bert-config.js';
import { generateBertModel, type GenerateBertOptions } from './bert-onnx/generate-model.js';

export { generateBertModel, DEFAULT_SEED, type GenerateBertOptions, type GeneratedModel } from './bert-onnx/generate-model.js';
export { presets, presetNames, type BertShape, type PresetName } from './bert-onnx/bert-config.js';

const usage = `usage: generate-bert-onnx --out DIR [--preset ${presetNames.join('|')}] [--seed N]
  [--layers N] [--hidden N] [--heads N] [--intermediate N] [--vocab N] [--max-positions N] [--labels a,b,c]`;

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new Error(`--${flag} needs an integer, got "${value}"`);
  return Number(value);
}

/** Parses the command line into generator options; throws with a usage line on bad input. */
export function parseCliOptions(argv: readonly string[]): GenerateBertOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      out: { type: 'string' },
      preset: { type: 'string' },
      seed: { type: 'string' },
      layers: { type: 'string' },
      hidden: { type: 'string' },
      heads: { type: 'string' },
      intermediate: { type: 'string' },
      vocab: { type: 'string' },
      'max-positions': { type: 'string' },
      labels: { type: 'string' },
    },
  });
  if (values.out === undefined) throw new Error(`--out is required\n${usage}`);
  const preset = values.preset ?? 'tiny';
  if (!(presetNames as readonly string[]).includes(preset)) throw new Error(`unknown preset "${preset}"\n${usage}`);
  const labels = values.labels?.split(',').map((label) => label.trim());
  return {
    out: values.out,
    preset: preset as PresetName,
    seed: integer('seed', values.seed),
    layers: integer('layers', values.layers),
    hidden: integer('hidden', values.hidden),
    heads: integer('heads', values.heads),
    intermediate: integer('intermediate', values.intermediate),
    vocab: integer('vocab', values.vocab),
    maxPositions: integer('max-positions', values['max-positions']),
    labels,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const model = await generateBertModel(parseCliOptions(process.argv.slice(2)));
  const { shape } = model;
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.log(`wrote a RANDOM-weight BERT (seed ${model.seed}) to ${model.dir} in ${seconds} s`);
  for (const file of Object.values(model.files)) console.log(`  ${file}`);
  console.log(
    `  ${shape.layers} layers, hidden ${shape.hidden}, ${shape.heads} heads, intermediate ${shape.intermediate}, ` +
      `vocab ${shape.vocabSize}, max positions ${shape.maxPositions}, labels ${shape.labels.join(',')}`,
  );
  console.log(`  ${model.parameters.toLocaleString('en-US')} parameters, model.onnx ${(model.modelBytes / 1048576).toFixed(1)} MiB`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
