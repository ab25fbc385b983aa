import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** Shown by CLIENT LIST, so an operator can tell the front-end's connections from a worker's. */
  readonly connectionName: string;
  /** Connect on the first command rather than at once (BullMQ connects it when it needs it). */
  readonly lazyConnect?: boolean;
}

/**
 * An ioredis connection as BullMQ wants it: commands wait (rather than fail) while Redis is
 * unreachable, since BullMQ's workers and event readers block on them and retry themselves.
 */
export function openRedis(url: string, options: RedisConnectionOptions): Redis {
  return new Redis(url, {
    connectionName: options.connectionName.replace(/\s+/g, '-'),
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: null,
  });
}
