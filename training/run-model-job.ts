import path from 'node:path';
import { classificationMetrics, stratifiedSplit } from '../capabilities/math/classification-metrics.js';
import { seededRandom } from '../capabilities/math/seeded-random.js';
import { analyseInGroups, type AnalyseTexts } from '../jobs/processors/analyse-in-groups.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { CapserveError, isCapserveError } from '../core/errors.js';
import { type VersionPin } from '../capabilities/pin-version.js';
import { type Store } from '../store/types.js';
import { requireLabelled, resolveExamples } from './examples.js';
import { type ModelJobRunner } from './model-jobs.js';
import { TRAINED_MODEL_FILE } from '../capabilities/builtin/trained-model.js';
import { checkTrainingSteps } from './check-training-steps.js';
import { type TrainingLimits, TrainingThread } from './training-thread.js';
import { type LoadOutcome, packVectors, type Progress } from './training-tasks.js';
import { evaluateRequestSchema, predictRequestSchema, type TrainRequest, trainRequestSchema } from './types.js';

export interface ModelJobDeps {
  readonly store: Store;
  readonly repository: ModelRepository;
  /** Runs texts through the batcher (embedding features share batches with live traffic). */
  readonly analyse: AnalyseTexts;
  /** Texts per batcher call. */
  readonly groupSize: number;
  readonly maxExamples: number;
  /** Each job's training thread: its time and heap limits. */
  readonly limits: TrainingLimits;
  /**
   * Makes a version the default and/or stores and serves a capability, only once the
   * configuration has reloaded with them and every capability that reads the version is
   * available; on failure it throws and changes nothing (the default stays where it was).
   */
  readonly adopt: (adoption: {
    readonly pin?: VersionPin;
    readonly register?: { readonly name: string; readonly spec: Readonly<Record<string, unknown>> };
  }) => Promise<void>;
}

/** The runner behind `/train`, `/evaluate` and `/model-jobs/predict`. */
export function createModelJobRunner(deps: ModelJobDeps): ModelJobRunner {
  return async (job, { signal, progress }) => {
    // The job's computation runs in a thread of its own, within the job's limits, and ends with
    // the job (a cancel terminates it at once); only I/O and the batcher calls stay here.
    const thread = new TrainingThread(deps.limits, signal);
    try {
      switch (job.type) {
        case 'train':
          return await train(trainRequestSchema.parse(job.request), deps, thread, signal, progress);
        case 'evaluate': {
          const request = evaluateRequestSchema.parse(job.request);
          const examples = requireLabelled(await resolveExamples(request, deps.store, deps.maxExamples), false);
          const { model, version } = await loadTrained(deps.repository, thread, request.model, request.version);
          const predicted = await predictAll(model, examples.map((e) => e.text), deps, thread, signal, progress);
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
          const { model, version } = await loadTrained(deps.repository, thread, request.model, request.version);
          const predicted = await predictAll(model, examples.map((e) => e.text), deps, thread, signal, progress);
          return { model: request.model, version, predictions: predicted.map((p, i) => ({ text: examples[i]?.text, ...p })) };
        }
      }
    } finally {
      await thread.close();
    }
  };
}

