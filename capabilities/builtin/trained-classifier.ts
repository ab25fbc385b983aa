import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TRAINED_MODEL_FILE, TrainedModel } from './trained-model.js';
import { type CapabilitySpec } from '../config-schema.js';
import { type Capability, dependencyResults } from '../types.js';
import { type BuildDeps, type LabelScores } from './build-deps.js';

type Spec = Extract<CapabilitySpec, { kind: 'trained-classifier' }>;

/**
 * Serves a model trained by `POST /train`. The version is resolved and its files checked
 * against their SHA-256 when the capability is built; a model trained on an embedding
 * capability's vectors must list that capability in `dependsOn`.
 */
export async function trainedClassifierCapability(spec: Spec, deps: BuildDeps): Promise<Capability<LabelScores>> {
  if (deps.repository === undefined) throw new Error('no model repository is configured');
  const { dir, manifest } = await deps.repository.resolve(spec.params.model, spec.params.version);
  if (manifest.backend !== 'linear') throw new Error(`model "${manifest.name}" v${manifest.version} is a ${manifest.backend} model, not one trained by /train`);
  const model = TrainedModel.fromFile(await readFile(path.join(dir, TRAINED_MODEL_FILE), 'utf8'));
  const source = model.embeddingCapability;
  if (source !== undefined && !spec.dependsOn.includes(source)) {
    throw new Error(`capability "${spec.name}" reads "${source}" vectors (model "${manifest.name}" was trained on them): list "${source}" in dependsOn`);
  }
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      return model.predict(texts, source === undefined ? undefined : dependencyResults(context, source));
    },
  };
}
