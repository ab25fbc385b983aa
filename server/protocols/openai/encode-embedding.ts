/**
 * The first `dimensions` components, scaled back to unit length: how OpenAI's `dimensions`
 * shortens a Matryoshka-trained embedding. For a model not trained that way the prefix still has
 * unit norm but loses more of the meaning. An all-zero prefix stays zero (there is no direction
 * to keep).
 */
export function shorten(vector: readonly number[], dimensions: number): number[] {
  const prefix = vector.slice(0, dimensions);
  let squares = 0;
  for (const value of prefix) squares += value * value;
  const norm = Math.sqrt(squares);
  return norm === 0 ? prefix : prefix.map((value) => value / norm);
}

/**
 * The vector as OpenAI's `base64` encoding: float32 values, little-endian whatever the host's
 * byte order, in base64. The SDK decodes it into a Float32Array by default.
 */
export function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}
