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
  /**
   * For a capability that declares {@link Capability.derived}: `derived[i][j]` is its derived
   * dependency's result for the `j`-th text derived from `texts[i]`. Set by the batch engine.
   */
  readonly derived?: readonly (readonly unknown[])[];
}

/**
 * Texts a capability derives from each of its input texts (a summary's sentences) for one of its
 * dependencies to compute. The batch engine adds them to that dependency's single execution in
 * the batch, beside (and deduplicated with) the batch's own texts, so they share the batching
 * window with every other request instead of costing a model call of their own, and a capability
 * never has to submit work to the batcher (a layer above it) from inside a batch.
 */
export interface DerivedTexts {
  /** The dependency that computes the derived texts; it must be listed in `dependsOn`. */
  readonly dependency: string;
  /**
   * The texts derived from one input text, in the order `run` expects their results. Must be
   * deterministic and cheap: the engine calls it when a batch starts.
   */
  texts(text: string): readonly string[];
  /**
   * True when the capability reads the dependency only over derived texts, never over its own
   * input texts: the engine then leaves those inputs out of the dependency's execution.
   */
  readonly only: boolean;
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
  /** Texts this capability derives from its inputs for a dependency to compute in the same batch. */
  readonly derived?: DerivedTexts;
  /** Must return exactly one result per text, in order. */
  run(texts: readonly string[], context: CapabilityContext): Promise<readonly Result[]>;
}

/** Read a dependency's results from a context, failing loudly if the engine did not provide it. */
export function dependencyResults<T>(context: CapabilityContext, name: string): readonly T[] {
  const results = context.dependencies.get(name);
  if (results === undefined) throw new Error(`dependency "${name}" was not provided`);
  return results as readonly T[];
}

/** A derived-texts capability's results of its dependency, failing loudly if the engine did not provide them. */
export function derivedResults(context: CapabilityContext, count: number): readonly (readonly unknown[])[] {
  const results = context.derived;
  if (results === undefined || results.length !== count) throw new Error('derived texts were not computed: this capability runs only inside a batch');
  return results;
}
