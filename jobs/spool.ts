import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CapserveError } from '../core/errors.js';

export interface SpoolOptions {
  /** The folder the files go to (created when missing; shared by the processes of one machine). */
  readonly dir: string;
  /** Bytes of files held at once: files being written count as their bytes arrive. */
  readonly maxBytes: number;
  /** Retry-After of a refusal, in seconds. @default 5 */
  readonly retryAfterSeconds?: number;
}

/** A file in the spool: where it is and how long it is. */
export interface SpooledFile {
  readonly path: string;
  readonly bytes: number;
}

/**
 * Uploads streamed to disk instead of held in memory, within a byte budget. Each file belongs
 * to one job and is released (deleted) when the job ends. File names start with the pid of the
 * process that wrote them, so a process that starts removes the files of processes that died
 * without releasing theirs, and never those of a live process sharing the folder.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #retryAfterSeconds: number;
  readonly #files = new Map<string, number>();
  #used = 0;
  #opened: Promise<void> | undefined;

  constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#retryAfterSeconds = options.retryAfterSeconds ?? 5;
  }

  /** Bytes held now: files of unfinished jobs and uploads being received. */
  get usedBytes(): number {
    return this.#used;
  }

  /**
   * Refuses, with OVERLOADED and a Retry-After, an upload of `bytes` that cannot fit now: called
   * with the request's Content-Length before any of its body is read.
   */
  admit(bytes: number): void {
    if (this.#used + bytes > this.maxBytes) throw this.#overloaded(bytes);
  }

  /**
   * Streams `source` into a new file, charging its bytes to the budget as they arrive; past the
   * budget the file is removed and the call rejects with OVERLOADED.
   */
  async write(source: Readable): Promise<SpooledFile> {
    await this.open();
    const file = path.join(this.dir, `${process.pid}-${randomUUID()}`);
    this.#files.set(file, 0);
    const charge = async function* (this: Spool, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        if (this.#used + chunk.length > this.maxBytes) throw this.#overloaded(chunk.length);
        this.#used += chunk.length;
        this.#files.set(file, (this.#files.get(file) ?? 0) + chunk.length);
        yield chunk;
      }
    }.bind(this);
    try {
      await pipeline(source, charge, createWriteStream(file, { flags: 'wx' }));
    } catch (error) {
      await this.release(file);
      throw error;
    }
    return { path: file, bytes: this.#files.get(file) ?? 0 };
  }

  /** Deletes a file of this spool and frees its bytes; a file already released is ignored. */
  async release(file: string): Promise<void> {
    const bytes = this.#files.get(file);
    if (bytes === undefined) return;
    this.#files.delete(file);
    this.#used -= bytes;
    await unlink(file).catch(() => {});
  }

  /**
   * Creates the folder and removes the files of processes that are gone, except `keep` (files of
   * jobs put back on a queue after a restart), which this spool adopts: charged to its budget and
   * deleted by `release` like its own. Once; later calls return the first call's promise.
   */
  open(keep: Iterable<string> = []): Promise<void> {
    this.#opened ??= this.#open(new Set(keep));
    return this.#opened;
  }

  /**
   * Takes on a file a stopped process left for a job this process now runs: charged to the
   * budget and deleted by `release` like its own. False when it is gone or not in this folder.
   * Adopted before `open`, it is kept by it too.
   */
  async adopt(file: string): Promise<boolean> {
    if (path.dirname(path.resolve(file)) !== path.resolve(this.dir)) return false;
    if (this.#files.has(file)) return true;
    const size = await stat(file).then((found) => found.size, () => undefined);
    if (size === undefined) return false;
    this.#files.set(file, size);
    this.#used += size;
    return true;
  }

  /**
   * Deletes every file this process still holds, unless `keep`: with a store that keeps the
   * unfinished jobs, their files stay for the process that takes the jobs next.
   */
  async close(options: { readonly keep?: boolean } = {}): Promise<void> {
    if (options.keep === true) return;
    await Promise.all([...this.#files.keys()].map((file) => this.release(file)));
  }

  async #open(keep: ReadonlySet<string>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // Files adopted before opening belong to resumed jobs: never swept as orphans.
    const held = new Set([...keep, ...this.#files.keys()]);
    const names = await readdir(this.dir);
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(this.dir, name);
        if (this.#files.has(file)) return;
        if (held.has(file)) {
          const { size } = await stat(file);
          this.#files.set(file, size);
          this.#used += size;
        } else if (isOrphan(name)) {
          await rm(file, { force: true }).catch(() => {});
        }
      }),
    );
  }

  #overloaded(bytes: number): CapserveError {
    return new CapserveError(
      'OVERLOADED',
      `the upload spool holds ${this.#used} bytes; ${bytes} more would pass MAX_SPOOL_BYTES (${this.maxBytes}); retry in about ${this.#retryAfterSeconds} s`,
      { details: { retryAfterSeconds: this.#retryAfterSeconds, spoolBytes: this.#used, limit: this.maxBytes } },
    );
  }
}

/** A spool file whose writer is not alive: left by a process that crashed (or by this pid's predecessor). */
function isOrphan(name: string): boolean {
  const match = /^(\d+)-[0-9a-f-]{36}$/.exec(name);
  if (match === null) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
