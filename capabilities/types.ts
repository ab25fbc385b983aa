/** Results of a capability's dependencies, for exactly the texts of the current call, in the same order. */
export type DependencyResults = ReadonlyMap<string, readonly unknown[]>;

/** What a capability's batch function receives besides the texts. */
export interface CapabilityContext {
  /** `dependencies.get(name)[i]` is dependency `name`'s result for `texts[i]`. */
  readonly dependencies: DependencyResults;
  /**
   * Aborted when no request still waits for this execution (each one it serves was cancelled or
   * passed its deadline), or when it passes its time limit. Model capabilities hand it to the pool,
   * which then drops the execution's model call if it is still queued.
   */
  readonly signal: AbortSignal;
}

/**
 * A named unit of work over a batch of texts. The engine calls `run` once per batch with
 * every text that needs it, directly or as a dependency of another capability.
 */
export interface Capability<Result = unknown> {
  readonly name: string;
  /** Capabilities whose results this one reads from its context. */
  readonly dependsOn: readonly string[];
  /** The pool model it runs on; undefined for rule-based capabilities. */
  readonly model?: string;
  /** Must return exactly one result per text, in order. */
  run(texts: readonly string[], context: CapabilityContext): Promise<readonly Result[]>;
}

/** Read a dependency's results from a context, failing loudly if the engine did not provide it. */
export function dependencyResults<T>(context: CapabilityContext, name: string): readonly T[] {
  const results = context.dependencies.get(name);
  if (results === undefined) throw new Error(`dependency "${name}" was not provided`);
  return results as readonly T[];
}
