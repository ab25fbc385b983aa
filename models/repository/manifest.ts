import { z } from 'zod';
import { backendKinds, modelTasks } from '../types.js';

/** `manifest.json` of one model version in the repository. */
export const manifestSchema = z
  .object({
    name: z.string().min(1),
    version: z.number().int().min(1),
    /** A pool backend, or "linear" for a classifier trained by `POST /train` (read by the `trained-classifier` capability). */
    backend: z.enum([...backendKinds, 'linear']),
    task: z.enum(modelTasks),
    /** Every file of the version (paths relative to the version folder) with its SHA-256, hex. */
    files: z.record(z.string().min(1), z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex')),
    labels: z.array(z.string()).optional(),
    /** Evaluation figures, e.g. { "accuracy": 0.91, "macroF1": 0.89 }. */
    metrics: z.record(z.string(), z.number()).default({}),
    createdAt: z.string().datetime(),
    tags: z.array(z.string()).default([]),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

/** What changed between two versions: manifest fields, files, and metric deltas (to − from). */
export interface ManifestDiff {
  readonly from: number;
  readonly to: number;
  readonly changed: Readonly<Record<string, { readonly from: unknown; readonly to: unknown }>>;
  readonly files: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
  readonly metrics: Readonly<Record<string, { readonly from?: number; readonly to?: number; readonly delta?: number }>>;
}

export function diffManifests(a: Manifest, b: Manifest): ManifestDiff {
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of ['backend', 'task', 'labels', 'tags', 'createdAt'] as const) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) changed[key] = { from: a[key], to: b[key] };
  }
  const aFiles = Object.keys(a.files);
  const bFiles = Object.keys(b.files);
  const metrics: Record<string, { from?: number; to?: number; delta?: number }> = {};
  for (const name of new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])) {
    const from = a.metrics[name];
    const to = b.metrics[name];
    metrics[name] = {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(from === undefined || to === undefined ? {} : { delta: Math.round((to - from) * 1e6) / 1e6 }),
    };
  }
  return {
    from: a.version,
    to: b.version,
    changed,
    files: {
      added: bFiles.filter((f) => !(f in a.files)).sort(),
      removed: aFiles.filter((f) => !(f in b.files)).sort(),
      changed: aFiles.filter((f) => f in b.files && a.files[f] !== b.files[f]).sort(),
    },
    metrics,
  };
}
