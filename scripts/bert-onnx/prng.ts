/**
 * A small seeded PRNG (sfc32, seeded through splitmix32) with a normal sampler.
 * Math.random cannot be seeded, and generated models must be byte-for-byte reproducible.
 */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  /** Box–Muller yields normals in pairs; the second one waits here. */
  #spare: number | undefined;

  constructor(seed: number) {
    let state = seed >>> 0;
    const splitmix = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = splitmix();
    this.#b = splitmix();
    this.#c = splitmix();
    this.#d = splitmix();
    // Discard the first outputs so that nearby seeds decorrelate.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform in (0, 1): never 0, so it is safe under a logarithm. */
  nextFloat(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  nextNormal(): number {
    if (this.#spare !== undefined) {
      const value = this.#spare;
      this.#spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(this.nextFloat()));
    const angle = 2 * Math.PI * this.nextFloat();
    this.#spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** `count` samples of normal(0, std), clipped at ±2 std like a truncated-normal initialiser. */
  normals(count: number, std: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const z = this.nextNormal();
      out[i] = std * (z > 2 ? 2 : z < -2 ? -2 : z);
    }
    return out;
  }
}
