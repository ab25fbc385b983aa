import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { labelScores } from '../capabilities/builtin/model-capabilities.js';
import { classificationMetrics, stratifiedSplit } from '../capabilities/math/classification-metrics.js';
import { HashedTfidf } from '../capabilities/math/hashed-tfidf.js';
import { fitLinearClassifier } from '../capabilities/math/linear-model.js';
import { seededRandom } from '../capabilities/math/seeded-random.js';
import { analyseInGroups, type AnalyseTexts } from '../jobs/processors/analyse-in-groups.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { CapserveError } from '../core/errors.js';
import { type Store } from '../store/types.js';
import { requireLabelled, resolveExamples } from './examples.js';
import { type ModelJobRunner } from './model-jobs.js';
import { featuresOf, TRAINED_MODEL_FILE, TrainedModel } from '../capabilities/builtin/trained-model.js';
import { evaluateRequestSchema, predictRequestSchema, type TrainRequest, trainRequestSchema } from './types.js';

export interface ModelJobDeps {
  readonly store: Store;
  readonly repository: ModelRepository;
  /** Runs texts through the batcher (embedding features share batches with live traffic). */
  readonly analyse: AnalyseTexts;
  /** Texts per batcher call. */
  readonly groupSize: number;
  readonly maxExamples: number;
  /** Stores a capability spec and reloads the configuration with it. */
  readonly register: (name: string, spec: Record<string, unknown>) => Promise<void>;
  /** Whether a capability in service reads this repository model (a new default then needs a reload to be served). */
  readonly serves: (model: string) => boolean;
  readonly reload: () => Promise<unknown>;
}

type Progress = (fraction: number, stage: string) => void;

/** The runner behind `/train`, `/evaluate` and `/model-jobs/predict`. */
export function createModelJobRunner(deps: ModelJobDeps): ModelJobRunner {
  return async (job, { signal, progress }) => {
    switch (job.type) {
      case 'train':
        return train(trainRequestSchema.parse(job.request), deps, signal, progress);
      case 'evaluate': {
        const request = evaluateRequestSchema.parse(job.request);
        const examples = requireLabelled(await resolveExamples(request, deps.store, deps.maxExamples), false);
        const { model, version } = await loadTrained(deps.repository, request.model, request.version);
        const predicted = await predictAll(model, examples.map((e) => e.text), deps, signal, progress);
        const metrics = classificationMetrics(
          examples.map((e) => e.label),
          predicted.map((p) => p.label),
          model.labels,
        );
        return { model: request.model, version, examples: examples.length, metrics };
      }
      case 'predict': {
        const request = predictRequestSchema.parse(job.request);
        const examples = await resolveExamples(request, deps.store, deps.maxExamples);
        const { model, version } = await loadTrained(deps.repository, request.model, request.version);
        const predicted = await predictAll(model, examples.map((e) => e.text), deps, signal, progress);
        return { model: request.model, version, predictions: predicted.map((p, i) => ({ text: examples[i]?.text, ...p })) };
      }
    }
  };
}

