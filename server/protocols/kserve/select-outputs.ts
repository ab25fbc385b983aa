import { CapserveError } from '../../../core/errors.js';
import { type InferRequest, type Parameters } from './types.js';

/** An output the response carries, and whether as binary tensor data. */
export interface SelectedOutput {
  readonly name: string;
  readonly binary: boolean;
}

function flag(parameters: Parameters | undefined, key: string, where: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new CapserveError('VALIDATION_ERROR', `${where} parameter ${key} must be a boolean`);
}

/**
 * The outputs a request asks for, checked against the model's before any work: every name
 * known and none twice. Without `outputs`, all of them. Each is binary when its own
 * `binary_data` says so, else when the request's `binary_data_output` does.
 */
export function selectOutputs(request: InferRequest, available: readonly string[]): SelectedOutput[] {
  const all = flag(request.parameters, 'binary_data_output', 'the request') ?? false;
  if (request.outputs === undefined) return available.map((name) => ({ name, binary: all }));
  if (request.outputs.length === 0) throw new CapserveError('VALIDATION_ERROR', 'outputs is empty; leave it out to get every output');
  const seen = new Set<string>();
  return request.outputs.map((output) => {
    if (!available.includes(output.name)) {
      throw new CapserveError('VALIDATION_ERROR', `unknown output "${output.name}"; the model's outputs are ${available.map((n) => `"${n}"`).join(', ')}`);
    }
    if (seen.has(output.name)) throw new CapserveError('VALIDATION_ERROR', `output "${output.name}" is requested twice`);
    seen.add(output.name);
    return { name: output.name, binary: flag(output.parameters, 'binary_data', `output "${output.name}"`) ?? all };
  });
}
