import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  env,
  mean_pooling,
  pipeline,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { CapserveError, isCapserveError } from '../core/errors.js';
import { type Placement } from './devices/device.js';
import { deviceError } from './devices/device-error.js';
import { placeOnDevice } from './devices/place.js';
import { DeviceGuard } from './devices/device-guard.js';
import { hfMaxTokens } from './hf-tokenizer.js';
import { encodeTruncated, type EncodedRows, type SpecialFrame, specialFrame } from './truncate-tokens.js';
import { PaddingCounter, type PaddingStats, planBuckets } from './length-buckets.js';
import { describeSource, resolveModelSource } from './resolve-source.js';
import { type BackendLoader, type LoadOptions, type ModelBackend, type ModelInfo, type ModelSpec } from './types.js';

function loadError(spec: ModelSpec, where: string, reason: string, cause?: unknown): CapserveError {
  return new CapserveError('MODEL_LOAD_FAILED', `model "${spec.name}": ${reason} (${where})`, {
    details: { model: spec.name, path: where },
    cause,
  });
}

/** What this backend uses of a transformers.js pipeline: its tokenizer and model, and disposal. */
interface LoadedPipeline {
  readonly tokenizer: PreTrainedTokenizer;
  readonly model: PreTrainedModel;
  dispose(): Promise<void>;
}

/** Opens the pipeline on the requested device ({@link placeOnDevice}). */
async function openPipeline(spec: ModelSpec, modelId: string, local: boolean, options: LoadOptions): Promise<{ pipe: LoadedPipeline; placement: Placement }> {
  const task = spec.task === 'classification' ? 'text-classification' : 'feature-extraction';
  const { opened, placement } = await placeOnDevice<LoadedPipeline>(spec.device ?? options.device, {
    open: (device) =>
      pipeline(task, modelId, {
        dtype: 'fp32',
        device,
        local_files_only: local,
        session_options: {
          graphOptimizationLevel: 'all',
          ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
        },
      }),
    release: (pipe) => pipe.dispose(),
  });
  return { pipe: opened, placement };
}

function labelsOf(config: unknown): string[] | undefined {
  const id2label = (config as { id2label?: unknown } | undefined)?.id2label;
  if (typeof id2label !== 'object' || id2label === null) return undefined;
  const entries = Object.entries(id2label as Record<string, unknown>).map(([id, label]) => [Number(id), String(label)] as const);
  entries.sort((a, b) => a[0] - b[0]);
  return entries.every(([id], i) => id === i) ? entries.map(([, label]) => label) : undefined;
}

/**
 * A transformers.js pipeline ('text-classification' or 'feature-extraction') in fp32.
 *
 * The pipeline loads the tokenizer and model, but `run` calls them directly rather than the
 * pipeline itself, for two reasons: classification must return raw logits in label order (the
 * pipeline returns softmaxed top-k scores), and both tasks must truncate to `spec.maxLength`
 * (the pipeline always truncates to the tokenizer's model_max_length). Embedding pooling uses
 * transformers.js's own `mean_pooling` (mask-aware) or the [CLS] vector, as the
 * feature-extraction pipeline does with `{ pooling, normalize: false }`.
 *
 * Local directories are passed as absolute paths, which transformers.js v4 reads directly and
 * never mistakes for hub ids. `env.allowRemoteModels` is global to transformers.js; it is set
 * from the server configuration, the same for every model.
 */