async function train(request: TrainRequest, deps: ModelJobDeps, signal: AbortSignal, progress: Progress): Promise<unknown> {
  const examples = requireLabelled(await resolveExamples(request, deps.store, deps.maxExamples), true);
  const { train: trainSet, test: testSet } = stratifiedSplit(examples, (e) => e.label, request.testFraction, seededRandom(request.seed));
  progress(0, 'features');
  const texts = [...trainSet, ...testSet].map((e) => e.text);
  let featuriser: TrainedModel['featuriser'];
  let embeddings: unknown[] | undefined;
  if (request.features.kind === 'embedding') {
    featuriser = { kind: 'embedding', capability: request.features.capability };
    embeddings = await runCapability(request.features.capability, texts, deps, signal, (f) => progress(0.8 * f, 'features'));
  } else {
    featuriser = {
      kind: 'tfidf',
      tfidf: HashedTfidf.fit(
        trainSet.map((e) => e.text),
        { dimensions: request.features.dimensions, wordNgrams: request.features.ngrams },
      ),
    };
  }
  const features = featuresOf(featuriser, texts, embeddings);
  if (signal.aborted) throw new CapserveError('REQUEST_CANCELLED', 'the job was cancelled');
  progress(0.8, 'fit');
  const { algorithm, c, epochs } = request.classifier;
  const classifier = fitLinearClassifier(algorithm, features.slice(0, trainSet.length), trainSet.map((e) => e.label), { c, epochs, seed: request.seed });
  const model = new TrainedModel(featuriser, classifier);
  progress(0.95, 'evaluate');
  const predicted = features.slice(trainSet.length).map((x) => labelScores(model.labels, classifier.predict(x)).label);
  const metrics = classificationMetrics(testSet.map((e) => e.label), predicted, model.labels);

  const existing = await deps.repository.get(request.model).catch(() => undefined);
  // Pin the current default first, so a version written with setDefault: false does not become the default by being newest.
  if (!request.setDefault && existing !== undefined) await deps.repository.setDefault(request.model, existing.defaultVersion);
  const manifest = await deps.repository.addVersion(request.model, { [TRAINED_MODEL_FILE]: model.toFile() }, {
    backend: 'linear',
    task: 'classification',
    labels: [...model.labels],
    metrics: {
      accuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      majorityBaseline: metrics.majorityBaseline,
      trainExamples: trainSet.length,
      testExamples: testSet.length,
    },
    tags: [...request.tags, `features:${request.features.kind}`, `algorithm:${algorithm}`],
  });
  if (request.setDefault) await deps.repository.setDefault(request.model, manifest.version);
  await deps.store.putModelVersion({ model: manifest.name, version: manifest.version, manifest, isDefault: request.setDefault, recordedAt: Date.now() });
  if (request.register !== undefined) {
    const spec = {
      name: request.register.capability,
      kind: 'trained-classifier',
      dependsOn: featuriser.kind === 'embedding' ? [featuriser.capability] : [],
      params: { model: request.model, version: 'default' },
      ...(request.register.review === undefined ? {} : { review: request.register.review }),
    };
    await deps.register(request.register.capability, spec);
  } else if (request.setDefault && deps.serves(request.model)) {
    await deps.reload();
  }
  return {
    model: manifest.name,
    version: manifest.version,
    isDefault: request.setDefault,
    examples: { train: trainSet.length, test: testSet.length },
    metrics,
    ...(request.register === undefined ? {} : { capability: request.register.capability }),
  };
}

async function loadTrained(repository: ModelRepository, name: string, version: number | 'default'): Promise<{ model: TrainedModel; version: number }> {
  const { dir, manifest } = await repository.resolve(name, version);
  if (manifest.backend !== 'linear') throw new CapserveError('VALIDATION_ERROR', `model "${name}" v${manifest.version} was not trained by /train (backend ${manifest.backend})`);
  return { model: TrainedModel.fromFile(await readFile(path.join(dir, TRAINED_MODEL_FILE), 'utf8')), version: manifest.version };
}

async function predictAll(model: TrainedModel, texts: string[], deps: ModelJobDeps, signal: AbortSignal, progress: Progress) {
  const source = model.embeddingCapability;
  const embeddings = source === undefined ? undefined : await runCapability(source, texts, deps, signal, (f) => progress(0.9 * f, 'features'));
  progress(0.9, 'predict');
  return model.predict(texts, embeddings);
}

/** One capability's results for every text, through the batcher in groups. */
async function runCapability(capability: string, texts: string[], deps: ModelJobDeps, signal: AbortSignal, progress: (fraction: number) => void): Promise<unknown[]> {
  const results = await analyseInGroups(texts, [capability], { analyse: deps.analyse, groupSize: deps.groupSize, signal, progress });
  return results.get(capability) ?? [];
}
