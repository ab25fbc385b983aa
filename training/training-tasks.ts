/**
 * The pure computation of model jobs: TF-IDF features, fitting, scoring. It runs in a training
 * thread (training-worker.ts), never on the serving thread; the job runner sends it plain data
 * (texts, labels, packed embedding vectors) and gets plain data back.
 */
import { readFileSync } from 'node:fs';
import { type LabelScores } from '../capabilities/builtin/build-deps.js';
import { labelScores } from '../capabilities/builtin/model-capabilities.js';
import { featuresOf, type Featuriser, TRAINED_MODEL_FILE, TrainedModel } from '../capabilities/builtin/trained-model.js';
import { classificationMetrics, type ClassificationMetrics } from '../capabilities/math/classification-metrics.js';
import { type FeatureVector } from '../capabilities/math/feature-vector.js';
import { HashedTfidf } from '../capabilities/math/hashed-tfidf.js';
import { fitLinearClassifier } from '../capabilities/math/linear-model.js';
import { type FeaturesRecipe } from './types.js';

/** Equal-length vectors in one buffer (transferred to the thread, not copied): row `i` is `values[i·dimensions …]`. */
export interface PackedVectors {
  readonly dimensions: number;
  readonly values: Float64Array;
}

export interface LabelledText {
  readonly text: string;
  readonly label: string;
}

/** Fit a featuriser and a classifier on `train`, score it on `test`. */
export interface TrainTask {
  readonly type: 'train';
  readonly train: readonly LabelledText[];
  readonly test: readonly LabelledText[];
  readonly features: FeaturesRecipe;
  readonly classifier: { readonly algorithm: 'logistic-regression' | 'linear-svm'; readonly c: number; readonly epochs: number };
  readonly seed: number;
  /** The embedding capability's vectors of the train texts then the test texts, with `features.kind` "embedding". */
  readonly embeddings?: PackedVectors;
}

export interface TrainOutcome {
  /** The trained model file's text, for the repository. */
  readonly file: string;
  readonly labels: readonly string[];
  readonly metrics: ClassificationMetrics;
}

/** Read a trained model file into the thread, for the `predict` tasks that follow. */
export interface LoadTask {
  readonly type: 'load';
  readonly path: string;
}

export interface LoadOutcome {
  readonly labels: readonly string[];
  /** The embedding capability whose vectors `predict` needs, if any. */
  readonly embeddingCapability?: string;
}

/** Label texts with the loaded model. */
export interface PredictTask {
  readonly type: 'predict';
  readonly texts: readonly string[];
  readonly embeddings?: PackedVectors;
}

export type TrainingTask = TrainTask | LoadTask | PredictTask;

/** Each task's outcome. */
export interface TaskOutcomes {
  train: TrainOutcome;
  load: LoadOutcome;
  predict: LabelScores[];
}

export type Progress = (fraction: number, stage: string) => void;

/** Packs `values` (an embedding capability's results) for a training thread; throws unless they are equal-length vectors. */
export function packVectors(values: readonly unknown[], capability: string): PackedVectors {
  const first = values[0];
  const dimensions = Array.isArray(first) ? first.length : 0;
  const packed = new Float64Array(values.length * dimensions);
  values.forEach((value, i) => {
    if (!Array.isArray(value) || value.length !== dimensions || value.some((v) => typeof v !== 'number')) {
      throw new Error(`"${capability}" did not produce ${dimensions}-dimensional vectors (text ${i})`);
    }
    packed.set(value as number[], i * dimensions);
  });
  return { dimensions, values: packed };
}

/** Views of each packed row, without copying. */
function unpack({ dimensions, values }: PackedVectors): Float64Array[] {
  const rows = dimensions === 0 ? 0 : values.length / dimensions;
  return Array.from({ length: rows }, (_, i) => values.subarray(i * dimensions, (i + 1) * dimensions));
}

function featureVectors(featuriser: Featuriser, texts: readonly string[], embeddings: PackedVectors | undefined): FeatureVector[] {
  if (featuriser.kind === 'tfidf') return featuresOf(featuriser, texts);
  const rows = embeddings === undefined ? [] : unpack(embeddings);
  if (rows.length !== texts.length) throw new Error(`this model needs the "${featuriser.capability}" vectors of its texts`);
  return rows;
}

/** The `train` task: the same steps, seeds and results as the job always had, off the serving thread. */
export function runTrain(task: TrainTask, progress: Progress): TrainOutcome {
  const { train, test, features: recipe, seed } = task;
  const featuriser: Featuriser =
    recipe.kind === 'embedding'
      ? { kind: 'embedding', capability: recipe.capability }
      : { kind: 'tfidf', tfidf: HashedTfidf.fit(train.map((e) => e.text), { dimensions: recipe.dimensions, wordNgrams: recipe.ngrams }) };
  const features = featureVectors(featuriser, [...train, ...test].map((e) => e.text), task.embeddings);
  progress(0.8, 'fit');
  const { algorithm, c, epochs } = task.classifier;
  const classifier = fitLinearClassifier(algorithm, features.slice(0, train.length), train.map((e) => e.label), { c, epochs, seed });
  const model = new TrainedModel(featuriser, classifier);
  progress(0.95, 'evaluate');
  const predicted = features.slice(train.length).map((x) => labelScores(model.labels, classifier.predict(x)).label);
  const metrics = classificationMetrics(test.map((e) => e.label), predicted, model.labels);
  return { file: model.toFile(), labels: model.labels, metrics };
}

/** The `load` task: parses the model file (large for TF-IDF models) in the thread, where `predict` will use it. */
export function runLoad(task: LoadTask): { model: TrainedModel; outcome: LoadOutcome } {
  let text: string;
  try {
    text = readFileSync(task.path, 'utf8');
  } catch (error) {
    // Named by the repository's file name, never the server's absolute path: the message reaches clients.
    const code = (error as { code?: unknown }).code;
    throw new Error(`cannot read the version's ${TRAINED_MODEL_FILE} (${typeof code === 'string' ? code : 'unreadable'})`);
  }
  const model = TrainedModel.fromFile(text);
  const capability = model.embeddingCapability;
  return { model, outcome: { labels: model.labels, ...(capability === undefined ? {} : { embeddingCapability: capability }) } };
}

/** The `predict` task over a loaded model. */
export function runPredict(model: TrainedModel, task: PredictTask): LabelScores[] {
  return featureVectors(model.featuriser, task.texts, task.embeddings).map((x) => labelScores(model.labels, model.classifier.predict(x)));
}
