import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../core/project-root.js';

/** The capabilities files each benchmarked model runs under, written into `outDir`. */
export interface BenchConfigs {
  readonly minilm: (instances: number) => Promise<string>;
  /** An ONNX embedding model `name` at `dir` behind every embedding capability (as `minilm`). */
  readonly onnx: (name: string, dir: string, instances: number) => Promise<string>;
  readonly use: () => Promise<string>;
  /** Only `text-stats`: no model, for the server's own overhead. */
  readonly overhead: () => Promise<string>;
}

export function benchConfigs(outDir: string, minilmDir: string): BenchConfigs {
  const root = projectRoot();
  const defaults = async (): Promise<{ models: Record<string, unknown>[]; capabilities: Record<string, any>[] }> =>
    JSON.parse(await readFile(path.join(root, 'capabilities', 'default.json'), 'utf8'));
  const write = async (name: string, config: unknown): Promise<string> => {
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, `${name}.json`);
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    return file;
  };
  // Files named in params resolve against the config file's folder; point them at the originals.
  const absolutePaths = (capabilities: Record<string, any>[]) =>
    capabilities.map((spec) =>
      spec.params?.examples === undefined ? spec : { ...spec, params: { ...spec.params, examples: path.join(root, 'capabilities', spec.params.examples) } },
    );
  const onnx = async (name: string, dir: string, instances: number): Promise<string> => {
    const config = await defaults();
    return write(`${name}-x${instances}`, {
      models: [{ name, backend: 'onnx', task: 'embedding', path: dir, maxLength: 128, instances }],
      capabilities: absolutePaths(config.capabilities).map((spec) => (spec.kind === 'embedding' ? { ...spec, model: name } : spec)),
    });
  };
  return {
    minilm: (instances) => onnx('minilm', minilmDir, instances),
    onnx,
    use: async () => {
      const config = await defaults();
      return write('use-lite', { ...config, capabilities: absolutePaths(config.capabilities) });
    },
    overhead: () => write('overhead', { models: [], capabilities: [{ name: 'text-stats', kind: 'text-stats' }] }),
  };
}
