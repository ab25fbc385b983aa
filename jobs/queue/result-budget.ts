/**
 * Finished job results within a byte budget: each result is charged its JSON size, and when the
 * total passes the budget the oldest results are dropped first (a result larger than the whole
 * budget is dropped at once). Keys are job ids, kept in finishing order.
 */
export class ResultBudget {
  readonly maxBytes: number;
  readonly #sizes = new Map<string, number>();
  #used = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Charges a finished job's result; returns the jobs whose results must now be dropped, oldest first. */
  add(jobId: string, result: unknown): string[] {
    const bytes = jsonBytes(result);
    this.#sizes.set(jobId, bytes);
    this.#used += bytes;
    const dropped: string[] = [];
    for (const [id, size] of this.#sizes) {
      if (this.#used <= this.maxBytes) break;
      this.#sizes.delete(id);
      this.#used -= size;
      dropped.push(id);
    }
    return dropped;
  }

  /** Forgets a job whose record went away (its TTL ran out). */
  remove(jobId: string): void {
    const size = this.#sizes.get(jobId);
    if (size === undefined) return;
    this.#sizes.delete(jobId);
    this.#used -= size;
  }
}

function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json);
}
