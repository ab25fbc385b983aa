import { z } from 'zod';

/**
 * KServe V2 / Open Inference Protocol request and response shapes, as far as capserve speaks
 * them. Parameter values are strings, numbers or booleans (the spec's `$parameter`).
 */
export const parametersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
export type Parameters = z.infer<typeof parametersSchema>;

/** The data types of the spec's tensor data type table; capserve accepts BYTES and answers BYTES and FP32. */
export const tensorDataTypes = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16'] as const;
export type TensorDataType = (typeof tensorDataTypes)[number];

/** A dimension: a non-negative integer (the spec allows any uint64; a text count never needs more). */
const dimension = z.number().int('a dimension must be an integer').min(0, 'a dimension must not be negative').max(Number.MAX_SAFE_INTEGER);

/** `$request_input`: `data` as JSON, or `parameters.binary_data_size` bytes after the JSON header. */
export const requestInputSchema = z
  .object({
    name: z.string(),
    shape: z.array(dimension).max(8, 'at most 8 dimensions'),
    datatype: z.string(),
    parameters: parametersSchema.optional(),
    data: z.unknown().optional(),
  })
  .strict();
export type RequestInput = z.infer<typeof requestInputSchema>;

/** `$request_output`: which output, and whether it comes back as binary (`parameters.binary_data`). */
export const requestOutputSchema = z.object({ name: z.string(), parameters: parametersSchema.optional() }).strict();
export type RequestOutput = z.infer<typeof requestOutputSchema>;

/** `$inference_request`. Unknown top-level fields are refused rather than silently ignored. */
export const inferRequestSchema = z
  .object({
    id: z.string().optional(),
    parameters: parametersSchema.optional(),
    inputs: z.array(requestInputSchema),
    outputs: z.array(requestOutputSchema).optional(),
  })
  .strict();
export type InferRequest = z.infer<typeof inferRequestSchema>;

/** `$metadata_tensor`, with capserve's `parameters` (the label order of a classifier's `scores`, when known). */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: TensorDataType;
  /** -1 for a variable dimension. */
  readonly shape: readonly number[];
  readonly parameters?: Parameters;
}

/** `$metadata_model_response`. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** One computed output: its elements in row-major order, before it is written as JSON or binary. */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: 'BYTES' | 'FP32';
  readonly shape: readonly number[];
  /** Strings for BYTES, numbers for FP32. */
  readonly data: readonly string[] | readonly number[];
  readonly parameters?: Parameters;
}
