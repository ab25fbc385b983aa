import { z } from 'zod';
import { asVector, type LabelScores } from './build-deps.js';
import { labelScores } from './model-capabilities.js';
import { type FeatureVector } from '../math/feature-vector.js';
import { HashedTfidf } from '../math/hashed-tfidf.js';
import { type LinearClassifier, loadLinearClassifier } from '../math/linear-model.js';

/** The file a trained version keeps its featuriser and classifier in. */
export const TRAINED_MODEL_FILE = 'model.json';

const fileSchema = z
  .object({
    format: z.literal(1),
    features: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('embedding'), capability: z.string().min(1) }).strict(),
      z.object({ kind: z.literal('tfidf'), state: z.unknown() }).strict(),
    ]),
    classifier: z.unknown(),
  })
  .strict();

/** How a trained model turns texts into features. */
export type Featuriser =
  | { readonly kind: 'embedding'; readonly capability: string }
  | { readonly kind: 'tfidf'; readonly tfidf: HashedTfidf };

/**
 * A classifier from `POST /train`: a featuriser (an embedding capability's vectors, or hashed
 * TF-IDF fitted on the training texts) and a linear classifier over its features.
 */
export class TrainedModel {
  readonly featuriser: Featuriser;
  readonly classifier: LinearClassifier;

  constructor(featuriser: Featuriser, classifier: LinearClassifier) {
    this.featuriser = featuriser;
    this.classifier = classifier;
  }

  get labels(): readonly string[] {
    return this.classifier.labels;
  }

  /** The embedding capability whose results `predict` needs, if any. */
  get embeddingCapability(): string | undefined {
    return this.featuriser.kind === 'embedding' ? this.featuriser.capability : undefined;
  }

  /** Feature vectors of `texts`; `embeddings[i]` is the embedding capability's result for `texts[i]` when the featuriser needs it. */
  predict(texts: readonly string[], embeddings?: readonly unknown[]): LabelScores[] {
    return featuresOf(this.featuriser, texts, embeddings).map((x) => labelScores(this.labels, this.classifier.predict(x)));
  }

  toFile(): string {
    const features =
      this.featuriser.kind === 'embedding'
        ? { kind: 'embedding', capability: this.featuriser.capability }
        : { kind: 'tfidf', state: this.featuriser.tfidf.toJSON() };
    return JSON.stringify({ format: 1, features, classifier: this.classifier.toJSON() });
  }

  /** Reads `model.json`; throws naming what is wrong with it. */
  static fromFile(text: string): TrainedModel {
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${TRAINED_MODEL_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { features, classifier } = parsed.data;
    const featuriser: Featuriser =
      features.kind === 'embedding' ? { kind: 'embedding', capability: features.capability } : { kind: 'tfidf', tfidf: HashedTfidf.fromJSON(features.state) };
    return new TrainedModel(featuriser, loadLinearClassifier(classifier));
  }
}

/** Feature vectors of `texts`; `embeddings[i]` is the embedding capability's result for `texts[i]` when the featuriser needs it. */
export function featuresOf(featuriser: Featuriser, texts: readonly string[], embeddings?: readonly unknown[]): FeatureVector[] {
  if (featuriser.kind === 'tfidf') return texts.map((text) => featuriser.tfidf.transform(text));
  if (embeddings === undefined || embeddings.length !== texts.length) throw new Error(`this model needs the "${featuriser.capability}" vectors of its texts`);
  return embeddings.map((value) => asVector(value, featuriser.capability));
}
