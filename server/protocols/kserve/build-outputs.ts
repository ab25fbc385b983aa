import { embeddingResultSchema, labelScoresSchema } from '../../../capabilities/result-schemas.js';
import { CapserveError } from '../../../core/errors.js';
import { labelsParameter, type OutputKind } from './model-signature.js';
import { type OutputTensor } from './types.js';

const badOutput = (capability: string, message: string): CapserveError =>
  new CapserveError('CAPABILITY_BAD_OUTPUT', `capability "${capability}" ${message}`);

/**
 * One capability's per-text results as the output tensors of its kind, every one of them (the
 * caller picks). Row order is text order; JSON numbers keep the values `/classify` gives.
 */
export function buildOutputs(kind: OutputKind, capability: string, results: readonly unknown[]): OutputTensor[] {
  const n = results.length;
  switch (kind) {
    case 'embedding': {
      const vectors = results.map((result) => {
        const parsed = embeddingResultSchema.safeParse(result);
        if (!parsed.success) throw badOutput(capability, 'did not give a vector');
        return parsed.data;
      });
      const dimensions = vectors[0]?.length ?? 0;
      if (vectors.some((v) => v.length !== dimensions)) throw badOutput(capability, 'gave vectors of different lengths');
      return [{ name: 'embedding', datatype: 'FP32', shape: [n, dimensions], data: vectors.flat() }];
    }
    case 'classifier': {
      const rows = results.map((result) => {
        const parsed = labelScoresSchema.safeParse(result);
        if (!parsed.success) throw badOutput(capability, 'did not give { label, score, scores }');
        return parsed.data;
      });
      // The first row's label order is the column order of `scores`; every row must have the same labels.
      const labels = Object.keys(rows[0]?.scores ?? {});
      const scores = rows.flatMap((row) => {
        if (Object.keys(row.scores).length !== labels.length) throw badOutput(capability, 'gave rows with different labels');
        return labels.map((label) => {
          const score = row.scores[label];
          if (score === undefined) throw badOutput(capability, `gave a row without label "${label}"`);
          return score;
        });
      });
      return [
        { name: 'label', datatype: 'BYTES', shape: [n], data: rows.map((row) => row.label) },
        { name: 'score', datatype: 'FP32', shape: [n], data: rows.map((row) => row.score) },
        { name: 'scores', datatype: 'FP32', shape: [n, labels.length], data: scores, parameters: { labels: labelsParameter(labels) } },
      ];
    }
    case 'json':
      return [{ name: 'result', datatype: 'BYTES', shape: [n], data: results.map((result) => JSON.stringify(result) ?? 'null') }];
  }
}
