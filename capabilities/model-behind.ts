import { type CapabilityRegistry } from './registry.js';

/**
 * The pool model behind a registered capability: its own, else the nearest one among its
 * dependencies, breadth first in `dependsOn` order (an `embedding-classifier` reads the model
 * of the embedding it depends on). Undefined for a capability with no model anywhere below it.
 */
export function modelBehind(registry: Pick<CapabilityRegistry, 'has' | 'get'>, capability: string): string | undefined {
  const queue = [capability];
  const seen = new Set<string>();
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name) || !registry.has(name)) continue;
    seen.add(name);
    const found = registry.get(name);
    if (found.model !== undefined) return found.model;
    queue.push(...found.dependsOn);
  }
  return undefined;
}
