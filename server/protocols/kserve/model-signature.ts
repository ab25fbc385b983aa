import { type CapabilityDescription } from '../../../engine/service.js';
import { type ModelInfo } from '../../../models/types.js';
import { type ModelMetadata, type TensorMetadata } from './types.js';

/** The one input every V2 model here takes: a BYTES tensor of texts, shape [n] or [n, 1]. */
export const textInput = 'text';

/** The only version of a V2 model: a capability has no versions of its own. */
export const modelVersion = '1';

/**
 * How a capability's per-text results become output tensors: an `embedding`'s vectors as one
 * FP32 matrix; a classifier's `{ label, score, scores }` as three tensors; anything else as
 * one JSON string per text.
 */
export type OutputKind = 'embedding' | 'classifier' | 'json';

const classifierKinds = new Set(['classifier', 'embedding-classifier', 'trained-classifier']);

export function outputKindOf(capabilityKind: string): OutputKind {
  if (capabilityKind === 'embedding') return 'embedding';
  return classifierKinds.has(capabilityKind) ? 'classifier' : 'json';
}

/** The output names of each kind, in the order a response without `outputs` lists them. */
export const outputNames: Record<OutputKind, readonly string[]> = {
  embedding: ['embedding'],
  classifier: ['label', 'score', 'scores'],
  json: ['result'],
};

/** The label order of a classifier's `scores`, as a V2 parameter value (parameters hold no arrays). */
export const labelsParameter = (labels: readonly string[]): string => JSON.stringify(labels);

/**
 * A capability as V2 model metadata. Dimensions the server cannot know before a request are -1:
 * the batch dimension always, an embedding's width when its model's info is missing, and the
 * label count of classifiers whose labels come from a fitted head rather than the model (the
 * response's `scores` output carries their order).
 */
export function modelMetadata(capability: CapabilityDescription, info: ModelInfo | undefined): ModelMetadata {
  const kind = outputKindOf(capability.kind);
  return {
    name: capability.name,
    versions: [modelVersion],
    platform: `capserve_${capability.kind}`,
    inputs: [{ name: textInput, datatype: 'BYTES', shape: [-1] }],
    outputs: outputsOf(kind, info),
  };
}

function outputsOf(kind: OutputKind, info: ModelInfo | undefined): TensorMetadata[] {
  switch (kind) {
    case 'embedding':
      return [{ name: 'embedding', datatype: 'FP32', shape: [-1, info?.dimensions ?? -1] }];
    case 'classifier': {
      // Only a `classifier` over a classification model knows its labels before it runs.
      const labels = info?.task === 'classification' ? info.labels : undefined;
      return [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'score', datatype: 'FP32', shape: [-1] },
        {
          name: 'scores',
          datatype: 'FP32',
          shape: [-1, labels?.length ?? -1],
          ...(labels === undefined ? {} : { parameters: { labels: labelsParameter(labels) } }),
        },
      ];
    }
    case 'json':
      return [{ name: 'result', datatype: 'BYTES', shape: [-1] }];
  }
}
