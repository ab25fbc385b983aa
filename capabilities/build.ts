import path from 'node:path';
import { type LoadFailurePolicy, type ModelPool } from '../models/pool.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { CapserveError, messageOf } from '../core/errors.js';
import { alertRulesCapability } from './builtin/alert-rules.js';
import { type BuildDeps } from './builtin/build-deps.js';
import { catalogueRecommendationsCapability } from './builtin/catalogue-recommendations.js';
import { embeddingClassifierCapability } from './builtin/embedding-classifier.js';
import { entitiesCapability } from './builtin/entities.js';
import { faultInjectionCapability } from './builtin/fault-injection.js';
import { languageIdCapability } from './builtin/language-id.js';
import { summaryCapability } from './builtin/summary.js';
import { textStatsCapability } from './builtin/text-stats.js';
import { trainedClassifierCapability } from './builtin/trained-classifier.js';
import { classifierCapability, embeddingCapability } from './builtin/model-capabilities.js';
import { zeroShotTopicsCapability } from './builtin/zero-shot-topics.js';
import { type CapabilitiesConfig, type CapabilitySpec } from './config-schema.js';
import { CapabilityRegistry } from './registry.js';
import { type Capability } from './types.js';

/** A registry built from configuration, and why any capability is unavailable. */
export interface BuiltCapabilities {
  readonly registry: CapabilityRegistry;
  /** Capability name to the reason it cannot run (its model failed to load, or a dependency is unavailable). */
  readonly unavailable: ReadonlyMap<string, string>;
  /** Capability name to the model it runs on, and its kind. */
  readonly specs: ReadonlyMap<string, CapabilitySpec>;
}

/**
 * Builds every configured capability over a loaded pool, dependencies first, and registers
 * them. A capability whose model failed (under MODEL_LOAD_FAILURE=degrade) or whose dependency
 * is unavailable is registered as unavailable so requests get a clear 503 instead of a failure deep in a batch.
 * Under `buildFailure: 'degrade'` so is one that fails to build (a trained version that does not
 * verify, or reads a capability it does not list): one bad version takes down its own
 * capability and those that read it, never the whole configuration; under 'fail' it is
 * CONFIG_INVALID.
 */
export async function buildCapabilities(
  config: CapabilitiesConfig,
  pool: ModelPool,
  configFile: string,
  repository?: ModelRepository,
  buildFailure: LoadFailurePolicy = 'fail',
): Promise<BuiltCapabilities> {
  const specs = new Map(config.capabilities.map((spec) => [spec.name, spec]));
  // Registering placeholders first validates names, dependencies and cycles before any model work.
  const order = new CapabilityRegistry()
    .register(...config.capabilities.map((spec) => placeholder(spec)))
    .resolve(config.capabilities.map((spec) => spec.name));
  for (const spec of config.capabilities) {
    if ('model' in spec && !pool.has(spec.model)) {
      throw new CapserveError('CONFIG_INVALID', `capability "${spec.name}" uses undeclared model "${spec.model}"`);
    }
  }

  const built = new Map<string, Capability>();
  const unavailable = new Map<string, string>();
  const deps: BuildDeps = {
    pool,
    configDir: path.dirname(configFile),
    repository,
    runCapability: async (name, texts, signal) => {
      const capability = built.get(name);
      if (capability === undefined) throw new Error(`capability "${name}" is not built yet`);
      return capability.run(texts, { dependencies: new Map(), signal: signal ?? new AbortController().signal });
    },
  };
  for (const name of order) {
    const spec = specs.get(name) as CapabilitySpec;
    const reason = whyUnavailable(spec, pool, unavailable);
    if (reason !== undefined) {
      unavailable.set(name, reason);
      built.set(name, unavailableCapability(spec, reason));
      continue;
    }
    try {
      built.set(name, await buildOne(spec, deps));
    } catch (error) {
      if (buildFailure === 'fail') throw new CapserveError('CONFIG_INVALID', `capability "${name}" could not be built: ${messageOf(error)}`, { cause: error });
      const why = `it could not be built: ${messageOf(error)}`;
      unavailable.set(name, why);
      built.set(name, unavailableCapability(spec, why));
    }
  }
  return { registry: new CapabilityRegistry().register(...built.values()), unavailable, specs };
}

async function buildOne(spec: CapabilitySpec, deps: BuildDeps): Promise<Capability> {
  switch (spec.kind) {
    case 'embedding':
      return embeddingCapability(spec, deps);
    case 'classifier':
      return classifierCapability(spec, deps);
    case 'embedding-classifier':
      return embeddingClassifierCapability(spec, deps);
    case 'trained-classifier':
      return trainedClassifierCapability(spec, deps);
    case 'zero-shot-topics':
      return zeroShotTopicsCapability(spec, deps);
    case 'alert-rules':
      return alertRulesCapability(spec);
    case 'catalogue-recommendations':
      return catalogueRecommendationsCapability(spec);
    case 'language-id':
      return languageIdCapability(spec);
    case 'text-stats':
      return textStatsCapability(spec);
    case 'entities':
      return entitiesCapability(spec);
    case 'summary':
      return summaryCapability(spec);
    case 'fault-injection':
      return faultInjectionCapability(spec);
  }
}

function whyUnavailable(spec: CapabilitySpec, pool: ModelPool, unavailable: ReadonlyMap<string, string>): string | undefined {
  if ('model' in spec && !pool.isReady(spec.model)) {
    const error = pool.status().find((model) => model.name === spec.model)?.error;
    return `model "${spec.model}" is not loaded${error === undefined ? '' : `: ${error}`}`;
  }
  const missing = spec.dependsOn.find((dependency) => unavailable.has(dependency));
  return missing === undefined ? undefined : `dependency "${missing}" is unavailable`;
}

function placeholder(spec: CapabilitySpec): Capability {
  return { name: spec.name, dependsOn: spec.dependsOn, run: async () => [] };
}

function unavailableCapability(spec: CapabilitySpec, reason: string): Capability {
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    ...('model' in spec ? { model: spec.model } : {}),
    run: async () => {
      throw new CapserveError('CAPABILITY_UNAVAILABLE', `capability "${spec.name}" is unavailable: ${reason}`);
    },
  };
}
