import { shuffleInPlace } from './seeded-random.js';
import { round } from './vectors.js';

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Examples whose true label is this class. */
  readonly support: number;
}

export interface ClassificationMetrics {
  readonly accuracy: number;
  /** Unweighted mean of the per-class F1 scores. */
  readonly macroF1: number;
  readonly perClass: Readonly<Record<string, ClassMetrics>>;
  /** `confusion[actual][predicted]` counts, over `labels` in order. */
  readonly labels: readonly string[];
  readonly confusion: readonly (readonly number[])[];
  /** Accuracy of always answering the most frequent true label: what a model must clearly beat. */
  readonly majorityBaseline: number;
}

/**
 * Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix of predictions
 * against true labels. A class never predicted has precision 0; one never present, recall 0.
 */
export function classificationMetrics(actual: readonly string[], predicted: readonly string[], knownLabels: readonly string[] = []): ClassificationMetrics {
  if (actual.length !== predicted.length) throw new RangeError(`${actual.length} labels but ${predicted.length} predictions`);
  if (actual.length === 0) throw new RangeError('no examples to evaluate');
  const labels = [...new Set([...knownLabels, ...actual, ...predicted])].sort();
  const index = new Map(labels.map((label, i) => [label, i]));
  const confusion = labels.map(() => labels.map(() => 0));
  actual.forEach((truth, i) => {
    const row = confusion[index.get(truth) ?? 0];
    const column = index.get(predicted[i] ?? '') ?? 0;
    if (row !== undefined) row[column] = (row[column] ?? 0) + 1;
  });
  const correct = labels.reduce((sum, _, i) => sum + (confusion[i]?.[i] ?? 0), 0);
  const perClass: Record<string, ClassMetrics> = {};
  labels.forEach((label, i) => {
    const truePositive = confusion[i]?.[i] ?? 0;
    const predictedAs = confusion.reduce((sum, row) => sum + (row[i] ?? 0), 0);
    const support = (confusion[i] ?? []).reduce((sum, n) => sum + n, 0);
    const precision = predictedAs === 0 ? 0 : truePositive / predictedAs;
    const recall = support === 0 ? 0 : truePositive / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass[label] = { precision: round(precision, 4), recall: round(recall, 4), f1: round(f1, 4), support };
  });
  const counts = labels.map((label) => actual.filter((a) => a === label).length);
  return {
    accuracy: round(correct / actual.length, 4),
    macroF1: round(Object.values(perClass).reduce((sum, c) => sum + c.f1, 0) / labels.length, 4),
    perClass,
    labels,
    confusion,
    majorityBaseline: round(Math.max(...counts) / actual.length, 4),
  };
}

/** A seeded, stratified split: `holdout` of each label's examples (at least one where a label has two or more) go to the test side. */
export function stratifiedSplit<T>(examples: readonly T[], labelOf: (example: T) => string, holdout: number, random: () => number): { train: T[]; test: T[] } {
  const byLabel = new Map<string, T[]>();
  for (const example of examples) {
    const label = labelOf(example);
    const group = byLabel.get(label);
    if (group === undefined) byLabel.set(label, [example]);
    else group.push(example);
  }
  const train: T[] = [];
  const test: T[] = [];
  for (const group of byLabel.values()) {
    const shuffled = shuffleInPlace([...group], random);
    const take = group.length < 2 ? 0 : Math.max(1, Math.round(group.length * holdout));
    test.push(...shuffled.slice(0, take));
    train.push(...shuffled.slice(take));
  }
  return { train, test };
}
