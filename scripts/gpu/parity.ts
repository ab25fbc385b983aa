/**
 * Device parity: the same texts through the onnx backend (what capserve serves) on the CPU and on
 * each accelerator, as a pooled embedding and as classification logits; the largest absolute
 * difference of any output value from the CPU's.
 */
import { performance } from 'node:perf_hooks';
import { messageOf } from '../../core/errors.js';
import { defaultLoaders } from '../../models/loaders.js';
import { type LoadOptions, modelSpecSchema } from '../../models/types.js';

export interface ParityRow {
  readonly device: 'webgpu' | 'cuda';
  readonly adapter?: string;
  /** Largest |accelerator − cpu| over every embedding value, then every logit. */
  readonly embeddingDiff?: number;
  readonly logitsDiff?: number;
  readonly seconds: number;
  /** Why the device did not run, when it did not. */
  readonly skipped?: string;
}

/** Outputs within this of the CPU's pass (float32 kernels that sum in another order differ by about 1e-6). */
export const PARITY_TOLERANCE = 1e-3;

type Task = 'embedding' | 'classification';

async function outputs(modelDir: string, task: Task, device: 'cpu' | 'webgpu' | 'cuda', texts: readonly string[]): Promise<{ values: Float32Array[]; adapter?: string }> {
  const spec = modelSpecSchema.parse({ name: `parity-${task}`, backend: 'onnx', task, path: modelDir, maxLength: 128 });
  const options: LoadOptions = { modelsDir: modelDir, device, allowRemoteModels: false, intraOpThreads: 0 };
  const backend = await defaultLoaders.onnx(spec, options);
  try {
    return { values: await backend.run(texts), ...(backend.info.adapter === undefined ? {} : { adapter: backend.info.adapter }) };
  } finally {
    await backend.close();
  }
}

function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0;
  a.forEach((row, i) => {
    const other = b[i];
    if (other === undefined || other.length !== row.length) throw new Error(`output ${i} has ${other?.length} values on one device and ${row.length} on the other`);
    for (let k = 0; k < row.length; k++) max = Math.max(max, Math.abs((row[k] ?? 0) - (other[k] ?? 0)));
  });
  return max;
}

/** Compares each device in `devices` with the CPU; a device that cannot start is reported, not thrown. */
export async function deviceParity(modelDir: string, texts: readonly string[], devices: readonly ('webgpu' | 'cuda')[]): Promise<ParityRow[]> {
  const reference = {
    embedding: (await outputs(modelDir, 'embedding', 'cpu', texts)).values,
    classification: (await outputs(modelDir, 'classification', 'cpu', texts)).values,
  };
  const rows: ParityRow[] = [];
  for (const device of devices) {
    const started = performance.now();
    const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
    try {
      const embedding = await outputs(modelDir, 'embedding', device, texts);
      const logits = await outputs(modelDir, 'classification', device, texts);
      rows.push({
        device,
        ...(embedding.adapter === undefined ? {} : { adapter: embedding.adapter }),
        embeddingDiff: maxAbsDiff(reference.embedding, embedding.values),
        logitsDiff: maxAbsDiff(reference.classification, logits.values),
        seconds: seconds(),
      });
    } catch (error) {
      rows.push({ device, skipped: messageOf(error).split('\n')[0] ?? 'failed', seconds: seconds() });
    }
  }
  return rows;
}
