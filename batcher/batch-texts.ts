import { type CapabilityRegistry } from '../capabilities/registry.js';
import { messageOf } from '../core/errors.js';

/** Texts of a batch that a set of capabilities must compute for one request. */
export interface Demand {
  readonly capabilities: ReadonlySet<string>;
  readonly ids: readonly number[];
}

/** The distinct texts of a batch, and who needs which capability over which of them. */
export interface BatchTexts {
  /** Distinct texts: the requests' own first, then those derived from them. */
  readonly texts: readonly string[];
  /** How many of `texts` are the requests' own. */
  readonly own: number;
  /** Per request, its own text ids in order. */
  readonly textIds: readonly (readonly number[])[];
  /** Per request, what it needs computed: its own texts, then any texts derived from them. */
  readonly demands: readonly (readonly Demand[])[];
  /** Capability → input text id → the ids of the texts derived from it, in order. */
  readonly derivedIds: ReadonlyMap<string, ReadonlyMap<number, readonly number[]>>;
  /** Capabilities whose texts could not be derived, with why. */
  readonly derivationFailures: ReadonlyMap<string, string>;
}

/**
 * Gathers a batch's texts. Identical texts get one id. A capability that declares derived texts
 * (see `Capability.derived`) adds, for each text it runs on, the texts it derives from it as a
 * demand on its dependency (and that dependency's own dependencies), so they are computed in the
 * same executions as the batch's own texts. Derived texts may derive texts in turn; the DAG
 * keeps that finite.
 */
export function gatherBatchTexts(
  registry: CapabilityRegistry,
  requests: readonly { readonly texts: readonly string[]; readonly capabilities: readonly string[] }[],
): BatchTexts {
  const texts: string[] = [];
  const index = new Map<string, number>();
  const idOf = (text: string): number => {
    let id = index.get(text);
    if (id === undefined) {
      id = texts.length;
      texts.push(text);
      index.set(text, id);
    }
    return id;
  };
  const textIds = requests.map((request) => request.texts.map(idOf));
  const own = texts.length;
  const derivedIds = new Map<string, Map<number, readonly number[]>>();
  const derivationFailures = new Map<string, string>();

  const derive = (name: string, id: number): readonly number[] => {
    let byText = derivedIds.get(name);
    if (byText === undefined) derivedIds.set(name, (byText = new Map()));
    let ids = byText.get(id);
    if (ids === undefined) {
      try {
        ids = registry.get(name).derived?.texts(texts[id] ?? '').map(idOf) ?? [];
      } catch (error) {
        derivationFailures.set(name, messageOf(error));
        ids = [];
      }
      byText.set(id, ids);
    }
    return ids;
  };

  const demandsOf = (capabilities: readonly string[], ids: readonly number[], into: Demand[]): void => {
    const closure = ownClosure(registry, capabilities);
    into.push({ capabilities: closure, ids });
    for (const name of closure) {
      const derived = registry.get(name).derived;
      if (derived === undefined) continue;
      const derivedFromAll = [...new Set(ids.flatMap((id) => derive(name, id)))];
      if (derivedFromAll.length > 0) demandsOf([derived.dependency], derivedFromAll, into);
    }
  };

  const demands = requests.map((request, k) => {
    const into: Demand[] = [];
    demandsOf(request.capabilities, textIds[k] ?? [], into);
    return into;
  });
  return { texts, own, textIds, demands, derivedIds, derivationFailures };
}

/**
 * The capabilities plus their transitive dependencies, except a dependency a capability reads
 * only over its derived texts: the input texts themselves need not go through it.
 */
export function ownClosure(registry: CapabilityRegistry, names: Iterable<string>): Set<string> {
  const closure = new Set<string>();
  const visit = (name: string): void => {
    if (closure.has(name)) return;
    closure.add(name);
    const capability = registry.get(name);
    for (const dependency of capability.dependsOn) {
      if (capability.derived?.only === true && capability.derived.dependency === dependency) continue;
      visit(dependency);
    }
  };
  for (const name of names) visit(name);
  return closure;
}
