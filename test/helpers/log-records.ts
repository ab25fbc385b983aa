import { type LevelWithSilent, type Logger, pino } from 'pino';
import { within } from './until.js';

/** One parsed pino line: `level` is pino's number (20 debug, 30 info, 40 warn, 50 error). */
export interface LogRecord {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: any;
}

export const levels = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/**
 * A pino logger whose destination is memory, as pino's own tests do it: every line is parsed
 * and kept, so a test asserts on a record's fields rather than on formatted text, and can await
 * a record that is written after the response (fastify's onResponse hook, a file watch).
 */
export class LogRecorder {
  readonly records: LogRecord[] = [];
  readonly logger: Logger;
  #waiters: { readonly match: (record: LogRecord) => boolean; readonly resolve: (record: LogRecord) => void }[] = [];

  constructor(level: LevelWithSilent = 'debug') {
    this.logger = pino({ level }, { write: (lines: string) => this.#write(lines) });
  }

  /** The records with this message, oldest first. */
  withMessage(msg: string): LogRecord[] {
    return this.records.filter((record) => record.msg === msg);
  }

  /** The first record, written or still to come, that matches; fails after `timeoutMs`. */
  next(match: (record: LogRecord) => boolean, what: string, timeoutMs = 10_000): Promise<LogRecord> {
    const written = this.records.find(match);
    if (written !== undefined) return Promise.resolve(written);
    const waiting = new Promise<LogRecord>((resolve) => this.#waiters.push({ match, resolve }));
    return within(waiting, { what: () => `the log record: ${what} (the last records: ${this.records.slice(-20).map((r) => r.msg).join(' | ')})`, timeoutMs });
  }

  #write(lines: string): void {
    for (const line of lines.split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as LogRecord;
      this.records.push(record);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.match(record)) return true;
        waiter.resolve(record);
        return false;
      });
    }
  }
}
