/** The last N observations of a quantity, for means and percentiles that follow recent load. */
export class SampleWindow {
  readonly #values: number[] = [];
  readonly #capacity: number;
  #next = 0;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  add(value: number): void {
    if (this.#values.length < this.#capacity) this.#values.push(value);
    else this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  get count(): number {
    return this.#values.length;
  }

  mean(): number {
    return this.#values.length === 0 ? 0 : this.#values.reduce((a, b) => a + b, 0) / this.#values.length;
  }

  /** Nearest-rank percentile, `p` in [0, 100]; 0 when empty. */
  percentile(p: number): number {
    if (this.#values.length === 0) return 0;
    const sorted = [...this.#values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank] ?? 0;
  }
}
