import { type Redis } from 'ioredis';
import { type WorkerInfo } from '../types.js';

const prefix = 'capserve:workers:';

/**
 * Queue workers announce themselves in Redis so every server can route to them: each
 * heartbeat writes the worker's info with a TTL, so a dead worker drops out by itself.
 */
export class WorkerRegistry {
  readonly #redis: Redis;
  readonly #ttlMs: number;

  constructor(redis: Redis, ttlMs = 15_000) {
    this.#redis = redis;
    this.#ttlMs = ttlMs;
  }

  async announce(info: WorkerInfo): Promise<void> {
    await this.#redis.set(prefix + info.id, JSON.stringify(info), 'PX', this.#ttlMs);
  }

  async withdraw(id: string): Promise<void> {
    await this.#redis.del(prefix + id);
  }

  /** Every worker whose last heartbeat has not expired. */
  async list(): Promise<WorkerInfo[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(...keys);
    return values.flatMap((value) => {
      if (value === null) return [];
      try {
        return [JSON.parse(value) as WorkerInfo];
      } catch {
        return [];
      }
    });
  }

  /** Announces `info()` now and every third of the TTL until the returned function is called. */
  heartbeat(info: () => WorkerInfo): () => Promise<void> {
    const beat = (): void => {
      this.announce(info()).catch(() => {
        // Redis unreachable: the next beat tries again; routing meanwhile sees this worker expire.
      });
    };
    beat();
    const timer = setInterval(beat, Math.max(1000, Math.floor(this.#ttlMs / 3)));
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.withdraw(info().id).catch(() => undefined);
    };
  }
}
