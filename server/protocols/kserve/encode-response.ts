import { bytesTensor, fp32Tensor } from './binary-tensors.js';
import { type SelectedOutput } from './select-outputs.js';
import { type OutputTensor, type Parameters } from './types.js';

/** `$response_output`: `data` when JSON, `parameters.binary_data_size` when binary. */
export interface ResponseOutput {
  readonly name: string;
  readonly datatype: OutputTensor['datatype'];
  readonly shape: readonly number[];
  readonly parameters?: Parameters;
  readonly data?: OutputTensor['data'];
}

/** `$inference_response`. */
export interface InferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly outputs: readonly ResponseOutput[];
}

/** A response ready to send: JSON alone, or the JSON header followed by binary tensor data. */
export type EncodedResponse = { readonly kind: 'json'; readonly body: InferResponse } | { readonly kind: 'binary'; readonly body: Buffer; readonly headerLength: number };

/**
 * The selected outputs, in the order asked for, as a V2 response. When any is binary the body
 * is the JSON object and then each binary output's bytes in the order the JSON lists them,
 * with `Inference-Header-Content-Length` (the caller's header) giving the JSON's length.
 */
export function encodeResponse(head: Omit<InferResponse, 'outputs'>, tensors: readonly OutputTensor[], selected: readonly SelectedOutput[]): EncodedResponse {
  const chunks: Buffer[] = [];
  const outputs = selected.map(({ name, binary }): ResponseOutput => {
    const tensor = tensors.find((t) => t.name === name);
    if (tensor === undefined) throw new Error(`output "${name}" was selected but not built`);
    const { data, ...meta } = tensor;
    if (!binary) return { ...meta, data };
    const bytes = tensor.datatype === 'BYTES' ? bytesTensor(data as readonly string[]) : fp32Tensor(data as readonly number[]);
    chunks.push(bytes);
    return { ...meta, parameters: { ...meta.parameters, binary_data_size: bytes.length } };
  });
  const body: InferResponse = { ...head, outputs };
  if (chunks.length === 0) return { kind: 'json', body };
  const header = Buffer.from(JSON.stringify(body), 'utf8');
  return { kind: 'binary', body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
