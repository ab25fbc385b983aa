import { createRequire } from 'node:module';
import path from 'node:path';
import { type LoadOptions, type ModelSpec } from './types.js';

const require = createRequire(import.meta.url);

/** A model's files: a local directory, or a hub id for transformers.js to fetch. */
export type ModelSource = { readonly kind: 'dir'; readonly dir: string } | { readonly kind: 'hub'; readonly id: string };

/**
 * Turns a spec's `path`, `package` or `hubId` into where its files are.
 * Package directories are found through Node's resolver, so they work wherever npm put them.
 */
export function resolveModelSource(spec: ModelSpec, options: Pick<LoadOptions, 'modelsDir'>): ModelSource {
  if (spec.path !== undefined) {
    return { kind: 'dir', dir: path.resolve(options.modelsDir, spec.path) };
  }
  if (spec.package !== undefined) {
    const manifest = require.resolve(`${spec.package}/package.json`);
    return { kind: 'dir', dir: path.join(path.dirname(manifest), spec.packageDir) };
  }
  return { kind: 'hub', id: spec.hubId ?? '' };
}

/** A string naming the source in logs and errors. */
export function describeSource(source: ModelSource): string {
  return source.kind === 'dir' ? source.dir : `hub:${source.id}`;
}
