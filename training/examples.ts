import { CapserveError, messageOf } from '../core/errors.js';
import { type Example, type Store } from '../store/types.js';
import { examplesFromCsv } from './parse-csv.js';
import { type ExampleSource } from './types.js';

/** A request's examples from exactly one of `examples`, `csv` or `dataset`, bounded by `maxExamples`. */
export async function resolveExamples(source: ExampleSource, store: Store, maxExamples: number): Promise<Example[]> {
  const given = [source.examples, source.csv, source.dataset].filter((value) => value !== undefined).length;
  if (given !== 1) throw new CapserveError('VALIDATION_ERROR', 'give exactly one of "examples", "csv" or "dataset"');
  let examples: readonly Example[];
  if (source.examples !== undefined) {
    examples = source.examples;
  } else if (source.csv !== undefined) {
    try {
      examples = examplesFromCsv(source.csv);
    } catch (error) {
      throw new CapserveError('VALIDATION_ERROR', `cannot read the CSV: ${messageOf(error)}`);
    }
  } else {
    const dataset = await store.getDataset(source.dataset as string);
    if (dataset === undefined) throw new CapserveError('DATASET_NOT_FOUND', `no data set "${source.dataset}"`);
    examples = dataset.examples;
  }
  if (examples.length === 0) throw new CapserveError('VALIDATION_ERROR', 'no examples');
  if (examples.length > maxExamples) throw new CapserveError('TOO_MANY_TEXTS', `${examples.length} examples; at most ${maxExamples} (MAX_TRAINING_EXAMPLES)`);
  const empty = examples.findIndex((example) => example.text.trim() === '');
  if (empty >= 0) throw new CapserveError('VALIDATION_ERROR', `example ${empty} has no text`);
  return [...examples];
}

/** Examples that all carry a label, with at least two classes of at least two examples each (one for training, one held out). */
export function requireLabelled(examples: readonly Example[], forTraining: boolean): { text: string; label: string }[] {
  const unlabelled = examples.findIndex((example) => example.label === undefined || example.label === '');
  if (unlabelled >= 0) throw new CapserveError('TRAINING_DATA_INVALID', `example ${unlabelled} has no label`);
  const labelled = examples as { text: string; label: string }[];
  if (!forTraining) return labelled;
  const counts = new Map<string, number>();
  for (const { label } of labelled) counts.set(label, (counts.get(label) ?? 0) + 1);
  if (counts.size < 2) throw new CapserveError('TRAINING_DATA_INVALID', `need at least two labels to train a classifier (got ${[...counts.keys()].join(', ')})`);
  const scarce = [...counts].filter(([, count]) => count < 2).map(([label]) => label);
  if (scarce.length > 0) throw new CapserveError('TRAINING_DATA_INVALID', `each label needs at least two examples (one is held out): ${scarce.join(', ')}`);
  return labelled;
}
