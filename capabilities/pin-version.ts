import { type CapabilitiesConfig } from './config-schema.js';

/** A repository model's version standing in for its default while that version is checked. */
export interface VersionPin {
  readonly model: string;
  readonly version: number;
}

/**
 * The configuration as it will be once `pin.version` is the default of repository model
 * `pin.model`: every pool model and `trained-classifier` that reads that model at "default"
 * reads the pinned version instead, and `readers` names the capabilities that read it (through
 * a pool model or directly). Building this configuration checks the version against every
 * capability that reads it before the repository's default pointer moves.
 */
export function pinVersion(config: CapabilitiesConfig, pin: VersionPin): { readonly config: CapabilitiesConfig; readonly readers: readonly string[] } {
  const poolModels = new Set<string>();
  const models = config.models.map((spec) => {
    if (spec.repository !== pin.model || spec.version !== 'default') return spec;
    poolModels.add(spec.name);
    return { ...spec, version: pin.version };
  });
  const readers: string[] = [];
  const capabilities = config.capabilities.map((spec) => {
    if ('model' in spec && poolModels.has(spec.model)) readers.push(spec.name);
    if (spec.kind !== 'trained-classifier' || spec.params.model !== pin.model || spec.params.version !== 'default') return spec;
    readers.push(spec.name);
    return { ...spec, params: { ...spec.params, version: pin.version } };
  });
  return { config: { ...config, models, capabilities }, readers };
}
