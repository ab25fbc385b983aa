import { type ModelBackend } from '../../models/types.js';

/** A backend whose calls wait for the test, recording the texts of each; "bad" texts make a call throw. */
export function heldBackend() {
  const calls: { texts: string[]; release: () => void }[] = [];
  const backend: ModelBackend = {
    info: { name: 'held', backend: 'onnx', task: 'embedding', device: 'cpu', source: '-', dimensions: 1, maxTokens: 128 },
    run: (texts) =>
      new Promise((resolve, reject) => {
        calls.push({
          texts: [...texts],
          release: () => (texts.includes('bad') ? reject(new Error('bad input')) : resolve(texts.map((text) => Float32Array.of(text.length)))),
        });
      }),
    close: async () => {},
  };
  return { backend, calls };
}

/** Lets pending promise callbacks run (a few microtask turns), without any timer. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
};
