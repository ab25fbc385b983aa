import { type Capability } from './types.js';

/** Thrown when a registration or resolution breaks the DAG rules. */
export class CapabilityGraphError extends Error {
  constructor(
    message: string,
    readonly code: 'UNKNOWN_DEPENDENCY' | 'DEPENDENCY_CYCLE' | 'DUPLICATE_CAPABILITY' | 'UNKNOWN_CAPABILITY',
    readonly names: readonly string[],
  ) {
    super(message);
    this.name = 'CapabilityGraphError';
  }
}

/**
 * The capability DAG. Registration keeps it acyclic and closed (every dependency known),
 * so resolution never fails on a registered name.
 */
export class CapabilityRegistry {
  readonly #capabilities = new Map<string, Capability>();
  /** Topological rank of each capability: dependencies always rank lower. */
  readonly #rank = new Map<string, number>();

  /** Registers capabilities in any order; rejects unknown dependencies and cycles, naming them. */
  register(...capabilities: readonly Capability[]): this {
    const incoming = new Map<string, Capability>();
    for (const capability of capabilities) {
      if (this.#capabilities.has(capability.name) || incoming.has(capability.name)) {
        throw new CapabilityGraphError(`capability "${capability.name}" is registered twice`, 'DUPLICATE_CAPABILITY', [
          capability.name,
        ]);
      }
      incoming.set(capability.name, capability);
    }
    const lookup = (name: string): Capability | undefined => incoming.get(name) ?? this.#capabilities.get(name);
    for (const capability of incoming.values()) {
      const missing = capability.dependsOn.filter((dependency) => lookup(dependency) === undefined);
      if (missing.length > 0) {
        throw new CapabilityGraphError(
          `capability "${capability.name}" depends on unknown ${missing.map((m) => `"${m}"`).join(', ')}`,
          'UNKNOWN_DEPENDENCY',
          missing,
        );
      }
      const derivedFrom = capability.derived?.dependency;
      if (derivedFrom !== undefined && !capability.dependsOn.includes(derivedFrom)) {
        throw new CapabilityGraphError(
          `capability "${capability.name}" derives texts for "${derivedFrom}", which it does not list in dependsOn`,
          'UNKNOWN_DEPENDENCY',
          [derivedFrom],
        );
      }
    }
    const order = topologicalOrder([...incoming.values()], lookup, new Set(this.#capabilities.keys()));
    for (const capability of order) {
      this.#capabilities.set(capability.name, capability);
      const ranks = capability.dependsOn.map((dependency) => this.#rank.get(dependency) ?? 0);
      this.#rank.set(capability.name, ranks.length === 0 ? 0 : Math.max(...ranks) + 1);
    }
    return this;
  }

  has(name: string): boolean {
    return this.#capabilities.has(name);
  }

  get(name: string): Capability {
    const capability = this.#capabilities.get(name);
    if (capability === undefined) {
      throw new CapabilityGraphError(`unknown capability "${name}"`, 'UNKNOWN_CAPABILITY', [name]);
    }
    return capability;
  }

  /** Every registered name, sorted. */
  names(): string[] {
    return [...this.#capabilities.keys()].sort();
  }

  list(): Capability[] {
    return this.names().map((name) => this.get(name));
  }

  /**
   * The requested capabilities plus all their transitive dependencies, dependencies first.
   * Ties are broken by name so the order is stable.
   */
  resolve(names: Iterable<string>): string[] {
    const closure = new Set<string>();
    const visit = (name: string): void => {
      if (closure.has(name)) return;
      const capability = this.get(name);
      closure.add(name);
      for (const dependency of capability.dependsOn) visit(dependency);
    };
    for (const name of names) visit(name);
    return [...closure].sort((a, b) => (this.#rank.get(a) ?? 0) - (this.#rank.get(b) ?? 0) || a.localeCompare(b));
  }
}

/** Depth-first topological sort of new capabilities; `done` holds names already in the graph. */
function topologicalOrder(
  capabilities: readonly Capability[],
  lookup: (name: string) => Capability | undefined,
  done: Set<string>,
): Capability[] {
  const order: Capability[] = [];
  const visiting: string[] = [];
  const visit = (capability: Capability): void => {
    if (done.has(capability.name)) return;
    const at = visiting.indexOf(capability.name);
    if (at !== -1) {
      const cycle = [...visiting.slice(at), capability.name];
      throw new CapabilityGraphError(`dependency cycle: ${cycle.join(' -> ')}`, 'DEPENDENCY_CYCLE', cycle);
    }
    visiting.push(capability.name);
    for (const dependency of capability.dependsOn) {
      const next = lookup(dependency);
      if (next !== undefined) visit(next);
    }
    visiting.pop();
    done.add(capability.name);
    order.push(capability);
  };
  for (const capability of capabilities) visit(capability);
  return order;
}
