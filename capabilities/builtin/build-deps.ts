import { type ModelPool } from '../../models/pool.js';
import { type ModelRepository } from '../../models/repository/model-repository.js';

/** What a built-in capability factory may use while it is built. */
export interface BuildDeps {
  readonly pool: ModelPool;
  /** Directory of the configuration file; relative data paths resolve against it. */
  readonly configDir: string;
  /**
   * Runs an already-built capability outside any batch, e.g. to embed label descriptions at start-up;
   * `signal` reaches the pool like a batch's. Work of a running batch goes through the batch instead
   * (see `Capability.derived`).
   */
  readonly runCapability: (name: string, texts: readonly string[], signal?: AbortSignal) => Promise<readonly unknown[]>;
  /** Where `trained-classifier` capabilities read their models; undefined when none is configured. */
  readonly repository: ModelRepository | undefined;
}

/** Classification answer shared by model classifiers and embedding heads. */
export interface LabelScores {
  readonly label: string;
  readonly score: number;
  readonly scores: Record<string, number>;
}

/** The dependency named by a role parameter, or the capability's first dependency. */
export function inputFrom(role: string | undefined, dependsOn: readonly string[], capability: string): string {
  const chosen = role ?? dependsOn[0];
  if (chosen === undefined || !dependsOn.includes(chosen)) {
    throw new Error(`capability "${capability}" must list its input ${chosen === undefined ? '' : `"${chosen}" `}in dependsOn`);
  }
  return chosen;
}

/** Reads a vector result, failing with a message that names the dependency. */
export function asVector(value: unknown, from: string): readonly number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) {
    throw new Error(`"${from}" did not produce a vector`);
  }
  return value as number[];
}

export function asLabelScores(value: unknown, from: string): LabelScores {
  const candidate = value as Partial<LabelScores> | undefined;
  if (typeof candidate?.label !== 'string' || typeof candidate.scores !== 'object' || candidate.scores === null) {
    throw new Error(`"${from}" did not produce label scores`);
  }
  return candidate as LabelScores;
}
