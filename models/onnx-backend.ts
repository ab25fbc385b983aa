import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { CapserveError, isCapserveError } from '../core/errors.js';
import { deviceError } from './devices/device-error.js';
import { DeviceGuard } from './devices/device-guard.js';
import { openPlacedSession, type PlacedSession } from './devices/open-session.js';
import { hfMaxTokens, openHfTokenizer } from './hf-tokenizer.js';
import { PaddingCounter, type PaddingStats, planBuckets } from './length-buckets.js';
import { describeSource, resolveModelSource } from './resolve-source.js';
import { type BackendLoader, type LoadOptions, type ModelBackend, type ModelInfo, type ModelSpec } from './types.js';
import { encodeTruncated, type SpecialFrame, specialFrame } from './truncate-tokens.js';

/** Where a model directory may keep its graph, in order of preference (transformers.js layout first). */
const MODEL_FILES = ['onnx/model.onnx', 'model.onnx'] as const;

function loadError(spec: ModelSpec, where: string, reason: string, cause?: unknown): CapserveError {
  return new CapserveError('MODEL_LOAD_FAILED', `model "${spec.name}": ${reason} (${where})`, {
    details: { model: spec.name, path: where },
    cause,
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The subset of config.json this backend reads. */
interface ModelConfig {
  readonly hidden_size?: unknown;
  readonly id2label?: unknown;
}

/** Labels in logit order: id2label sorted by its numeric keys. */
function labelsOf(config: ModelConfig): string[] | undefined {
  if (typeof config.id2label !== 'object' || config.id2label === null) return undefined;
  const entries = Object.entries(config.id2label as Record<string, unknown>).map(([id, label]) => [Number(id), String(label)] as const);
  entries.sort((a, b) => a[0] - b[0]);
  if (entries.some(([id], i) => id !== i)) return undefined;
  return entries.map(([, label]) => label);
}

/** Session options for every device. */
function sessionOptions(options: LoadOptions): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    // Idle intra-op threads sleep instead of spinning: spinning threads take the cores the event
    // loop (HTTP, JSON, the next batch) and the other instances need.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
  };
}

/** Mean of the token vectors whose mask is 1, or the first ([CLS]) vector. */
function pool(hidden: Float32Array, mask: BigInt64Array, row: number, sequence: number, width: number, pooling: 'mean' | 'cls'): Float32Array {
  const start = row * sequence * width;
  if (pooling === 'cls') return hidden.slice(start, start + width);
  const out = new Float32Array(width);
  let count = 0;
  for (let token = 0; token < sequence; token++) {
    if (mask[row * sequence + token] === 0n) continue;
    count++;
    const offset = start + token * width;
    for (let k = 0; k < width; k++) out[k] = (out[k] ?? 0) + (hidden[offset + k] ?? 0);
  }
  if (count > 0) for (let k = 0; k < width; k++) out[k] = (out[k] ?? 0) / count;
  return out;
}

/**
 * A raw onnxruntime-node session over a local model directory (config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx or model.onnx). Texts are tokenised with the model's own
 * tokenizer through transformers.js, truncated to `spec.maxLength`, and run in length buckets, each
 * padded to its own longest text. Outputs: `logits` rows (classification) or pooled `last_hidden_state` (embedding).
 */
export const loadOnnxBackend: BackendLoader = async (spec, options) => {
  const source = resolveModelSource(spec, options);
  if (source.kind === 'hub') {
    throw loadError(spec, describeSource(source), 'the onnx backend loads local directories only; use backend "transformers" for hub ids');
  }
  const dir = source.dir;
  if (!(await isDirectory(dir))) throw loadError(spec, dir, 'the model directory does not exist');

  let modelFile: string | undefined;
  for (const candidate of MODEL_FILES) {
    if (await exists(path.join(dir, candidate))) {
      modelFile = path.join(dir, candidate);
      break;
    }
  }
  if (modelFile === undefined) {
    throw loadError(spec, dir, `no ${MODEL_FILES.join(' or ')} in the model directory`);
  }

  const configFile = path.join(dir, 'config.json');
  let config: ModelConfig;
  try {
    config = JSON.parse(await readFile(configFile, 'utf8')) as ModelConfig;
  } catch (error) {
    throw loadError(spec, configFile, 'cannot read config.json', error);
  }

  const labels = spec.task === 'classification' ? labelsOf(config) : undefined;
  if (spec.task === 'classification' && labels === undefined) {
    throw loadError(spec, configFile, 'a classification model needs id2label with ids 0..n-1 in config.json');
  }
  const dimensions = spec.task === 'classification' ? (labels?.length ?? 0) : Number(config.hidden_size);
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw loadError(spec, configFile, 'an embedding model needs hidden_size in config.json');
  }

  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await openHfTokenizer(source);
  } catch (error) {
    throw loadError(spec, path.join(dir, 'tokenizer.json'), 'cannot load the tokenizer', error);
  }

  let opened: PlacedSession;
  try {
    opened = await openPlacedSession(modelFile, spec.device ?? options.device, sessionOptions(options));
  } catch (error) {
    if (isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE') throw deviceError(spec, error);
    throw loadError(spec, modelFile, `onnxruntime cannot open the model: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const { session, placement } = opened;
  const outputName = spec.task === 'classification' ? 'logits' : 'last_hidden_state';
  if (!session.outputNames.includes(outputName)) {
    await session.release();
    throw loadError(spec, modelFile, `the graph has no "${outputName}" output (outputs: ${session.outputNames.join(', ')})`);
  }

  const info: ModelInfo = Object.freeze({
    name: spec.name,
    backend: 'onnx',
    task: spec.task,
    ...placement,
    source: dir,
    ...(labels === undefined ? {} : { labels: Object.freeze(labels) }),
    dimensions,
    maxTokens: hfMaxTokens(spec, tokenizer),
  });

  const backend = new OnnxBackend(info, spec, tokenizer, session, outputName);
  try {
    // One call now compiles an accelerator's kernels (WebGPU shaders) and sizes its buffers, so
    // the first request does not pay for it, and a device that opens but cannot run fails here.
    await backend.run(['warm up']);
  } catch (error) {
    await session.release();
    throw loadError(spec, modelFile, `the first run on ${placement.device} failed: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return backend;
};

class OnnxBackend implements ModelBackend {
  readonly info: ModelInfo;
  readonly #spec: ModelSpec;
  readonly #tokenizer: PreTrainedTokenizer;
  readonly #frame: SpecialFrame;
  readonly #session: ort.InferenceSession;
  readonly #outputName: string;
  readonly #padId: number;
  readonly #padding = new PaddingCounter();
  readonly #device: DeviceGuard;

  constructor(info: ModelInfo, spec: ModelSpec, tokenizer: PreTrainedTokenizer, session: ort.InferenceSession, outputName: string) {
    this.info = info;
    this.#device = new DeviceGuard(info.name, info);
    this.#spec = spec;
    this.#tokenizer = tokenizer;
    this.#frame = specialFrame(tokenizer);
    this.#padId = typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : 0;
    this.#session = session;
    this.#outputName = outputName;
  }

  /**
   * Tokenises without padding, groups the texts by length ({@link planBuckets}) and runs one
   * session call per group, each padded only to its own longest text; outputs come back in input order.
   */
  async run(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const encoded = encodeTruncated(this.#tokenizer, this.#frame, texts, this.info.maxTokens);
    const ids = encoded.input_ids;
    const outputs = new Array<Float32Array>(texts.length);
    for (const bucket of planBuckets(ids.map((row) => row.length))) {
      const rows = bucket.map((i) => ids[i] ?? []);
      const vectors = await this.#runPadded(rows, bucket.map((i) => encoded.token_type_ids?.[i]));
      bucket.forEach((index, k) => {
        outputs[index] = vectors[k] ?? new Float32Array(this.info.dimensions);
      });
    }
    return outputs;
  }

  padding(): PaddingStats {
    return this.#padding.snapshot();
  }

  alive(): boolean {
    return this.#device.alive;
  }

  /** One session call over token rows padded to the longest of them. */
  async #runPadded(rows: readonly number[][], typeRows: readonly (number[] | undefined)[]): Promise<Float32Array[]> {
    const batch = rows.length;
    const sequence = Math.max(1, ...rows.map((row) => row.length));
    this.#padding.add(rows.map((row) => row.length), sequence);
    const inputIds = new BigInt64Array(batch * sequence).fill(BigInt(this.#padId));
    const mask = new BigInt64Array(batch * sequence);
    const types = new BigInt64Array(batch * sequence);
    rows.forEach((row, r) => {
      const typeRow = typeRows[r];
      row.forEach((id, k) => {
        inputIds[r * sequence + k] = BigInt(id);
        mask[r * sequence + k] = 1n;
        types[r * sequence + k] = BigInt(typeRow?.[k] ?? 0);
      });
    });
    const available: Record<string, BigInt64Array> = { input_ids: inputIds, attention_mask: mask, token_type_ids: types };
    const feeds: Record<string, ort.Tensor> = {};
    // Feed only what the graph declares: some exports drop token_type_ids, others need it even
    // when the tokenizer does not produce it (then it is all zeros, segment A).
    for (const name of this.#session.inputNames) {
      const data = available[name];
      if (data === undefined) throw new Error(`model "${this.info.name}" needs input "${name}", which the tokenizer does not produce`);
      feeds[name] = new ort.Tensor('int64', data, [batch, sequence]);
    }

    const results = await this.#device.run(() => this.#session.run(feeds, [this.#outputName]));
    const output = results[this.#outputName];
    if (output === undefined) throw new Error(`model "${this.info.name}" returned no "${this.#outputName}"`);
    try {
      const values = output.data;
      if (!(values instanceof Float32Array)) throw new Error(`model "${this.info.name}" returned ${output.type}, not float32`);
      const width = this.info.dimensions;
      const expected = this.info.task === 'classification' ? [batch, width] : [batch, sequence, width];
      if (output.dims.length !== expected.length || output.dims.some((d, i) => d !== expected[i])) {
        throw new Error(`model "${this.info.name}" returned ${this.#outputName} [${output.dims.join(', ')}], expected [${expected.join(', ')}]`);
      }
      if (this.info.task === 'classification') {
        return Array.from({ length: batch }, (_, row) => values.slice(row * width, (row + 1) * width));
      }
      return Array.from({ length: batch }, (_, row) => pool(values, mask, row, sequence, width, this.#spec.pooling));
    } finally {
      output.dispose();
    }
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