export const loadTransformersBackend: BackendLoader = async (spec, options) => {
  const source = resolveModelSource(spec, options);
  if (source.kind === 'hub' && !options.allowRemoteModels) {
    throw loadError(
      spec,
      describeSource(source),
      `downloading hub id "${source.id}" is disabled; set ALLOW_REMOTE_MODELS=1 to allow it, or give a local "path"`,
    );
  }
  if (source.kind === 'dir') {
    const isDirectory = await stat(source.dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isDirectory) throw loadError(spec, source.dir, 'the model directory does not exist');
    const configFile = path.join(source.dir, 'config.json');
    try {
      await access(configFile);
    } catch (error) {
      throw loadError(spec, configFile, 'no config.json in the model directory', error);
    }
  }

  env.allowLocalModels = true;
  env.allowRemoteModels = options.allowRemoteModels;
  const modelId = source.kind === 'dir' ? source.dir : source.id;

  let opened: { pipe: LoadedPipeline; placement: Placement };
  try {
    opened = await openPipeline(spec, modelId, source.kind === 'dir', options);
  } catch (error) {
    if (isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE') throw deviceError(spec, error);
    const reason = error instanceof Error ? error.message : String(error);
    throw loadError(spec, describeSource(source), `transformers.js cannot load the model: ${reason}`, error);
  }
  const { pipe, placement } = opened;

  const labels = spec.task === 'classification' ? labelsOf(pipe.model.config) : undefined;
  if (spec.task === 'classification' && labels === undefined) {
    await pipe.dispose();
    throw loadError(spec, describeSource(source), 'a classification model needs id2label with ids 0..n-1 in config.json');
  }

  const backend = new TransformersBackend(spec, pipe, placement);
  try {
    // One probe text tells the output width whatever the config calls it, and fails now, not on the first request.
    const [probe] = await backend.forward(['dimension probe']);
    const dimensions = probe?.length ?? 0;
    if (labels !== undefined && labels.length !== dimensions) {
      throw new Error(`config.json has ${labels.length} labels but the model returns ${dimensions} logits`);
    }
    backend.info = Object.freeze({
      name: spec.name,
      backend: 'transformers',
      task: spec.task,
      ...placement,
      source: describeSource(source),
      ...(labels === undefined ? {} : { labels: Object.freeze(labels) }),
      dimensions,
      maxTokens: hfMaxTokens(spec, pipe.tokenizer),
    });
  } catch (error) {
    await pipe.dispose();
    const reason = error instanceof Error ? error.message : String(error);
    throw loadError(spec, describeSource(source), `the model does not run: ${reason}`, error);
  }
  return backend;
};

class TransformersBackend implements ModelBackend {
  /** Set once by the loader after the probe run. */
  info!: ModelInfo;
  readonly #spec: ModelSpec;
  readonly #pipe: LoadedPipeline;
  readonly #padding = new PaddingCounter();
  readonly #device: DeviceGuard;
  #frame: SpecialFrame | undefined;

  constructor(spec: ModelSpec, pipe: LoadedPipeline, placement: Placement) {
    this.#spec = spec;
    this.#pipe = pipe;
    this.#device = new DeviceGuard(spec.name, placement);
  }

  /** Runs the texts in length buckets ({@link planBuckets}), each padded to its own longest text. */
  async run(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const encoded = this.#encode(texts);
    const lengths = encoded.input_ids.map((row) => row.length);
    const outputs = new Array<Float32Array>(texts.length);
    for (const bucket of planBuckets(lengths)) {
      const bucketLengths = bucket.map((i) => lengths[i] ?? 0);
      this.#padding.add(bucketLengths, Math.max(...bucketLengths));
      const vectors = await this.#forwardRows({
        input_ids: bucket.map((i) => encoded.input_ids[i] ?? []),
        ...(encoded.token_type_ids === undefined ? {} : { token_type_ids: bucket.map((i) => encoded.token_type_ids?.[i] ?? []) }),
      });
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

  /** The texts run as one padded call (the load probe). */
  forward(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.length === 0 ? Promise.resolve([]) : this.#forwardRows(this.#encode(texts));
  }

  /** Token rows cut to the model's limit with their closing special tokens kept ({@link encodeTruncated}). */
  #encode(texts: readonly string[]): EncodedRows {
    const tokenizer = this.#pipe.tokenizer;
    this.#frame ??= specialFrame(tokenizer);
    return encodeTruncated(tokenizer, this.#frame, texts, hfMaxTokens(this.#spec, tokenizer));
  }

  async #forwardRows(encoded: EncodedRows): Promise<Float32Array[]> {
    const texts = encoded.input_ids;
    const inputs = paddedTensors(encoded, this.#pipe.tokenizer.pad_token_id);
    const outputs = (await this.#device.run(() => this.#pipe.model(inputs))) as Record<string, unknown>;
    let result: Tensor;
    if (this.#spec.task === 'classification') {
      result = expectTensor(outputs['logits'], 'logits');
    } else {
      const hidden = expectTensor(outputs['last_hidden_state'] ?? outputs['token_embeddings'], 'last_hidden_state');
      result = this.#spec.pooling === 'mean' ? mean_pooling(hidden, inputs.attention_mask) : hidden.slice(null, 0);
    }
    const data = result.data;
    const [rows = 0, width = 0] = result.dims;
    if (!(data instanceof Float32Array) || result.dims.length !== 2 || rows !== texts.length) {
      throw new Error(`unexpected model output: ${result.type} [${result.dims.join(', ')}] for ${texts.length} texts`);
    }
    return Array.from({ length: rows }, (_, row) => data.slice(row * width, (row + 1) * width));
  }

  async close(): Promise<void> {
    await this.#pipe.dispose();
  }
}

/** Rows padded to the longest as int64 tensors: ids, attention mask, and segment ids when the tokenizer makes them. */
function paddedTensors(rows: EncodedRows, padId: unknown): Record<string, Tensor> & { attention_mask: Tensor } {
  const batch = rows.input_ids.length;
  const sequence = Math.max(1, ...rows.input_ids.map((row) => row.length));
  const ids = new BigInt64Array(batch * sequence).fill(BigInt(typeof padId === 'number' ? padId : 0));
  const mask = new BigInt64Array(batch * sequence);
  const types = new BigInt64Array(batch * sequence);
  rows.input_ids.forEach((row, r) => {
    row.forEach((id, k) => {
      ids[r * sequence + k] = BigInt(id);
      mask[r * sequence + k] = 1n;
      types[r * sequence + k] = BigInt(rows.token_type_ids?.[r]?.[k] ?? 0);
    });
  });
  const dims = [batch, sequence];
  return {
    input_ids: new Tensor('int64', ids, dims),
    attention_mask: new Tensor('int64', mask, dims),
    ...(rows.token_type_ids === undefined ? {} : { token_type_ids: new Tensor('int64', types, dims) }),
  };
}

function expectTensor(value: unknown, name: string): Tensor {
  if (value instanceof Tensor) return value;
  throw new Error(`the model returned no "${name}" output`);
}
