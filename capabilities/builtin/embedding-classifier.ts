import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { type CapabilitySpec } from '../config-schema.js';
import { LogisticRegression } from '../math/logistic-regression.js';
import { type Capability, dependencyResults } from '../types.js';
import { asVector, type BuildDeps, inputFrom, type LabelScores } from './build-deps.js';
import { labelScores } from './model-capabilities.js';

type Spec = Extract<CapabilitySpec, { kind: 'embedding-classifier' }>;

const examplesSchema = z.array(z.object({ text: z.string().min(1), label: z.string().min(1) })).min(2);

/**
 * A logistic-regression head over another capability's embeddings, fitted at start-up from a
 * labelled example file (the default `sentiment`). Fitting embeds the examples once.
 */
export async function embeddingClassifierCapability(spec: Spec, deps: BuildDeps): Promise<Capability<LabelScores>> {
  const source = inputFrom(spec.params.embeddingFrom, spec.dependsOn, spec.name);
  const file = path.resolve(deps.configDir, spec.params.examples);
  const examples = examplesSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  const vectors = await deps.runCapability(
    source,
    examples.map((e) => e.text),
  );
  const head = LogisticRegression.fit(
    vectors.map((v) => asVector(v, source)),
    examples.map((e) => e.label),
    { epochs: spec.params.epochs, l2: spec.params.l2 },
  );
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      return dependencyResults(context, source).map((v) => labelScores(head.labels, head.predict(asVector(v, source))));
    },
  };
}
