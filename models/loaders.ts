import { type BackendKind, type BackendLoader } from './types.js';

/**
 * The real backends, imported on first use so a deployment that serves only ONNX models
 * never initialises TensorFlow.js, and the other way round.
 */
export const defaultLoaders: Readonly<Record<BackendKind, BackendLoader>> = {
  onnx: async (spec, options) => (await import('./onnx-backend.js')).loadOnnxBackend(spec, options),
  transformers: async (spec, options) => (await import('./transformers-backend.js')).loadTransformersBackend(spec, options),
  tfjs: async (spec, options) => (await import('./tfjs-backend.js')).loadTfjsBackend(spec, options),
};