async function train(request: TrainRequest, deps: ModelJobDeps, thread: TrainingThread, signal: AbortSignal, progress: Progress): Promise<unknown> {
  const examples = requireLabelled(await resolveExamples(request, deps.store, deps.maxExamples), true);
  // Again here, not only at the request: a job stored before the bound existed may be resumed.
  checkTrainingSteps(request, examples.length);
  const { train: trainSet, test: testSet } = stratifiedSplit(examples, (e) => e.label, request.testFraction, seededRandom(request.seed));
  progress(0, 'features');
  const embeddings =
    request.features.kind === 'embedding'
      ? packVectors(await runCapability(request.features.capability, [...trainSet, ...testSet].map((e) => e.text), deps, signal, (f) => progress(0.8 * f, 'features')), request.features.capability)
      : undefined;
  const { algorithm } = request.classifier;
  const trained = await thread.run(
    { type: 'train', train: trainSet, test: testSet, features: request.features, classifier: request.classifier, seed: request.seed, ...(embeddings === undefined ? {} : { embeddings }) },
    progress,
  );
  const { metrics } = trained;

  // Pin the current default first, so the new version never becomes the default by being the
  // newest: only `adopt` moves it, after the version has loaded in every capability that reads it.
  await deps.repository.pinDefault(request.model);
  const manifest = await deps.repository.addVersion(request.model, { [TRAINED_MODEL_FILE]: trained.file }, {
    backend: 'linear',
    task: 'classification',
    labels: [...trained.labels],
    metrics: {
      accuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      majorityBaseline: metrics.majorityBaseline,
      trainExamples: trainSet.length,
      testExamples: testSet.length,
    },
    tags: [...request.tags, `features:${request.features.kind}`, `algorithm:${algorithm}`],
  });
  await deps.store.putModelVersion({ model: manifest.name, version: manifest.version, manifest, isDefault: false, recordedAt: Date.now() });
  const register =
    request.register === undefined
      ? undefined
      : {
          name: request.register.capability,
          spec: {
            name: request.register.capability,
            kind: 'trained-classifier',
            dependsOn: request.features.kind === 'embedding' ? [request.features.capability] : [],
            params: { model: request.model, version: 'default' },
            ...(request.register.review === undefined ? {} : { review: request.register.review }),
          },
        };
  const pin = request.setDefault ? { model: manifest.name, version: manifest.version } : undefined;
  if (pin !== undefined || register !== undefined) {
    try {
      await deps.adopt({ ...(pin === undefined ? {} : { pin }), ...(register === undefined ? {} : { register }) });
    } catch (error) {
      if (!isCapserveError(error)) throw error;
      throw new CapserveError(error.code, `model "${manifest.name}" v${manifest.version} was kept, but the default stays where it was: ${error.message}`, { cause: error, details: { ...error.details, version: manifest.version } });
    }
  }
  if (pin !== undefined) await deps.store.putModelVersion({ model: manifest.name, version: manifest.version, manifest, isDefault: true, recordedAt: Date.now() });
  return {
    model: manifest.name,
    version: manifest.version,
    isDefault: request.setDefault,
    examples: { train: trainSet.length, test: testSet.length },
    metrics,
    ...(request.register === undefined ? {} : { capability: request.register.capability }),
  };
}

/** Reads a trained version into the job's thread (parsing a TF-IDF model's file is heavy too). */
async function loadTrained(repository: ModelRepository, thread: TrainingThread, name: string, version: number | 'default'): Promise<{ model: LoadOutcome; version: number }> {
  const { dir, manifest } = await repository.resolve(name, version);
  if (manifest.backend !== 'linear') throw new CapserveError('VALIDATION_ERROR', `model "${name}" v${manifest.version} was not trained by /train (backend ${manifest.backend})`);
  return { model: await thread.run({ type: 'load', path: path.join(dir, TRAINED_MODEL_FILE) }), version: manifest.version };
}

/** Labels `texts` with the model loaded in `thread`; its embedding features, if any, come from the batcher first. */
async function predictAll(model: LoadOutcome, texts: string[], deps: ModelJobDeps, thread: TrainingThread, signal: AbortSignal, progress: Progress) {
  const source = model.embeddingCapability;
  const embeddings = source === undefined ? undefined : packVectors(await runCapability(source, texts, deps, signal, (f) => progress(0.9 * f, 'features')), source);
  progress(0.9, 'predict');
  return thread.run({ type: 'predict', texts, ...(embeddings === undefined ? {} : { embeddings }) });
}

/** One capability's results for every text, through the batcher in groups. */
async function runCapability(capability: string, texts: string[], deps: ModelJobDeps, signal: AbortSignal, progress: (fraction: number) => void): Promise<unknown[]> {
  const results = await analyseInGroups(texts, [capability], { analyse: deps.analyse, groupSize: deps.groupSize, signal, progress });
  return results.get(capability) ?? [];
}
