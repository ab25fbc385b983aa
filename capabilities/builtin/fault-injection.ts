import { type CapabilitySpec } from '../config-schema.js';
import { type Capability } from '../types.js';

type Spec = Extract<CapabilitySpec, { kind: 'fault-injection' }>;

/**
 * A capability for chaos and soak testing: a batch holding a text with `failMarker` throws, one
 * with `slowMarker` takes `slowMs`, one with `hangMarker` never answers (the capability time
 * limit ends it), and one with `badOutputMarker` returns one result too few. Otherwise it
 * answers `{ ok: true }` per text. Never configure it for real traffic.
 */
export function faultInjectionCapability(spec: Spec): Capability<{ ok: true }> {
  const { failMarker, slowMarker, slowMs, hangMarker, badOutputMarker } = spec.params;
  const has = (texts: readonly string[], marker: string) => texts.some((text) => text.includes(marker));
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      if (has(texts, hangMarker)) return new Promise(() => {});
      if (has(texts, slowMarker)) await new Promise((resolve) => setTimeout(resolve, slowMs));
      if (context.signal.aborted) throw new Error('cancelled');
      if (has(texts, failMarker)) throw new Error(`injected fault ("${failMarker}" in the batch)`);
      const results = texts.map(() => ({ ok: true as const }));
      return has(texts, badOutputMarker) ? results.slice(1) : results;
    },
  };
}
